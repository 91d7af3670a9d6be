"""The account and what hangs off it: balance, subaccounts and their keys, resellers, numbers,
allowed email senders, statistics computed from history."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from .. import fake
from ..countries import by_code, by_id, countries
from ..envelope import bad_request
from ..resources import BY_KEY, CURRENCY, Gen, dedicated_number
from ..state import Row
from .base import Ctx, route
from .crud import find, list_rows, new_row
from .messages import _charge

SUBACCOUNTS = BY_KEY["subaccounts"]


@route("GET", "/account")
def view_account(ctx: Ctx) -> Any:
    return ctx.store.account


@route("POST", "/subaccounts")
def create_subaccount(ctx: Ctx) -> Any:
    body = ctx.obj()
    table = ctx.store.table(SUBACCOUNTS.key, SUBACCOUNTS.id_field)
    if any(r["api_username"] == body.get("api_username") for r in table):
        raise bad_request({"api_username": "The api_username has already been taken."})
    row = new_row(ctx, SUBACCOUNTS, body)
    row["api_key"] = fake.uuid_upper(ctx.rng)
    return table.add(row)


@route("PUT", "/subaccounts/{subaccount_id}/regen-api-key")
def regenerate_api_key(ctx: Ctx) -> Any:
    row = find(ctx.store.table(SUBACCOUNTS.key, SUBACCOUNTS.id_field), ctx.params["subaccount_id"], SUBACCOUNTS.not_found)
    row["api_key"] = fake.uuid_upper(ctx.rng)
    return {"api_key": row["api_key"]}


@route("PUT", "/reseller/transfer-credit")
def transfer_credit(ctx: Ctx) -> Any:
    body = ctx.obj()
    res = BY_KEY["reseller-accounts"]
    client = find(ctx.store.table(res.key, res.id_field), str(body.get("client_user_id")), res.not_found)
    try:
        amount = Decimal(str(body.get("balance")))
    except ArithmeticError:
        raise bad_request({"balance": "The balance must be a number."}) from None
    if amount <= 0 or amount > Decimal(ctx.store.account["balance"]):
        raise bad_request({"balance": "The balance must be positive and at most your own balance."})
    _charge(ctx.store, amount)
    client["balance"] = f"{Decimal(client['balance']) + amount:.6f}"
    return {**client, "_currency": CURRENCY}


@route("POST", "/email/addresses")
def create_email_address(ctx: Ctx) -> Any:
    res = BY_KEY["email-addresses"]
    row = new_row(ctx, res, ctx.obj())
    row["verified"] = 0  # verified through the address-verify endpoints
    return ctx.store.table(res.key, res.id_field).add(row)


def _email_address(ctx: Ctx) -> Row:
    res = BY_KEY["email-addresses"]
    return find(ctx.store.table(res.key, res.id_field), ctx.params["email_address_id"], res.not_found)


@route("PUT", "/email/address-verify/{email_address_id}/send")
def send_verification(ctx: Ctx) -> Any:
    _email_address(ctx)
    return {}


@route("PUT", "/email/address-verify/{email_address_id}/verify/{activation_token}")
def verify_address(ctx: Ctx) -> Any:
    row = _email_address(ctx)
    row["verified"] = 1
    return row


@route("POST", "/numbers/buy/{dedicated_number}")
def buy_number(ctx: Ctx) -> Any:
    numbers = ctx.store.table("numbers", "dedicated_number")
    number = ctx.params["dedicated_number"]
    if numbers.get(number) is not None:
        raise bad_request({"dedicated_number": "You already own this number."})
    row = dedicated_number(Gen(ctx.rng, ctx.store, ctx.now, ctx.now))
    row["dedicated_number"] = number
    _charge(ctx.store, Decimal(row["price"]))
    numbers.add(row)
    return {"dedicated_number": number, "country": row["country"], "price_total": row["price"],
            "_price_setup": "0.00", "_price_monthly": row["price"], "_currency": CURRENCY}


@route("GET", "/statistics/sms")
def sms_statistics(ctx: Ctx) -> Any:
    """Totals and per-day figures computed from the SMS history and inbound messages."""
    days: dict[int, dict[str, dict[str, Any]]] = defaultdict(
        lambda: {k: {"count": 0, "price": 0.0} for k in ("outbound", "inbound", "bounced")})
    for row in ctx.store.table("sms-history", "message_id"):
        kind = "bounced" if row["status"] == "Failed" else "outbound"
        bucket = days[row["date"] - row["date"] % fake.DAY][kind]
        bucket["count"] += 1
        bucket["price"] += float(row["message_price"])
    for row in ctx.store.table("inbound-sms", "message_id"):
        days[row["timestamp"] - row["timestamp"] % fake.DAY]["inbound"]["count"] += 1
    total = {k: {"count": sum(d[k]["count"] for d in days.values()),
                 "price": round(sum(d[k]["price"] for d in days.values()), 4)} for k in ("outbound", "inbound", "bounced")}
    stats = [{"date": day, **{k: {"count": v["count"], "price": round(v["price"], 4)} for k, v in figures.items()}}
             for day, figures in sorted(days.items())]
    return {"total": total, "stats": stats, "_currency": CURRENCY}



@route("GET", "/numbers/search/{country}")
def search_numbers(ctx: Ctx) -> Any:
    """Numbers for sale: a deterministic stock per country, filtered by ``search``/``search_type``."""
    country = ctx.params["country"].upper()
    if country not in fake.MOBILE_RANGES:
        return list_rows(ctx, [], None)
    rng = random.Random(f"numbers-for-sale:{country}")
    stock = [{"country": country, "country_name": by_code()[country].name, "dedicated_number": fake.mobile(rng, country),
              "price_setup": "0.00", "price_monthly": "29.00", "price_total": "29.00", "address_requirement": "none"}
             for _ in range(60)]
    needle, how = ctx.query.get("search", ""), ctx.query.get("search_type", "1")
    match = {"0": str.startswith, "2": str.endswith}.get(how, str.__contains__)
    digits = needle.lstrip("+")
    return list_rows(ctx, [r for r in stock if match(r["dedicated_number"].lstrip("+"), digits)], None)


def _page_array(ctx: Ctx, key: str, id_field: str) -> list[Row]:
    """One page of rows as a plain array: the master-template lists take page/limit but the spec
    answers them without the paginator object."""
    return list_rows(ctx, ctx.store.table(key, id_field).rows(), None)["data"]


route("GET", "/email/master-templates")(lambda ctx: _page_array(ctx, "master-templates", "template_id_master"))
route("GET", "/email/master-templates-categories")(
    lambda ctx: _page_array(ctx, "master-template-categories", "category_id"))


@route("GET", "/email/master-templates-categories/{category_id}/master-templates")
def templates_in_category(ctx: Ctx) -> Any:
    categories = BY_KEY["master-template-categories"]
    find(ctx.store.table(categories.key, categories.id_field), ctx.params["category_id"], categories.not_found)
    return _page_array(ctx, "master-templates", "template_id_master")


@route("POST", "/delivery-issues")
def create_delivery_issue(ctx: Ctx) -> Any:
    """Listed issues carry a string issue_id, the create response an integer one (as the spec has it)."""
    res = BY_KEY["delivery-issues"]
    row = ctx.store.table(res.key, res.id_field).add(new_row(ctx, res, ctx.obj()))
    return {**row, "issue_id": int(row["issue_id"])}



@route("GET", "/countries")
def view_countries(ctx: Ctx) -> Any:
    return [{"code": c.code, "value": c.name} for c in countries()]


@route("GET", "/country-list")
def list_countries(ctx: Ctx) -> Any:
    return [{"id": c.id, "name": c.name, "code": c.code, "region": c.region} for c in countries()]


def _user_countries(ctx: Ctx) -> list[Row]:
    """The countries this account may send to (global sending), as GET /user-countries lists them."""
    return [{"id": c.id, "name": c.name, "code": c.code, "region": c.region, "agreed_at": ctx.store.account["date_sign_up"],
             "registration_entity": ctx.store.account["_referrer_chosen"], "registration_status": {"id": 1, "name": "NOT_INITIATED"},
             "jotform_id": "", "sms_registration_type": 0, "block_registration": False, "block_leads": False,
             "trial_from_address": "", "restricted_sending": False, "trial_sending": 0, "trial_sending_description": "",
             "has_regulation_requirements": 0, "registration_steps_url": "", "regulation_requirements_description": ""}
            for c in countries() if c.code in ctx.store.enabled_countries]


route("GET", "/user-countries")(_user_countries)


@route("POST", "/user-countries")
def select_countries(ctx: Ctx) -> Any:
    """Enable exactly the countries named by /country-list id; sends elsewhere are COUNTRY_NOT_ENABLED."""
    ids = ctx.obj().get("country_list_ids") or []
    unknown = [i for i in ids if by_id().get(int(i)) is None]
    if unknown:
        raise bad_request({"country_list_ids": f"Unknown country id(s): {', '.join(map(str, unknown))}."})
    ctx.store.enabled_countries = {by_id()[int(i)].code for i in ids}
    return _user_countries(ctx)
