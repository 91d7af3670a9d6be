"""Lists and contacts: counts, per-list contacts, copy/transfer, de-duplication, search."""

from __future__ import annotations

from typing import Any

import phonenumbers

from ..envelope import NO_PERMISSION, ApiError
from ..listing import paginator, parse_list_query, select
from ..resources import Gen, contact
from ..state import Row, Store, Table
from .base import Ctx, Reply, route
from .crud import blank_like, find, list_rows, merge_body

LIST_NOT_FOUND = "Your list is not found."
CONTACT_NOT_FOUND = "Contact record not found."


def _lists(store: Store) -> Table:
    return store.table("lists", "list_id")


def _with_count(store: Store, row: Row) -> Row:
    row["_contacts_count"] = len(store.list_contacts(row["list_id"]))
    return row


def owned_list(ctx: Ctx, param: str) -> Row:
    """A list of this account; any other id is refused as ClickSend does (403, not 404)."""
    row = _lists(ctx.store).get(ctx.params[param])
    if row is None:
        raise NO_PERMISSION
    return row


def _contact_of(ctx: Ctx, list_param: str = "list_id") -> tuple[Row, Table, Row]:
    """(list, its contacts, the contact); a bad list or contact is 404 "Contact record not found."."""
    lst = _lists(ctx.store).get(ctx.params[list_param])
    if lst is None:
        raise ApiError(404, CONTACT_NOT_FOUND)
    contacts = ctx.store.list_contacts(lst["list_id"])
    return lst, contacts, find(contacts, ctx.params["contact_id"], CONTACT_NOT_FOUND)


