"""SMS, MMS and email campaigns: one body sent to a whole list, priced and recorded per contact."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import fake, messaging
from ..envelope import ApiError, bad_request
from ..resources import BY_KEY, CURRENCY, Gen, Resource
from ..state import Row
from .base import Ctx, precheck, route
from .crud import blank_like, find, list_rows, merge_body
from .messages import MMS, SMS, Channel, _balance, _charge, _schedule, send_messages

LIST_NOT_FOUND = "Your list is not found."


def _campaign_list(ctx: Ctx, body: dict[str, Any]) -> Row:
    row = ctx.store.table("lists", "list_id").get(body.get("list_id"))
    if row is None:
        raise ApiError(404, LIST_NOT_FOUND)
    return row


def _list_first(ctx: Ctx) -> None:
    """The real API looks the campaign's list up before it validates the rest of the body: an
    unknown list is 404 "Your list is not found." even when other fields are missing (recorded)."""
    _campaign_list(ctx, ctx.obj())


for _base in ("/sms-campaigns", "/mms-campaigns", "/email-campaigns"):
    for _action in ("send", "price"):
        precheck("POST", f"{_base}/{_action}")(_list_first)


def _new_campaign(ctx: Ctx, res: Resource, body: dict[str, Any], lst: Row, total: int, scheduled: bool) -> Row:
    row = blank_like(res.make(Gen(ctx.rng, ctx.store, ctx.now, ctx.now)))
    merge_body(row, body, frozen=(res.id_field, "status", "date_added"))
    row.update({res.id_field: ctx.store.next_id(res.key, res.id_start), "user_id": ctx.principal.user_id if ctx.principal else 0,
                "subaccount_id": ctx.principal.subaccount_id if ctx.principal else 0, "list_id": lst["list_id"],
                "status": "Scheduled" if scheduled else "Sent", "_list_name": lst["list_name"], "_total_count": total})
    row["date_added"] = str(ctx.now) if isinstance(row["date_added"], str) else ctx.now
    row["schedule"] = type(row["schedule"])(_schedule(ctx, body.get("schedule")) or ctx.now)
    if "_media_file_url" in row:
        row["_media_file_url"] = str(body.get("media_file", ""))
    return row


def _register_phone_campaign(res: Resource, channel: Channel, extras: tuple[str, ...], schedule_type: type) -> None:
    """send / price / cancel for a campaign over a phone-number channel."""
    base = res.path

    def run(ctx: Ctx, record: bool) -> tuple[dict[str, Any], Row, dict[str, Any]]:
        """The campaign's one message to its list through the channel; ``record`` sends, else prices."""
        body = ctx.obj()
        lst = _campaign_list(ctx, body)
        keep = ("body", "from", "schedule", "subject", *extras)
        message = {"list_id": lst["list_id"], **{k: body[k] for k in keep if k in body}}
        outcome = send_messages(ctx, channel, [message], record=record, extra={k: body[k] for k in extras if k in body})
        return body, lst, outcome

    @route("POST", f"{base}/send")
    def send(ctx: Ctx) -> Any:
        body, lst, sent = run(ctx, record=True)
        scheduled = _schedule(ctx, body.get("schedule")) is not None
        return ctx.store.table(res.key, res.id_field).add(
            _new_campaign(ctx, res, body, lst, sent["total_count"], scheduled))

    @route("POST", f"{base}/price")
    def price(ctx: Ctx) -> Any:
        body, _, priced = run(ctx, record=False)
        return {"total_count": priced["total_count"], "total_price": messaging.money(Decimal(str(priced["total_price"]))),
                "data": {"from": body.get("from", ""), "body": body.get("body", ""),
                         "schedule": schedule_type(_schedule(ctx, body.get("schedule")) or ctx.now)},
                "_currency": CURRENCY}

    route("PUT", f"{base}/{{{res.item_param}}}/cancel")(lambda ctx: cancel_campaign(ctx, res))


