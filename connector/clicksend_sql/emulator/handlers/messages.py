"""Sending and its aftermath: send/price for every channel, history, cancel, receipts, inbound.

A send prices each message (parts x per-country rate; documented test recipients are free),
charges the balance, writes history rows and, for delivered non-test messages, an unread
delivery receipt. ``/price`` runs the same pipeline without recording anything.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

import phonenumbers

from .. import events, fake, messaging, spec
from ..envelope import ApiError, bad_request
from ..resources import CURRENCY, MAIN_SUBACCOUNT_ID, USER_ID, Gen, fax_receipt, sms_receipt, voice_receipt
from ..state import Row, Store
from .base import Ctx, Reply, route
from .crud import list_rows

Message = dict[str, Any]


def _number(raw: Any, region: str) -> tuple[str, str] | None:
    """(E.164, country) of a dialable number, or None (INVALID_RECIPIENT)."""
    try:
        parsed = phonenumbers.parse(str(raw), region or "AU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, phonenumbers.region_code_for_number(parsed) or region


def _balance(store: Store) -> Decimal:
    return Decimal(store.account["balance"])


def _charge(store: Store, amount: Decimal) -> None:
    store.account["balance"] = messaging.money(_balance(store) - amount, 6)


def _schedule(ctx: Ctx, raw: Any) -> int | None:
    """A future send time, or None for "now" (a past or empty schedule sends immediately)."""
    if raw in (None, "", 0, "0"):
        return None
    try:
        when = int(raw)
    except (TypeError, ValueError):
        raise bad_request({"schedule": "The schedule must be a Unix timestamp."}) from None
    return when if when > ctx.now else None


@dataclass(frozen=True)
class Channel:
    """A phone-number channel (sms, mms, voice, fax): what differs between their sends."""

    name: str  # history table is f"{name}-history"
    unit_price: Callable[[str], Decimal]  # by recipient country
    parts: Callable[[Message], int]
    test_numbers: frozenset[str]
    receipt: Callable[[Gen], Row] | None
    history_row: Callable[[Ctx, Message, Message], Row]  # (ctx, request message, response message)
    required: tuple[str, ...] = ("body",)
    # (ctx, message) -> an application status code refusing it, or None; after the required fields
    refuse: Callable[[Ctx, Message], str | None] = lambda ctx, m: None
    # fields this channel's send response adds to each accepted message (NOTES.md §3)
    echo_extra: Callable[[Message], Message] = lambda m: {}
    # JSON types of echoed fields where this channel's response model differs from SMS send's
    send_types: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    price_types: dict[str, Callable[[Any], Any]] = field(default_factory=dict)


def _retype(messages: list[Message], types: dict[str, Callable[[Any], Any]]) -> None:
    for m in messages:
        if m.get("status") == "SUCCESS":
            m.update({k: convert(m[k]) for k, convert in types.items() if k in m})


def _int0(value: Any) -> int:
    return _int_or_none(value) or 0


def _recipients(ctx: Ctx, m: Message) -> list[tuple[Any, str | None, str | None]]:
    """(to, list_id, contact_id) for a message addressed by ``to``, ``list_id`` or ``contact_id``
    (the ids are null for a message addressed by ``to``, as the real API echoes them)."""
    if m.get("list_id"):
        list_id = _int_or_none(m["list_id"])
        if ctx.store.table("lists", "list_id").get(list_id) is None:
            raise ApiError(404, "Your list is not found.")
        contacts = ctx.store.list_contacts(int(m["list_id"]))  # a new list has none yet
        return [(c["phone_number"] or c["fax_number"], str(c["list_id"]), str(c["contact_id"])) for c in contacts]
    if m.get("contact_id"):
        for contacts in ctx.store.contacts.values():
            c = contacts.get(m["contact_id"])
            if c is not None:
                return [(c["phone_number"] or c["fax_number"], str(c["list_id"]), str(c["contact_id"]))]
        raise ApiError(404, "Contact record not found.")
    return [(m.get("to"), None, None)]


def _int_or_none(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _rejected(m: Message, to: Any, status: str, message_id: str) -> Message:
    """The reduced echo ClickSend gives a message it refused (NOTES.md §2)."""
    return {"to": text(to), "body": text(m.get("body")), "from": text(m.get("from")), "schedule": "",
            "message_id": message_id, "custom_string": text(m.get("custom_string")), "status": status}


def text(value: Any) -> str:
    """A request value echoed into a string field (PHP echoes numbers as their text)."""
    return "" if value is None else str(value)


def _blocked(ctx: Ctx, m: Message, e164: str, country: str, message_id: str) -> Message:
    """A message to a country the account has not enabled: unpriced, counted in blocked_count."""
    return {**_rejected(m, e164, "COUNTRY_NOT_ENABLED", message_id), "from": text(m.get("from")) or shared_sender(country),
            "message_parts": 0, "message_price": "0.0000", "is_shared_system_number": not m.get("from"), "country": country,
            "carrier": ctx.rng.choice(fake.CARRIERS.get(country, ("",)))}


def send_messages(ctx: Ctx, channel: Channel, messages: Any, record: bool, extra: Message | None = None) -> dict[str, Any]:
    """Price (and if ``record``, send) ``messages`` (a list, checked here); the SMS-style response data."""
    if not isinstance(messages, list) or not messages:
        raise bad_request({"messages": "messages field is required."})
    if len(messages) > messaging.MAX_MESSAGES_PER_CALL:
        raise bad_request({"messages": f"At most {messaging.MAX_MESSAGES_PER_CALL} messages can be sent per call."})
    region = ctx.store.account.get("country", "AU")
    out: list[Message] = []
    total = Decimal(0)
    queued = blocked = 0
    for m in messages:
        m = {**(extra or {}), **m}
        for to, list_id, contact_id in _recipients(ctx, m):
            message_id = fake.uuid_upper(ctx.rng)
            number = _number(to, str(m.get("country") or region))
            if any(not str(m.get(f) or "").strip() for f in channel.required):
                out.append(_rejected(m, to, "EMPTY_MESSAGE", message_id))
                continue
            refused = channel.refuse(ctx, m) or _sender_problem(m)
            if number is None or refused:
                out.append(_rejected(m, to, refused or "INVALID_RECIPIENT", message_id))
                continue
            e164, country = number
            if country not in ctx.store.enabled_countries:  # test numbers too (NOTES.md §12)
                out.append(_blocked(ctx, m, e164, country, message_id))
                blocked += 1
                continue
            is_test = e164 in channel.test_numbers
            if record and not is_test and _throttled(ctx, channel, e164, str(m.get("body", ""))):
                out.append(_rejected(m, e164, "THROTTLED", message_id))
                continue
            parts = channel.parts(m)
            price = Decimal(0) if is_test else channel.unit_price(country) * parts
            broke = ctx.principal is not None and ctx.principal.no_credit
            if not is_test and (broke or price > _balance(ctx.store) - total):
                out.append(_rejected(m, e164, "INSUFFICIENT_CREDIT", message_id))
                continue
            when = _schedule(ctx, m.get("schedule"))
            echo = {
                "direction": "out", "date": ctx.now, "to": e164, "body": text(m.get("body")),
                "from": text(m.get("from")) or shared_sender(country), "schedule": when or ctx.now, "message_id": message_id,
                "message_parts": parts, "message_price": messaging.money(price), "from_email": m.get("from_email") or None,
                "list_id": list_id, "custom_string": text(m.get("custom_string")), "contact_id": contact_id, "user_id": USER_ID,
                "subaccount_id": ctx.principal.subaccount_id if ctx.principal else MAIN_SUBACCOUNT_ID,
                "is_shared_system_number": not m.get("from"), "country": country,
                "carrier": ctx.rng.choice(fake.CARRIERS.get(country, ("Telstra",))), "status": "SUCCESS",
                **channel.echo_extra(m),
            }
            out.append(echo)
            total += price
            queued += 1
            if record:
                _record(ctx, channel, m, echo, scheduled=when is not None, is_test=is_test)
    if record:
        _charge(ctx.store, total)
    _retype(out, channel.send_types if record else channel.price_types)
    return {"total_price": float(total), "total_count": len(out), "queued_count": queued,
            "blocked_count": blocked, "messages": out, "_currency": SEND_CURRENCY}


# Send responses carry the currency without the recharge limits GET /account shows (recorded).
SEND_CURRENCY = {k: v for k, v in CURRENCY.items() if not k.endswith("_recharge_amount")}
THROTTLE_S = 60  # "the same message to the same recipient recently" (NOTES.md §2): one minute here


def shared_sender(country: str) -> str:
    """The shared system number ClickSend sends from when a message names no sender (recorded:
    ``from`` is filled in and ``is_shared_system_number`` is true); one fixed number per country."""
    region = country if country in fake.MOBILE_RANGES else "AU"
    return fake.mobile(random.Random(f"shared-sender:{region}"), region)


def _sender_problem(m: Message) -> str | None:
    """INVALID_SENDER_ID for a sender that is neither a dialable number nor an alpha tag
    (1-11 letters, digits or spaces, with at least one letter)."""
    sender = str(m.get("from") or "")
    if not sender:
        return None
    if sender.lstrip("+").isdigit():
        short_code = not sender.startswith("+") and len(sender) <= 8
        return None if short_code or _number(sender, "AU") else "INVALID_SENDER_ID"
    ok = len(sender) <= 11 and all(c.isascii() and (c.isalnum() or c == " ") for c in sender)
    return None if ok and any(c.isalpha() for c in sender) else "INVALID_SENDER_ID"


def _throttled(ctx: Ctx, channel: Channel, to: str, body: str) -> bool:
    """THROTTLED: the same body went to the same recipient less than THROTTLE_S ago."""
    sent = ctx.store.recent_sends
    key = f"{channel.name}:{to}:{body}"
    last = sent.get(key)
    sent[key] = ctx.now
    return last is not None and ctx.now - last < THROTTLE_S


def _record(ctx: Ctx, channel: Channel, m: Message, echo: Message, *, scheduled: bool, is_test: bool) -> None:
    row = channel.history_row(ctx, m, echo)
    row["status"] = "Scheduled" if scheduled else row["status"]
    ctx.store.table(f"{channel.name}-history", "message_id").add(row)
    if channel.receipt and not scheduled and not is_test:
        receipt = channel.receipt(Gen(ctx.rng, ctx.store, ctx.now, ctx.now))
        receipt.update(message_id=echo["message_id"], custom_string=echo["custom_string"])
        if channel is SMS:  # delivered at once: listed for POLL rules, pushed to URL rules (events.py)
            receipt.update(timestamp_send=ctx.now, subaccount_id=echo["subaccount_id"])
            events.receive_receipt(ctx.store, receipt)
        else:
            ctx.store.table(f"{channel.name}-receipts", "message_id").add(receipt)


def _sms_history(ctx: Ctx, m: Message, e: Message) -> Row:
    return {
        "direction": "out", "date": e["date"], "to": e["to"], "body": e["body"], "status": "Completed",
        "from": e["from"], "schedule": str(e["schedule"]), "status_code": "201",
        "status_text": "Success: Message received on handset.", "error_code": "", "error_text": "",
        "message_id": e["message_id"], "message_parts": e["message_parts"], "message_price": e["message_price"],
        "from_email": e["from_email"] or "", "list_id": e["list_id"] or "", "custom_string": e["custom_string"],
        "contact_id": e["contact_id"] or "", "user_id": USER_ID, "subaccount_id": e["subaccount_id"],
        "country": e["country"], "carrier": e["carrier"], "first_name": "", "last_name": "",
        "_api_username": ctx.principal.username if ctx.principal else "",
    }


def _mms_history(ctx: Ctx, m: Message, e: Message) -> Row:
    row = _sms_history(ctx, m, e)
    row.update(date=str(e["date"]), date_added=e["date"], subject=m.get("subject", ""), priority=0,
               _media_file_url=m.get("media_file", ""), message_parts=str(e["message_parts"]),
               contact_id=_int_or_none(e["contact_id"]) or 0)
    return row


def _voice_history(ctx: Ctx, m: Message, e: Message) -> Row:
    return {
        "date": str(e["date"]), "date_added": e["date"], "list_id": e["list_id"] or "", "to": e["to"], "to_type": "mobile",
        "body": e["body"], "from": e["from"], "lang": m.get("lang", "en-au"), "voice": m.get("voice", "female"),
        "schedule": str(e["schedule"]), "message_id": e["message_id"], "message_parts": e["message_parts"],
        "message_price": e["message_price"], "custom_string": e["custom_string"], "user_id": USER_ID,
        "subaccount_id": e["subaccount_id"], "country": e["country"],
        "require_input": int(m.get("require_input") or 0), "machine_detection": int(m.get("machine_detection") or 0),
        "machine_detected": 0, "digits": "", "carrier": e["carrier"], "status_code": "201",
        "status_text": "Success: Call answered.", "status": "Completed",
        "_api_username": ctx.principal.username if ctx.principal else "",
    }


def _fax_history(ctx: Ctx, m: Message, e: Message) -> Row:
    return {
        "user_id": USER_ID, "subaccount_id": e["subaccount_id"], "list_id": _int_or_none(e["list_id"]) or 0,
        "message_id": e["message_id"], "to": e["to"], "from": e["from"], "carrier": e["carrier"],
        "country": e["country"], "custom_string": e["custom_string"], "schedule": str(e["schedule"]),
        "message_pages": e["message_parts"], "message_price": e["message_price"], "status_code": "201",
        "status_text": "Success: Fax received.", "date_added": e["date"], "from_email": e["from_email"] or "",
        "_file_url": m.get("file_url", ""), "status": "Sent",
    }


MMS_MEDIA_TYPES = (".jpg", ".jpeg", ".gif")  # NOTES.md §3: other image types go through /uploads?convert=mms


def _mms_refusal(ctx: Ctx, m: Message) -> str | None:
    """SUBJECT_REQUIRED without a subject; INVALID_MEDIA_FILE unless media_file is an http(s) URL of
    a jpg or gif."""
    if not str(m.get("subject") or "").strip():
        return "SUBJECT_REQUIRED"
    url = str(m.get("media_file") or "").split("?", 1)[0].lower()
    return None if url.startswith(("http://", "https://")) and url.endswith(MMS_MEDIA_TYPES) else "INVALID_MEDIA_FILE"


def _voice_refusal(ctx: Ctx, m: Message) -> str | None:
    return None if m.get("voice") in ("female", "male") else "INVALID_VOICE"


def _voice_echo(m: Message) -> Message:
    return {"to_type": "mobile", "lang": m.get("lang") or "en-au", "voice": m.get("voice"),
            "require_input": _int0(m.get("require_input")), "machine_detection": _int0(m.get("machine_detection")),
            "machine_detected": 0, "digits": "", "status_code": "", "status_text": ""}


SMS = Channel("sms", messaging.sms_unit_price, lambda m: messaging.sms_parts(str(m.get("body", ""))),
              messaging.TEST_NUMBERS, sms_receipt, _sms_history, price_types={"date": str, "schedule": str})
_MMS_TYPES: dict[str, Callable[[Any], Any]] = {"contact_id": _int0, "schedule": str}
MMS = Channel("mms", lambda c: Decimal(messaging.MMS_PRICE), lambda m: 1, messaging.TEST_NUMBERS, None,
              _mms_history, refuse=_mms_refusal, send_types=_MMS_TYPES, price_types=_MMS_TYPES,
              echo_extra=lambda m: {"subject": text(m.get("subject")), "_media_file_url": text(m.get("media_file"))})
VOICE = Channel("voice", lambda c: Decimal(messaging.VOICE_PRICE), lambda m: messaging.voice_parts(str(m.get("body", ""))),
                messaging.TEST_NUMBERS, voice_receipt, _voice_history, refuse=_voice_refusal, echo_extra=_voice_echo,
                send_types={"date": str}, price_types={"date": str})
_FAX_TYPES: dict[str, Callable[[Any], Any]] = {"list_id": _int0, "schedule": str}
FAX = Channel("fax", lambda c: Decimal(messaging.FAX_PRICE_PER_PAGE), lambda m: 1, messaging.TEST_FAX_NUMBERS,
              fax_receipt, _fax_history, required=("file_url",), send_types=_FAX_TYPES, price_types=_FAX_TYPES)


def _register_channel(channel: Channel, extras: tuple[str, ...], shape: Callable[[dict[str, Any]], Any]) -> None:
    """POST /<channel>/send and /price; ``extras`` are top-level body fields every message inherits."""

    def run(ctx: Ctx, record: bool) -> Any:
        body = ctx.obj()
        extra = {k: body[k] for k in extras if k in body}
        data = shape(send_messages(ctx, channel, body.get("messages"), record, extra))
        op = spec.find("POST", f"/{channel.name}/{'send' if record else 'price'}")
        blanks = spec.blank_nulls(op, ("data", "messages"))
        for m in data["messages"]:
            m.update({k: blanks[k] for k, v in m.items() if v is None and k in blanks})
        return data

    route("POST", f"/{channel.name}/send")(lambda ctx: run(ctx, True))
    route("POST", f"/{channel.name}/price")(lambda ctx: run(ctx, False))


def _mms_shape(data: dict[str, Any]) -> dict[str, Any]:
    for m in data["messages"]:
        for k in ("from_email", "is_shared_system_number", "carrier"):
            m.pop(k, None)
    del data["_currency"], data["blocked_count"]
    return data


_register_channel(SMS, (), lambda d: d)
_register_channel(MMS, ("media_file",), _mms_shape)
_register_channel(VOICE, (), lambda d: d)
_register_channel(FAX, ("file_url",), lambda d: d)


# --- email -----------------------------------------------------------------------------------


def _email(ctx: Ctx, record: bool) -> Any:
    """Send (or only price) one transactional email from an allowed, verified address."""
    body = ctx.obj()
    sender = body.get("from") or {}
    address = ctx.store.table("email-addresses", "email_address_id").get(sender.get("email_address_id"))
    if address is None or not address["verified"]:
        raise bad_request({"from.email_address_id": "The from email address must be an allowed, verified address."})
    to = [t for t in body.get("to") or [] if isinstance(t, dict)]
    billable = [t for t in to if str(t.get("email", "")).lower() not in messaging.TEST_EMAILS]
    price = Decimal(messaging.EMAIL_PRICE) * len(billable)
    if billable and (ctx.principal and ctx.principal.no_credit or price > _balance(ctx.store)):
        raise ApiError(400, "Insufficient credit.", {"balance": "INSUFFICIENT_CREDIT"})
    when = _schedule(ctx, body.get("schedule"))
    row = {
        "user_id": USER_ID, "subaccount_id": ctx.principal.subaccount_id if ctx.principal else MAIN_SUBACCOUNT_ID,
        "from_email_address_id": address["email_address_id"], "from_name": sender.get("name", ""), "to": to,
        "cc": body.get("cc") or [], "bcc": body.get("bcc") or [], "subject": body.get("subject", ""),
        "body": body.get("body", ""), "body_plain_text": str(body.get("body", "")), "schedule": when or ctx.now,
        "message_id": fake.uuid_upper(ctx.rng), "status": "Scheduled" if when else "WaitApproval", "status_text": "",
        "soft_bounce_count": 0, "hard_bounce_count": 0, "price": messaging.money(price), "date_added": ctx.now,
        "custom_string": body.get("custom_string", ""), "_attachments": [], "_currency": CURRENCY,
    }
    if record:
        ctx.store.table("email-history", "message_id").add(row)
        _charge(ctx.store, price)
    return row


route("POST", "/email/send")(lambda ctx: _email(ctx, True))


@route("POST", "/email/price")
def price_email(ctx: Ctx) -> Any:
    """The email priced, not sent; the spec types this answer as a page of transactional emails."""
    return list_rows(ctx, [_email(ctx, False)], None)


# --- post ------------------------------------------------------------------------------------


_ADDRESS_FIELDS = ("address_name", "address_line_1", "address_line_2", "address_city", "address_state",
                   "address_postal_code", "address_country")


def _post(ctx: Ctx, kind: str, record: bool) -> dict[str, Any]:
    body = ctx.obj()
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        raise bad_request({"recipients": "recipients field is required."})
    unit = Decimal(messaging.LETTER_PRICE if kind == "letters" else messaging.POSTCARD_PRICE)
    addresses = ctx.store.table("return-addresses", "return_address_id")
    out, total = [], Decimal(0)
    for r in recipients:
        address = {k: text(r.get(k)) for k in _ADDRESS_FIELDS}
        if addresses.get(r.get("return_address_id")) is None:
            out.append({**r, **address, "return_address_id": _int0(r.get("return_address_id")),
                        "message_id": fake.uuid_upper(ctx.rng), "status": "INVALID_RETURN_ADDRESS"})
            continue
        free = str(r.get("address_postal_code", "")) in messaging.TEST_POSTCODES
        price = Decimal(0) if free else unit
        when = _schedule(ctx, r.get("schedule"))
        row = {
            "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID, "message_id": fake.uuid_upper(ctx.rng),
            **address,
            "return_address_id": int(r["return_address_id"]), "schedule": when or ctx.now, "source": str(body.get("source", "rest.v3")),
            "date_added": ctx.now, "status": "Scheduled" if when else "Queued",
            "_file_url": str(body.get("file_url") or (body.get("file_urls") or [""])[0]),
            "_return_address": addresses.get(r["return_address_id"]), "_api_username": ctx.principal.username if ctx.principal else "",
        }
        if kind == "letters":
            row.update(custom_string=str(r.get("custom_string", "")), colour=int(body.get("colour") or 0),
                       duplex=int(body.get("duplex") or 0), post_pages=1, post_price=messaging.money(price, 6),
                       priority_post=int(body.get("priority_post") or 0))
        else:
            row.update(letter_file_name="postcard.pdf", ip_address="127.0.0.1", post_price=int(price), priority=0)
        out.append(row)
        total += price
        if record:
            ctx.store.table(f"{kind}-history", "message_id").add(row)
    if record:
        _charge(ctx.store, total)
    queued = sum(1 for r in out if r.get("status") != "INVALID_RETURN_ADDRESS")
    if kind == "letters" and record:
        return {"recipients": out, "_currency": CURRENCY}
    if kind == "letters":
        return {"total_price": float(total), "total_cost": float(total), "recipients": out}
    return {"total_price": float(total), "total_count": len(out), "queued_count": queued, "recipients": out,
            "_currency": CURRENCY}


for _kind in ("letters", "postcards"):
    route("POST", f"/post/{_kind}/send")(partial(_post, kind=_kind, record=True))
    route("POST", f"/post/{_kind}/price")(partial(_post, kind=_kind, record=False))


# --- cancel ----------------------------------------------------------------------------------


def _cancel(ctx: Ctx, table: str, message_id: str) -> Row:
    """Cancel one scheduled message and refund it."""
    row = ctx.store.table(table, "message_id").get(message_id)
    if row is None:
        raise ApiError(404, "Message not found.")
    if row["status"] != "Scheduled":
        raise bad_request({"message_id": "Only scheduled messages can be cancelled."})
    row["status"] = "Cancelled"
    price = row.get("message_price", row.get("post_price", "0"))
    if table == "postcards-history" and price:  # post_price is a whole number there; the send charged the unit price
        price = messaging.POSTCARD_PRICE
    _charge(ctx.store, -Decimal(str(price)))
    return row


def _cancel_all(ctx: Ctx, table: str, noun: str) -> Reply:
    scheduled = [r for r in ctx.store.table(table, "message_id") if r["status"] == "Scheduled"]
    for row in scheduled:
        _cancel(ctx, table, row["message_id"])
    return Reply({"count": len(scheduled)}, f"{len(scheduled)} {noun} have been cancelled.")


def _cancel_one(path: str, table: str, data: Any) -> None:
    """PUT <path> cancels one scheduled message; ``data`` is what ClickSend answers with."""

    @route("PUT", path)
    def cancel(ctx: Ctx) -> Any:
        _cancel(ctx, table, ctx.params["message_id"])
        return data


_cancel_one("/sms/{message_id}/cancel", "sms-history", None)
_cancel_one("/voice/{message_id}/cancel", "voice-history", [])
_cancel_one("/post/letters/{message_id}/cancel", "letters-history", True)
_cancel_one("/post/postcards/{message_id}/cancel", "postcards-history", True)
route("PUT", "/sms/cancel-all")(lambda ctx: _cancel_all(ctx, "sms-history", "sms messages"))
route("PUT", "/voice/cancel-all")(lambda ctx: _cancel_all(ctx, "voice-history", "messages"))


# --- receipts and inbound --------------------------------------------------------------------


def _polled(ctx: Ctx, rules: str) -> bool:
    """Receipts and replies are only listed while an enabled POLL rule catches them (NOTES.md §7)."""
    return any(r["action"] == "POLL" and r["enabled"] for r in ctx.store.tables.get(rules, ()))


def _unread(ctx: Ctx, table: str, rules: str) -> list[Row]:
    """Unread rows, while a POLL rule is enabled, without those no POLL rule caught on arrival."""
    if not _polled(ctx, rules):
        return []
    read, unpolled = ctx.store.read_set(table), ctx.store.unpolled_set(table)
    rows = ctx.store.table(table, "message_id").rows()
    if not (read or unpolled):
        return rows
    return [r for r in rows if (m := r["message_id"]) not in read and m not in unpolled]


def _mark_read(ctx: Ctx, table: str) -> dict[str, Any]:
    """Mark everything (or everything up to ``date_before``) read."""
    before = ctx.obj().get("date_before")
    limit = _int_or_none(before) if before not in (None, "") else None
    read = ctx.store.read_set(table)
    read.update(r["message_id"] for r in ctx.store.table(table, "message_id")
                if limit is None or (_int_or_none(r["timestamp"]) or 0) <= limit)
    return {}


def _list_receipts(ctx: Ctx, channel: str) -> dict[str, Any]:
    return list_rows(ctx, _unread(ctx, f"{channel}-receipts", f"{channel}-receipt-rules"), "timestamp")


for _name in ("sms", "voice", "fax"):
    route("GET", f"/{_name}/receipts")(partial(_list_receipts, channel=_name))
route("PUT", "/sms/receipts-read")(lambda ctx: _mark_read(ctx, "sms-receipts"))
route("GET", "/sms/inbound")(lambda ctx: list_rows(ctx, _unread(ctx, "inbound-sms", "sms-inbound-rules"), "timestamp"))
route("PUT", "/sms/inbound-read")(lambda ctx: _mark_read(ctx, "inbound-sms"))


@route("PUT", "/sms/inbound-read/{message_id}")
def mark_inbound_read(ctx: Ctx) -> Any:
    if ctx.store.table("inbound-sms", "message_id").get(ctx.params["message_id"]) is None:
        raise ApiError(404, "Inbound record not found.")
    ctx.store.read_set("inbound-sms").add(ctx.params["message_id"])
    return 1


POLL_URL = "poll"  # the test endpoints' url for "send it to ClickSend, to be polled" (spec)


@route("POST", "/sms/inbound")
def test_inbound(ctx: Ctx) -> Any:
    """Send a made-up inbound SMS to ``url`` (as ``webhook_type``); ``url`` "poll" stores it to be
    listed instead. The account's own rules are not involved."""
    body = ctx.obj()
    row = events.sample_inbound_row(ctx.rng, ctx.now)
    url = text(body.get("url")).strip()
    if url.lower() == POLL_URL:
        events.store_polled(ctx.store, events.INBOUND, row)
    else:
        sub = ctx.principal.subaccount_id if ctx.principal else MAIN_SUBACCOUNT_ID
        events.push_to(ctx.store, "inbound", row["message_id"], url, text(body.get("webhook_type")),
                       events.inbound_payload(row, sub))
    return {k: v for k, v in row.items() if k != "timestamp"}  # the spec's example has timestamp_send only


