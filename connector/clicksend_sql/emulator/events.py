"""Arrivals: an inbound SMS or a delivery receipt reaches the account (NOTES.md §7).

On arrival a message is stored (``inbound-sms`` or ``sms-receipts``), listed by
``GET /sms/inbound`` / ``GET /sms/receipts`` until marked read if an enabled ``POLL`` rule caught
it, and pushed to the URL of every enabled ``URL`` rule that matches it (:mod:`.delivery` sends
them once the request that caused the arrival is answered). What is evidence and what is
assumed here is listed in the emulator README ("Deliveries").
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from typing import Any

from . import fake
from .delivery import Delivery, webhook_type
from .messaging import keyword
from .resources import MAIN_SUBACCOUNT_ID, USER_ID
from .state import Row, Store

INBOUND = "inbound-sms"
RECEIPTS = "sms-receipts"
INBOUND_RULES = "sms-inbound-rules"
RECEIPT_RULES = "sms-receipt-rules"

# message_search_type (spec, NOTES.md §7): 0 any message, 1 starts with, 2 contains, 3 does not contain
SEARCH_ANY, SEARCH_STARTS, SEARCH_CONTAINS, SEARCH_NOT_CONTAINS = 0, 1, 2, 3

# Delivery report status codes (NOTES.md §6) -> (status_text, SMS history status).
RECEIPT_CODES: dict[int, tuple[str, str]] = {
    200: ("Success: Message sent to network.", "Sent"),
    201: ("Success: Message received on handset.", "Completed"),
    300: ("Failed: Temporary failure, retrying.", "Failed"),
    301: ("Failed: Permanent failure, number unreachable.", "Failed"),
    302: ("Failed: Supplier routing issue.", "Failed"),
}
DELIVERED = 201


def enabled(rule: Row) -> bool:
    return str(rule.get("enabled", "")).strip().lower() in ("1", "true")


def _digits(number: Any) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", str(number or "")).lower()


def inbound_rule_matches(rule: Row, message: Row) -> bool:
    """Whether an inbound rule catches ``message``: its dedicated number is ``*`` or the number
    the message was sent to (``+`` and spacing ignored), and its search (case-insensitive) holds."""
    number = str(rule.get("dedicated_number") or "").strip()
    if number != "*" and (not number or _digits(number) != _digits(message.get("to"))):
        return False
    kind = _int(rule.get("message_search_type"), SEARCH_ANY)
    term = str(rule.get("message_search_term") or "").strip().lower()
    body = str(message.get("body") or "").lower()
    if kind == SEARCH_STARTS:
        return body.lstrip().startswith(term)
    if kind == SEARCH_CONTAINS:
        return term in body
    if kind == SEARCH_NOT_CONTAINS:
        return term not in body
    return True  # 0 and anything undocumented: any message


def _int(raw: Any, default: int) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return default


def _rules(store: Store, table: str) -> list[Row]:
    return [r for r in store.tables.get(table, ()) if enabled(r)]


def _arrive(store: Store, table: str, rules: list[Row], row: Row, message_id: str) -> None:
    """List the message while unread if a POLL rule caught it on arrival; a new row for an id
    already stored (a later receipt of the same message) replaces it and is unread again."""
    if not any(r.get("action") == "POLL" for r in rules):
        store.unpolled_set(table).add(message_id)
    else:
        store.unpolled_set(table).discard(message_id)
    store.read_set(table).discard(message_id)
    stored = store.table(table, "message_id")
    stored.remove(message_id)
    stored.add(row)


def store_polled(store: Store, table: str, row: Row) -> None:
    """Store a test message sent to the url "poll": listed (while unread) like one a POLL rule caught."""
    _arrive(store, table, [{"action": "POLL"}], row, row["message_id"])


def _push(store: Store, event: str, message_id: str, rules: list[Row], payload: Callable[[], dict[str, Any]],
          id_field: str, *, typed: bool) -> list[Delivery]:
    """A delivery per URL rule (``payload`` is only built when there is one: sends are a hot path)."""
    hooks = [rule for rule in rules if rule.get("action") == "URL"]
    fields = payload() if hooks else {}
    out = [Delivery(store.next_id("deliveries"), event, message_id, str(rule.get("action_address") or ""),
                    webhook_type(rule.get("webhook_type")) if typed else "post", dict(fields),
                    rule_id=rule.get(id_field)) for rule in hooks]
    store.outbox.extend(out)
    return out


def push_to(store: Store, event: str, message_id: str, url: str, kind: str, payload: dict[str, Any]) -> Delivery:
    """A delivery to a URL a test endpoint was given (no rule involved)."""
    delivery = Delivery(store.next_id("deliveries"), event, message_id, url, webhook_type(kind), dict(payload))
    store.outbox.append(delivery)
    return delivery


# --- inbound SMS ------------------------------------------------------------------------------


def inbound_row(message_id: str, now: int, *, sender: str, to: str, body: str, original_body: str = "",
                original_message_id: str = "", custom_string: str = "") -> Row:
    """An ``inbound_sms`` row as ``GET /sms/inbound`` lists it. It carries both ``timestamp`` (the
    spec's schema) and ``timestamp_send`` (what the spec's recorded-looking 2024 example has
    instead): see the README."""
    return {"timestamp": now, "timestamp_send": now, "from": sender, "body": body, "original_body": original_body,
            "original_message_id": original_message_id, "to": to, "custom_string": custom_string,
            "message_id": message_id, "_keyword": keyword(body)}


def inbound_payload(row: Row, subaccount_id: int = MAIN_SUBACCOUNT_ID) -> dict[str, Any]:
    """The fields an inbound webhook carries, in the types the ``json`` webhook sends them: the
    Power Automate trigger's (timestamp a string, user_id and subaccount_id integers)."""
    return {"timestamp": str(row["timestamp"]), "from": row["from"], "body": row["body"],
            "original_body": row["original_body"], "original_message_id": row["original_message_id"],
            "to": row["to"], "custom_string": row["custom_string"], "user_id": USER_ID,
            "subaccount_id": subaccount_id, "message_id": row["message_id"], "_keyword": row["_keyword"]}