def cancel_campaign(ctx: Ctx, res: Resource) -> Row:
    """Only a campaign that has not gone out yet can be cancelled."""
    row = find(ctx.store.table(res.key, res.id_field), ctx.params[str(res.item_param)], res.not_found)
    if row["status"] != "Scheduled":
        raise bad_request({res.id_field: "Only scheduled campaigns can be cancelled."})
    row["status"] = "Cancelled"
    return row


_register_phone_campaign(BY_KEY["sms-campaigns"], SMS, (), int)
_register_phone_campaign(BY_KEY["mms-campaigns"], MMS, ("media_file",), str)

EMAIL_CAMPAIGNS = BY_KEY["email-campaigns"]


def _email_campaign(ctx: Ctx, record: bool) -> dict[str, Any]:
    body = ctx.obj()
    lst = _campaign_list(ctx, body)
    recipients = [c for c in ctx.store.list_contacts(lst["list_id"]) if c["email"]]
    billable = [c for c in recipients if c["email"].lower() not in messaging.TEST_EMAILS]
    price = Decimal(messaging.EMAIL_PRICE) * len(billable)
    if record and billable and (ctx.principal and ctx.principal.no_credit or price > _balance(ctx.store)):
        raise ApiError(400, "Insufficient credit.", {"balance": "INSUFFICIENT_CREDIT"})
    scheduled = _schedule(ctx, body.get("schedule")) is not None
    campaign = _new_campaign(ctx, EMAIL_CAMPAIGNS, body, lst, len(recipients), scheduled)
    campaign.update(send_count=0 if scheduled else len(recipients), open_count=0, click_count=0,
                    soft_bounce_count=0, hard_bounce_count=0)
    del campaign["_list_name"], campaign["_total_count"]
    if record:
        ctx.store.table(EMAIL_CAMPAIGNS.key, EMAIL_CAMPAIGNS.id_field).add(campaign)
        history = ctx.store.table("email-campaign-history", "message_id")
        for c in recipients:
            history.add({
                "email_campaign_id": campaign["email_campaign_id"], "from_name": campaign["from_name"],
                "from_address": "", "to_name": f"{c['first_name']} {c['last_name']}".strip(), "to_address": c["email"],
                "contact_id": c["contact_id"], "subject": campaign["subject"], "message_id": fake.uuid_upper(ctx.rng),
                "processed_at": str(ctx.now), "status": "Scheduled" if scheduled else "Sent", "open_count": 0,
                "click_count": 0, "hard_bounce_count": 0, "soft_bounce_count": 0,
            })
        _charge(ctx.store, price)
    return {"totlal_count": len(recipients), "total_price": messaging.money(price), "queued_count": len(recipients),
            "data": campaign, "_currency": CURRENCY}


route("POST", "/email-campaigns/send")(lambda ctx: _email_campaign(ctx, True))


@route("POST", "/email-campaigns/price")
def price_email_campaign(ctx: Ctx) -> Any:
    priced = _email_campaign(ctx, False)
    campaign = priced.pop("data")
    return {"total_count": priced.pop("totlal_count"), **priced,
            "data": {k: campaign[k] for k in ("name", "subject", "from_email_address_id", "from_name", "body", "list_id")}}


route("PUT", "/email-campaigns/{email_campaign_id}/cancel")(lambda ctx: cancel_campaign(ctx, EMAIL_CAMPAIGNS))


@route("GET", "/email-campaigns/{email_campaign_id}/history")
def email_campaign_history(ctx: Ctx) -> Any:
    campaign = find(ctx.store.table(EMAIL_CAMPAIGNS.key, EMAIL_CAMPAIGNS.id_field), ctx.params["email_campaign_id"],
                    EMAIL_CAMPAIGNS.not_found)
    rows = [r for r in ctx.store.table("email-campaign-history", "message_id")
            if r["email_campaign_id"] == campaign["email_campaign_id"]]
    return list_rows(ctx, rows, "processed_at")