@route("POST", "/sms/receipts")
def test_receipt(ctx: Ctx) -> Any:
    """Send a made-up delivery receipt to ``url`` (form fields); ``url`` "poll" stores it to be
    listed by GET /sms/receipts instead (spec)."""
    body = ctx.obj()
    sub = ctx.principal.subaccount_id if ctx.principal else MAIN_SUBACCOUNT_ID
    receipt = events.sms_receipt_row(fake.uuid_upper(ctx.rng), ctx.now, ctx.now, subaccount_id=sub)
    url = text(body.get("url")).strip()
    if url.lower() == POLL_URL:
        events.store_polled(ctx.store, events.RECEIPTS, receipt)
    else:
        events.push_to(ctx.store, "receipt", receipt["message_id"], url, "post", events.receipt_payload(receipt))
    return receipt


@route("GET", "/sms/inbound/{original_message_id}")
def view_reply(ctx: Ctx) -> Any:
    wanted = ctx.params["original_message_id"]
    for row in ctx.store.table("inbound-sms", "message_id"):
        if row["original_message_id"] == wanted:
            return row
    raise ApiError(404, "Inbound record not found.")


# --- exports ---------------------------------------------------------------------------------


def _export(ctx: Ctx) -> dict[str, str]:
    filename = quote(ctx.query.get("filename") or "export.csv", safe="")
    return {"url": f"https://rest.clicksend.com/files/{fake.uuid_upper(ctx.rng)}?filename={filename}"}


for _path in ("/sms/history/export", "/mms/history/export", "/voice/history/export", "/email/history/export",
              "/email-campaigns/{email_campaign_id}/history/export", "/post/letters/history/export",
              "/post/postcards/history/export"):
    route("GET", _path)(_export)