def receive_inbound(store: Store, row: Row, subaccount_id: int = MAIN_SUBACCOUNT_ID) -> list[Delivery]:
    """Store an arrived inbound SMS and push it to the matching URL rules."""
    rules = [r for r in _rules(store, INBOUND_RULES) if inbound_rule_matches(r, row)]
    _arrive(store, INBOUND, rules, row, row["message_id"])
    return _push(store, "inbound", row["message_id"], rules, lambda: inbound_payload(row, subaccount_id),
                 "inbound_rule_id", typed=True)


def replied_message(store: Store, sender: str, to: str) -> Row | None:
    """The newest SMS sent to ``sender`` from ``to``: the message an unlinked reply answers."""
    for sent in reversed(store.table("sms-history", "message_id").rows()):
        if _digits(sent.get("to")) == _digits(sender) and (not to or _digits(sent.get("from")) == _digits(to)):
            return sent
    return None


def sample_inbound_row(rng: random.Random, now: int) -> Row:
    """The message ``POST /sms/inbound`` sends: shaped like the spec's example of it."""
    def code() -> str:
        return "".join(rng.choices(string.ascii_uppercase + string.digits, k=10))
    return inbound_row(fake.uuid_upper(rng), now, sender=fake.mobile(rng, "AU"), to="+61411111111",
                       body=f"This is a test incoming SMS. {code()}.", original_body=f"This is the original message. {code()}.",
                       original_message_id=fake.uuid_upper(rng), custom_string="Test custom string ")


# --- delivery receipts ------------------------------------------------------------------------


def receipt_texts(status_code: int) -> tuple[str, str]:
    """(status_text, SMS history status) of a delivery report code."""
    if status_code in RECEIPT_CODES:
        return RECEIPT_CODES[status_code]
    return ("Success: Message received on handset.", "Completed") if status_code < 300 else ("Failed.", "Failed")


def receipt_payload(receipt: Row, user_id: int = USER_ID) -> dict[str, Any]:
    """The fields a receipt webhook carries (NOTES.md §7); ``status`` is Delivered or Undelivered
    (the spec's voice receipt push table); blanks for no error."""
    code = _int(receipt.get("status_code"), DELIVERED)
    error_code = receipt.get("error_code")
    return {"timestamp_send": str(receipt["timestamp_send"]), "timestamp": str(receipt["timestamp"]),
            "message_id": receipt["message_id"], "status": "Delivered" if code == DELIVERED else "Undelivered",
            "status_code": str(code), "status_text": str(receipt.get("status_text") or ""),
            "error_code": "" if error_code in (None, "", 0, "0") else str(error_code),
            "error_text": str(receipt.get("error_text") or ""), "custom_string": str(receipt.get("custom_string") or ""),
            "user_id": user_id, "subaccount_id": _int(receipt.get("subaccount_id"), MAIN_SUBACCOUNT_ID),
            "message_type": str(receipt.get("message_type") or "sms")}


