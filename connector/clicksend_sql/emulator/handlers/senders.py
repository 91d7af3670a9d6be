"""The newer sender microservices with cursor pagination: own numbers, alpha tags, default senders.

They use lowercase UUID ids and ISO timestamps; /own-numbers and /alpha-tags answer without the
envelope (NOTES.md §4).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .. import fake
from ..envelope import ApiError, bad_request
from ..listing import cursor_page, parse_page_size
from ..resources import ACCOUNT_UUID, BY_KEY, USER_ID, USER_UUID, Gen, Resource, sender_strategy
from ..state import Row, Table
from .base import Ctx, Reply, route
from .crud import blank_like, find, merge_body

OWN_NUMBERS, ALPHA_TAGS, DEFAULT_SENDERS = BY_KEY["own-numbers"], BY_KEY["alpha-tags"], BY_KEY["default-senders"]


def _table(ctx: Ctx, res: Resource) -> Table:
    return ctx.store.table(res.key, "id")


def _sorted(ctx: Ctx, rows: list[Row], default_direction: str) -> list[Row]:
    field = ctx.query.get("sort_by") or "created_timestamp"
    direction = (ctx.query.get("sort_direction") or default_direction).lower()
    if direction not in ("asc", "desc"):
        raise bad_request({"sort_direction": "The sort_direction must be asc or desc."})
    return sorted(rows, key=lambda r: (str(r.get(field, "")), r["id"]), reverse=direction == "desc")


def _page(ctx: Ctx, res: Resource, size_param: str, default: int, maximum: int, direction: str) -> tuple[list[Row], dict[str, Any]]:
    rows = _table(ctx, res).rows()
    statuses = [s for s in ctx.query.get("filter[status][]", "").split(",") if s]
    if statuses:
        rows = [r for r in rows if r["status"] in statuses]
    size = parse_page_size(ctx.query, size_param, default, maximum)
    items, next_offset = cursor_page(_sorted(ctx, rows, direction), ctx.query.get("offset"), size, ACCOUNT_UUID)
    query = {k: v for k, v in ctx.query.items() if k != "offset"}
    links = {
        "self": _link(ctx.url, ctx.query),
        "next": _link(ctx.url, {**query, "offset": next_offset}) if next_offset else None,
        "page_size": size,
    }
    return items, links


def _link(url: str, query: dict[str, str]) -> str:
    return f"{url}?{urlencode(query)}" if query else url


def _new(ctx: Ctx, res: Resource) -> Row:
    row = blank_like(res.make(Gen(ctx.rng, ctx.store, ctx.now, ctx.now)))
    merge_body(row, ctx.obj(), frozen=("id", "account_id", "created_timestamp", "updated_timestamp", "status"))
    row.update(id=fake.uuid_lower(ctx.rng), account_id=ACCOUNT_UUID, workspace_id=ACCOUNT_UUID, user_id=USER_UUID,
               created_timestamp=fake.iso(ctx.now),
               updated_timestamp=fake.iso(ctx.now), status="PENDING")
    return row


def _update(ctx: Ctx, res: Resource, param: str) -> Row:
    row = find(_table(ctx, res), ctx.params[param], res.not_found)
    merge_body(row, ctx.obj(), frozen=("id", "account_id", "user_id", "created_timestamp", "updated_timestamp"))
    row["updated_timestamp"] = fake.iso(ctx.now)
    return row


def _delete(ctx: Ctx, res: Resource, param: str) -> Row:
    row = find(_table(ctx, res), ctx.params[param], res.not_found)
    _table(ctx, res).remove(row["id"])
    return row


@route("GET", "/own-numbers")
def list_own_numbers(ctx: Ctx) -> Any:
    items, links = _page(ctx, OWN_NUMBERS, "page_size", 10, 500, "asc")
    return {"own_numbers": items, "_metadata": {"pagination": links}}


route("GET", "/own-numbers/{own_number_id}")(
    lambda ctx: find(_table(ctx, OWN_NUMBERS), ctx.params["own_number_id"], OWN_NUMBERS.not_found))
route("PATCH", "/own-numbers/{own_number_id}")(lambda ctx: _update(ctx, OWN_NUMBERS, "own_number_id"))
route("DELETE", "/own-numbers/{own_number_id}")(lambda ctx: _delete(ctx, OWN_NUMBERS, "own_number_id"))


@route("GET", "/alpha-tags")
def list_alpha_tags(ctx: Ctx) -> Any:
    items, links = _page(ctx, ALPHA_TAGS, "page_size", 10, 1000, "asc")
    return {"alpha_tags": items, "_metadata": {"pagination": links}}


@route("POST", "/alpha-tags")
def request_alpha_tag(ctx: Ctx) -> Any:
    tag = str(ctx.obj().get("alpha_tag", ""))
    if not tag:
        raise bad_request({"alpha_tag": "alpha_tag field is required."})
    if any(r["alpha_tag"].lower() == tag.lower() for r in _table(ctx, ALPHA_TAGS)):
        raise ApiError(400, "Invalid input.", {"alpha_tag": "This alpha tag has already been requested."})
    return _table(ctx, ALPHA_TAGS).add(_new(ctx, ALPHA_TAGS))


route("GET", "/alpha-tags/{alpha_tag_id}")(
    lambda ctx: find(_table(ctx, ALPHA_TAGS), ctx.params["alpha_tag_id"], ALPHA_TAGS.not_found))
@route("DELETE", "/alpha-tags/{alpha_tag_id}")
def delete_alpha_tag(ctx: Ctx) -> Any:
    _delete(ctx, ALPHA_TAGS, "alpha_tag_id")
    return {}


@route("GET", "/senders/default-senders")
def list_default_senders(ctx: Ctx) -> Any:
    items, links = _page(ctx, DEFAULT_SENDERS, "per_page", 10, 500, "desc")
    return {"data": items, "per_page": links["page_size"], "self_page_url": links["self"],
            "next_page_url": links["next"]}


def _complete_strategies(row: Row) -> Row:
    """Strategies as sent may omit priority and status; stored ones always have them."""
    strategies = row.get("default_sender_strategies") or [{}]
    row["default_sender_strategies"] = [sender_strategy(**{"priority": i + 1, **{k: v for k, v in s.items() if v is not None}})
                                        for i, s in enumerate(x for x in strategies if isinstance(x, dict))]
    return row


@route("POST", "/senders/default-senders")
def create_default_sender(ctx: Ctx) -> Any:
    row = _new(ctx, DEFAULT_SENDERS)
    row.update(status="ENABLED", user_id=USER_ID, subaccount_id=ctx.principal.subaccount_id if ctx.principal else 0)
    return _table(ctx, DEFAULT_SENDERS).add(_complete_strategies(row))


route("GET", "/senders/default-senders/{default_sender_id}")(
    lambda ctx: find(_table(ctx, DEFAULT_SENDERS), ctx.params["default_sender_id"], DEFAULT_SENDERS.not_found))
route("PATCH", "/senders/default-senders/{default_sender_id}")(
    lambda ctx: _complete_strategies(_update(ctx, DEFAULT_SENDERS, "default_sender_id")))
route("DELETE", "/senders/default-senders/{default_sender_id}")(
    lambda ctx: Reply(_delete(ctx, DEFAULT_SENDERS, "default_sender_id"), status=204))


VERIFY_TTL_S = 600


@route("POST", "/own-numbers/verifications")
def request_verification(ctx: Ctx) -> Any:
    """Start verifying a number the user owns: a PENDING own number and a one-time-code request."""
    body = ctx.obj()
    numbers = _table(ctx, OWN_NUMBERS)
    number = next((r for r in numbers if r["phone_number"] == body.get("phone_number")), None)
    if number is None:
        number = numbers.add(_new(ctx, OWN_NUMBERS))
        # verified_timestamp is a non-null date-time in the spec: it holds the request time until verified
        number.update(verified_timestamp=fake.iso(ctx.now), notified_timestamp=None, is_nearing_expiration=False)
    verification = {
        "id": fake.uuid_lower(ctx.rng), "own_number_id": number["id"], "status": "PENDING",
        "expires_timestamp": fake.iso(ctx.now + VERIFY_TTL_S), "remaining_attempts": 3,
        "created_timestamp": fake.iso(ctx.now), "updated_timestamp": fake.iso(ctx.now),
    }
    return ctx.store.table("own-number-verifications", "id").add(verification)


@route("POST", "/own-numbers/verifications/{verification_id}/verify")
def verify_code(ctx: Ctx) -> Any:
    """Any six-digit code verifies (there is no real SMS); others use up an attempt."""
    verification = find(ctx.store.table("own-number-verifications", "id"), ctx.params["verification_id"],
                        "Verification request not found.")
    code = str(ctx.obj().get("code", ""))
    verification["updated_timestamp"] = fake.iso(ctx.now)
    if verification["status"] != "PENDING" or not (code.isdigit() and len(code) == 6):
        verification["remaining_attempts"] = max(0, verification["remaining_attempts"] - 1)
        if verification["remaining_attempts"] == 0:
            verification["status"] = "REJECTED"
        raise bad_request({"code": "The verification code is invalid or the request is no longer pending."})
    verification["status"] = "APPROVED"
    number = _table(ctx, OWN_NUMBERS).get(verification["own_number_id"])
    if number is not None:
        number.update(status="APPROVED", verified_timestamp=fake.iso(ctx.now), updated_timestamp=fake.iso(ctx.now))
    return verification