def normalize_number(raw: str, region: str = "AU") -> str:
    """E.164 when the number parses (ClickSend stores numbers that way), else unchanged."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if phonenumbers.is_possible_number(number) else raw


def _apply_contact_body(row: Row, body: dict[str, Any], region: str) -> Row:
    merge_body(row, body, frozen=("contact_id", "list_id", "date_added", "date_updated", "_list_name"))
    for field in ("phone_number", "fax_number"):
        if row[field]:
            row[field] = normalize_number(row[field], row.get("address_country") or region)
    return row


@route("GET", "/lists")
def view_lists(ctx: Ctx) -> Any:
    for row in _lists(ctx.store):
        _with_count(ctx.store, row)
    return list_rows(ctx, _lists(ctx.store).rows(), None)


@route("GET", "/lists/{list_id}")
def view_list(ctx: Ctx) -> Any:
    return _with_count(ctx.store, find(_lists(ctx.store), ctx.params["list_id"], LIST_NOT_FOUND))


@route("DELETE", "/lists/{list_id}")
def delete_list(ctx: Ctx) -> Any:
    row = find(_lists(ctx.store), ctx.params["list_id"], LIST_NOT_FOUND)
    _lists(ctx.store).remove(row["list_id"])
    ctx.store.contacts.pop(row["list_id"], None)
    return Reply([], ctx.msg(id=row["list_id"]))


@route("GET", "/lists/{list_id}/contacts")
def view_contacts(ctx: Ctx) -> Any:
    lst = owned_list(ctx, "list_id")
    rows: list[Row] = ctx.store.list_contacts(lst["list_id"]).rows()
    after = ctx.query.get("updated_after")
    if after:
        try:
            threshold = int(after)
        except ValueError:
            raise ApiError(400, "Invalid input.", {"updated_after": "updated_after must be a Unix timestamp."}) from None
        rows = [r for r in rows if r["date_updated"] > threshold]
    return list_rows(ctx, rows, "date_added")


@route("POST", "/lists/{list_id}/contacts")
def create_contact(ctx: Ctx) -> Any:
    lst = owned_list(ctx, "list_id")
    row = blank_like(contact(Gen(ctx.rng, ctx.store, ctx.now, ctx.now)))
    _apply_contact_body(row, ctx.obj(), ctx.store.account.get("country", "AU"))
    row.update(contact_id=ctx.store.next_id("contacts", 100_001), list_id=lst["list_id"], date_added=ctx.now,
               date_updated=ctx.now, _list_name=lst["list_name"])
    return ctx.store.list_contacts(lst["list_id"]).add(row)


@route("GET", "/lists/{list_id}/contacts/{contact_id}")
def view_contact(ctx: Ctx) -> Any:
    return _contact_of(ctx)[2]


@route("POST", "/lists/{list_id}/contacts/{contact_id}")  # the real API takes POST here too (recorded)
@route("PUT", "/lists/{list_id}/contacts/{contact_id}")
def update_contact(ctx: Ctx) -> Any:
    _, _, row = _contact_of(ctx)
    _apply_contact_body(row, ctx.obj(), ctx.store.account.get("country", "AU"))
    row["date_updated"] = ctx.now
    return Reply(row, ctx.msg(id=row["contact_id"]))


@route("DELETE", "/lists/{list_id}/contacts/{contact_id}")
def delete_contact(ctx: Ctx) -> Any:
    _, contacts, row = _contact_of(ctx)
    contacts.remove(row["contact_id"])
    return Reply([], ctx.msg(id=row["contact_id"]))


def _move(ctx: Ctx, keep_original: bool) -> Reply:
    _, source, row = _contact_of(ctx, "from_list_id")
    target = owned_list(ctx, "to_list_id")
    moved = {**row, "list_id": target["list_id"], "_list_name": target["list_name"], "date_updated": ctx.now}
    if keep_original:
        moved["contact_id"] = ctx.store.next_id("contacts", 100_001)
        moved["date_added"] = ctx.now
    else:
        source.remove(row["contact_id"])
    ctx.store.list_contacts(target["list_id"]).add(moved)
    return Reply(moved, ctx.msg(contact=row["contact_id"], to=target["list_id"]))


@route("PUT", "/lists/{from_list_id}/contacts/{contact_id}/copy/{to_list_id}")
def copy_contact(ctx: Ctx) -> Reply:
    return _move(ctx, keep_original=True)


@route("PUT", "/lists/{from_list_id}/contacts/{contact_id}/transfer/{to_list_id}")
def transfer_contact(ctx: Ctx) -> Reply:
    return _move(ctx, keep_original=False)


def _remove_where(contacts: Table, doomed: list[Row]) -> dict[str, int]:
    for row in doomed:
        contacts.remove(row["contact_id"])
    return {"deleted": len(doomed)}


@route("PUT", "/lists/{list_id}/remove-opted-out-contacts/{opt_out_list_id}")
def remove_opted_out(ctx: Ctx) -> Any:
    lst, opt_out = owned_list(ctx, "list_id"), owned_list(ctx, "opt_out_list_id")
    blocked = {r["phone_number"] for r in ctx.store.list_contacts(opt_out["list_id"]) if r["phone_number"]}
    contacts = ctx.store.list_contacts(lst["list_id"])
    return _remove_where(contacts, [r for r in contacts if r["phone_number"] in blocked])


@route("PUT", "/lists/{list_id}/remove-duplicates")
def remove_duplicates(ctx: Ctx) -> Any:
    contacts = ctx.store.list_contacts(owned_list(ctx, "list_id")["list_id"])
    seen: set[tuple[str, str, str]] = set()
    doomed = []
    for row in contacts:
        key = (row["phone_number"], row["email"], row["fax_number"])
        if key in seen:
            doomed.append(row)
        seen.add(key)
    return _remove_where(contacts, doomed)


@route("GET", "/search/contacts-lists")
def search_contacts_lists(ctx: Ctx) -> Any:
    """Keyword search over list names and contacts' names, numbers and emails."""
    needle = ctx.query.get("q", "").lower()
    hits: list[Row] = []
    for lst in _lists(ctx.store):
        contacts = ctx.store.list_contacts(lst["list_id"])
        if needle in lst["list_name"].lower():
            hits.append({"id": lst["list_id"], "type": "list", "name": lst["list_name"], "contact": "",
                         "contacts_count": len(contacts)})
        for c in contacts:
            name = f"{c['first_name']} {c['last_name']}".strip()
            if needle and any(needle in str(c[f]).lower() for f in ("first_name", "last_name", "phone_number", "email")):
                hits.append({"id": c["contact_id"], "type": "contact", "name": name,
                             "contact": c["phone_number"] or c["email"], "contacts_count": 0})
    lq = parse_list_query({k: v for k, v in ctx.query.items() if k != "q"})  # q is the keyword here
    return paginator(select(hits, lq, None), lq, ctx.url)