def sms_receipt_row(message_id: str, sent_at: int, now: int, *, status_code: int = DELIVERED, status_text: str = "",
                    error_code: Any = 0, error_text: str = "", custom_string: str = "",
                    subaccount_id: int = MAIN_SUBACCOUNT_ID) -> Row:
    """An ``sms_receipt`` row, typed like the seeded ones (resources.sms_receipt)."""
    return {"timestamp_send": sent_at, "timestamp": now, "message_id": message_id, "status_code": status_code,
            "status_text": status_text or receipt_texts(status_code)[0], "error_code": error_code,
            "error_text": error_text, "custom_string": custom_string, "subaccount_id": subaccount_id,
            "message_type": "sms", "digits": 0}


def receive_receipt(store: Store, receipt: Row) -> list[Delivery]:
    """Store an arrived SMS delivery receipt, bring its message's history row up to date, and push
    it to the URL receipt rules."""
    code = _int(receipt.get("status_code"), DELIVERED)
    sent = store.table("sms-history", "message_id").get(receipt["message_id"])
    if sent is not None:
        failed = code >= 300
        sent.update(status=receipt_texts(code)[1], status_code=str(code), status_text=receipt["status_text"],
                    error_code=str(receipt.get("error_code") or code) if failed else "",
                    error_text=str(receipt.get("error_text") or "") if failed else "")
    # every enabled receipt rule catches every report: match_type 0 is "all reports", and the other
    # values' filters are not documented (assumed to catch all too)
    rules = _rules(store, RECEIPT_RULES)
    _arrive(store, RECEIPTS, rules, receipt, receipt["message_id"])
    return _push(store, "receipt", receipt["message_id"], rules, lambda: receipt_payload(receipt), "receipt_rule_id",
                 typed=False)


# --- test-only arrivals (POST /_emulator/inbound, /_emulator/receipts) ------------------------


class Refused(Exception):
    """An admin request the emulator cannot act on: ``status`` (400 or 404) and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _text(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise Refused(400, f"{name} must be a string")
    return str(value)


def admin_inbound(store: Store, rng: random.Random, body: Any, now: int) -> tuple[Row, list[Delivery]]:
    """An inbound SMS as ``POST /_emulator/inbound`` describes it (see the README): a reply to
    ``original_message_id`` (a sent message: its recipient, sender, body and custom_string are the
    defaults), else to the newest message sent to ``from`` (from ``to``, when given), else a
    message with no original."""
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    original_id = _text(body, "original_message_id")
    sender, to = _text(body, "from"), _text(body, "to")
    sent = store.table("sms-history", "message_id").get(original_id) if original_id else None
    if sent is None and not original_id and sender:
        sent = replied_message(store, sender, to)
    if sent is not None:
        sender, to = sender or str(sent["to"]), to or str(sent["from"])
    if not sender or not to:
        raise Refused(400, "give from and to (or the original_message_id of a sent SMS)")
    if not isinstance(body.get("body"), str):
        raise Refused(400, "give body, the text of the message")
    timestamp = body.get("timestamp", now)
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise Refused(400, "timestamp must be a Unix time in seconds")
    message_id = _text(body, "message_id") or fake.uuid_upper(rng)
    row = inbound_row(message_id, timestamp, sender=sender, to=to, body=body["body"],
                      original_body=_text(body, "original_body", str(sent["body"]) if sent else ""),
                      original_message_id=str(sent["message_id"]) if sent else original_id,
                      custom_string=_text(body, "custom_string", str(sent["custom_string"]) if sent else ""))
    sub = _int(sent.get("subaccount_id"), MAIN_SUBACCOUNT_ID) if sent else MAIN_SUBACCOUNT_ID
    return row, receive_inbound(store, row, sub)


def admin_receipt(store: Store, body: Any, now: int) -> tuple[Row, list[Delivery]]:
    """A delivery receipt for a sent SMS as ``POST /_emulator/receipts`` describes it (README)."""
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    message_id = _text(body, "message_id")
    sent = store.table("sms-history", "message_id").get(message_id) if message_id else None
    if sent is None:
        raise Refused(404 if message_id else 400, f"no sent SMS has message_id {message_id!r}")
    code = _int(body.get("status_code", DELIVERED), -1)
    if not 100 <= code <= 999:
        raise Refused(400, "status_code must be a delivery report code such as 201 or 301")
    timestamp = body.get("timestamp", now)
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise Refused(400, "timestamp must be a Unix time in seconds")
    failed = code >= 300
    error_code: Any = _int(body.get("error_code"), code if failed else 0)
    receipt = sms_receipt_row(message_id, _int(sent.get("date"), now), timestamp, status_code=code,
                              status_text=_text(body, "status_text"), error_code=error_code,
                              error_text=_text(body, "error_text", "Number unreachable." if failed else ""),
                              custom_string=str(sent.get("custom_string") or ""),
                              subaccount_id=_int(sent.get("subaccount_id"), MAIN_SUBACCOUNT_ID))
    return receipt, receive_receipt(store, receipt)
