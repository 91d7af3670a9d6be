"""The emulated resources: how each one's rows look, where it lives, and how it is seeded.

Each :class:`Resource` names its collection route, id, date field and a generator that makes one
realistic row with the spec model's field names and JSON types. The generic CRUD handlers, the
seeder and the "create" path (a blank of the generated row overlaid with the request body) all
work from these declarations.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import fake, messaging
from .state import Row, Store

USER_ID = 48_213
MAIN_SUBACCOUNT_ID = 59_871


@dataclass
class Gen:
    """What a row generator may use."""

    rng: random.Random
    store: Store
    ts: int  # the row's creation time
    end: int  # the end of the seeded history: no row was changed after it (a cursor must not run ahead of the clock)


@dataclass(frozen=True)
class Resource:
    """One emulated resource (see the module docstring)."""

    key: str  # table name and --size name
    path: str  # collection route
    id_field: str
    make: Callable[[Gen], Row]
    size: int  # seeded rows by default
    not_found: str
    item_param: str | None = None  # the id's name in item routes; None: no item routes
    date_field: str | None = "date_added"
    methods: str = "LCRUD"  # List, Create, Read, Update, Delete
    id_start: int = 1  # first integer id; 0 for ids the generator sets itself
    deleted: Any = field(default_factory=list)  # the data of a successful DELETE


def _goes_at(g: Gen, status: str) -> int:
    """When a message or campaign goes: when it was made, or, while it is still ``Scheduled``,
    in the two weeks after the end of the history (a schedule in the past would have gone)."""
    return g.end + g.rng.randrange(fake.DAY, 14 * fake.DAY) if status == "Scheduled" else g.ts


def _pick_list_id(g: Gen) -> int:
    ids = [r["list_id"] for r in g.store.table("lists", "list_id")]
    return g.rng.choice(ids) if ids else 0


def _sender(g: Gen) -> str:
    return g.rng.choice(("ClickSend", "+61411000123", "AcmeCo", "+61480012345", "Harbour"))


def contact_list(g: Gen) -> Row:
    name = g.rng.choice(("Customers", "VIP", "Newsletter", "Staff", "Leads", "Events", "Opt-outs"))
    return {
        "list_id": 0, "list_name": f"{name} {g.rng.randrange(2020, 2026)}",
        "list_email_id": f"{''.join(g.rng.choices('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', k=16))}",
        "_contacts_count": 0, "_import_in_progress": 0, "_optout_in_progress": 0,
    }


def contact(g: Gen) -> Row:
    rng = g.rng
    first, last = fake.person(rng)
    region = fake.country(rng)
    addr = fake.address(rng)
    return {
        "contact_id": 0, "list_id": 0, "phone_number": fake.mobile(rng, region),
        "first_name": first, "last_name": last,
        "custom_1": rng.choice(("", "Gold", "Silver", "Bronze")), "custom_2": "", "custom_3": "", "custom_4": "",
        "date_added": g.ts, "date_updated": fake.later(g.ts, rng.choice((0, 0, rng.randrange(1, 30 * fake.DAY))), g.end),
        "fax_number": "", "organization_name": rng.choice(("", rng.choice(fake.COMPANIES))),
        "email": fake.email_for(first, last, rng), **addr, "address_country": region, "_list_name": "",
    }


def _history_common(g: Gen, region: str) -> Row:
    first, last = fake.person(g.rng)
    return {
        "to": fake.mobile(g.rng, region), "from": _sender(g), "message_id": fake.uuid_upper(g.rng),
        "custom_string": g.rng.choice(("", "", f"ref-{g.rng.randrange(10000)}")),
        "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID, "country": region,
        "carrier": g.rng.choice(fake.CARRIERS[region]), "first_name": first, "last_name": last,
        "_api_username": "demo",
    }


SMS_OUTCOMES = (  # (status, status_code, status_text, weight)
    ("Completed", "201", "Success: Message received on handset.", 85),
    ("Sent", "200", "Success: Message sent to network.", 6),
    ("Failed", "301", "Failed: Permanent failure, number unreachable.", 5),
    ("Cancelled", "", "Cancelled by user.", 2),
    ("Scheduled", "", "Scheduled for delivery.", 2),
)


def sms_history(g: Gen) -> Row:
    rng = g.rng
    region = fake.country(rng)
    body = fake.sms_body(rng)
    status, code, text, _ = rng.choices(SMS_OUTCOMES, [o[3] for o in SMS_OUTCOMES])[0]
    parts = messaging.sms_parts(body)
    return {
        "direction": "out", "date": g.ts, **_history_common(g, region), "body": body, "status": status,
        "schedule": str(_goes_at(g, status)), "status_code": code, "status_text": text,
        "error_code": "" if code != "301" else "301", "error_text": "" if code != "301" else "Number unreachable.",
        "message_parts": parts, "message_price": messaging.money(messaging.sms_unit_price(region) * parts),
        "from_email": "", "list_id": str(_pick_list_id(g)) if rng.random() < 0.3 else "",
        "contact_id": "",
    }


def mms_history(g: Gen) -> Row:
    row = sms_history(g)
    del row["date"]
    row.update({
        "date": str(g.ts), "date_added": g.ts, "subject": "Special offer", "priority": 0,
        "_media_file_url": f"https://rest.clicksend.com/files/{fake.uuid_upper(g.rng)}.jpg",
        "message_parts": "1", "message_price": messaging.MMS_PRICE, "contact_id": 0,
    })
    return row


def voice_history(g: Gen) -> Row:
    rng = g.rng
    region = fake.country(rng)
    common = _history_common(g, region)
    for k in ("first_name", "last_name"):
        del common[k]
    return {
        "date": str(g.ts), "date_added": g.ts, "list_id": "", "to_type": "mobile",
        "body": "Hello, this is a reminder about your appointment tomorrow.", "lang": "en-au",
        "voice": rng.choice(("female", "male")), "schedule": str(g.ts), "message_parts": 1,
        "message_price": messaging.VOICE_PRICE, "require_input": 0, "machine_detection": 0,
        "machine_detected": 0, "digits": "", "status_code": "201", "status_text": "Success: Call answered.",
        "status": "Completed", **common,
    }


def email_history(g: Gen) -> Row:
    first, last = fake.person(g.rng)
    return {
        "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID, "from_email_address_id": 1,
        "from_name": "Acme Support", "to": [{"email": fake.email_for(first, last, g.rng), "name": f"{first} {last}"}],
        "cc": [], "bcc": [], "subject": "Your receipt", "body": "<p>Thanks for your order.</p>",
        "body_plain_text": "Thanks for your order.", "schedule": g.ts, "message_id": fake.uuid_upper(g.rng),
        "status": g.rng.choice(("Sent", "Sent", "Sent", "WaitApproval", "Queued:WaitSend")), "status_text": "",
        "soft_bounce_count": 0, "hard_bounce_count": 0, "price": messaging.EMAIL_PRICE, "date_added": g.ts,
        "custom_string": "", "_attachments": [], "_currency": CURRENCY,
    }


def fax_history(g: Gen) -> Row:
    region = "AU"
    return {
        "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID, "list_id": 0,
        "message_id": fake.uuid_upper(g.rng), "to": "+6126" + str(g.rng.randrange(1000000, 9999999)),
        "from": "+61261234567", "carrier": "Telstra", "country": region, "custom_string": "",
        "schedule": str(g.ts), "message_pages": g.rng.randrange(1, 6), "message_price": "0.2000",
        "status_code": "201", "status_text": "Success: Fax received.", "date_added": g.ts, "from_email": "",
        "_file_url": f"https://rest.clicksend.com/files/{fake.uuid_upper(g.rng)}.pdf",
        "status": g.rng.choice(("Sent", "Sent", "Queued")),
    }


def _recipient(g: Gen) -> Row:
    first, last = fake.person(g.rng)
    return {
        "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID, "message_id": fake.uuid_upper(g.rng),
        "address_name": f"{first} {last}", **fake.address(g.rng), "return_address_id": 1,
        "schedule": g.ts, "source": "rest.v3", "date_added": g.ts,
        "status": g.rng.choice(("Sent", "Queued", "Queued:Stamped")),
        "_file_url": f"https://rest.clicksend.com/files/{fake.uuid_upper(g.rng)}.pdf",
        "_return_address": RETURN_ADDRESS, "_api_username": "demo",
    }


def letter(g: Gen) -> Row:
    return {**_recipient(g), "custom_string": "", "colour": 0, "duplex": 0, "post_pages": 1,
            "post_price": messaging.LETTER_PRICE, "priority_post": 0}


def postcard(g: Gen) -> Row:
    return {**_recipient(g), "letter_file_name": "postcard.pdf", "ip_address": "203.0.113.7",
            "post_price": 2, "priority": 0}


def sms_receipt(g: Gen) -> Row:
    return {
        "timestamp_send": g.ts - 5, "timestamp": g.ts, "message_id": fake.uuid_upper(g.rng),
        "status_code": 201, "status_text": "Success: Message received on handset.", "error_code": 0,
        "error_text": "", "custom_string": "", "subaccount_id": MAIN_SUBACCOUNT_ID, "message_type": "sms", "digits": 0,
    }


def voice_receipt(g: Gen) -> Row:
    return {
        "timestamp_send": str(g.ts - 30), "timestamp": str(g.ts), "message_id": fake.uuid_upper(g.rng),
        "status_code": "201", "status_text": "Success: Call answered.", "error_code": "", "error_text": "",
        "custom_string": "", "message_type": "voice", "digits": "",
    }


def fax_receipt(g: Gen) -> Row:
    return {
        "timestamp_send": str(g.ts - 60), "timestamp": str(g.ts), "message_id": fake.uuid_upper(g.rng),
        "status_code": "201", "status_text": "Success: Fax received.", "error_code": "", "error_text": "",
        "custom_string": "", "subaccount_id": MAIN_SUBACCOUNT_ID, "message_type": "fax",
    }


def inbound_sms(g: Gen) -> Row:
    """A reply, with ``timestamp`` and ``timestamp_send`` both (see events.inbound_row)."""
    region = fake.country(g.rng)
    body = g.rng.choice(fake.REPLY_BODIES)
    return {
        "timestamp": g.ts, "timestamp_send": g.ts, "from": fake.mobile(g.rng, region), "body": body,
        "original_body": fake.sms_body(g.rng), "original_message_id": fake.uuid_upper(g.rng),
        "to": "+61480012345", "custom_string": "", "message_id": fake.uuid_upper(g.rng),
        "_keyword": messaging.keyword(body),
    }


def sms_template(g: Gen) -> Row:
    return {"template_id": 0, "body": fake.sms_body(g.rng),
            "template_name": g.rng.choice(("Reminder", "Promo", "Welcome", "Follow-up", "OTP")) + f" {g.rng.randrange(100)}"}


def sms_campaign(g: Gen) -> Row:
    status = g.rng.choice(("Sent", "Sent", "Scheduled", "Cancelled"))
    return {
        "sms_campaign_id": 0, "name": g.rng.choice(("Spring sale", "Black Friday", "Reminder blast", "Survey")),
        "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID, "list_id": _pick_list_id(g), "from": _sender(g),
        "body": fake.sms_body(g.rng) + " Reply STOP to opt out.", "schedule": _goes_at(g, status),
        "status": status, "date_added": g.ts, "custom_string": "",
        "url_to_shorten": "", "unsubscribe_link": 0, "source": "rest.v3", "senders": [],
        "_total_count": g.rng.randrange(10, 2000), "_list_name": "",
    }


def mms_campaign(g: Gen) -> Row:
    row = sms_campaign(g)
    for k in ("sms_campaign_id", "custom_string", "url_to_shorten", "unsubscribe_link", "source", "senders"):
        del row[k]
    return {"mms_campaign_id": 0, **row, "subject": "New arrivals", "file_name": "promo.jpg",
            "_media_file_url": f"https://rest.clicksend.com/files/{fake.uuid_upper(g.rng)}.jpg"}


def email_campaign(g: Gen) -> Row:
    status = g.rng.choice(("Sent", "Sent", "Scheduled"))
    return {
        "email_campaign_id": 0, "name": g.rng.choice(("Newsletter", "Product launch", "Winter promo")),
        "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID, "subject": "News from Acme", "list_id": _pick_list_id(g),
        "from_email_address_id": 1, "from_name": "Acme", "template_id": 0, "schedule": str(_goes_at(g, status)),
        "status": status, "date_added": str(g.ts), "custom_string": "",
        "send_count": g.rng.randrange(50, 500), "open_count": g.rng.randrange(0, 50), "click_count": g.rng.randrange(0, 20),
        "hard_bounce_count": 0, "soft_bounce_count": g.rng.randrange(0, 3), "abuse_count": 0, "unsubscribe_count": 0,
        "body": "<p>Hello!</p>", "body_plain_text": "Hello!",
    }


def email_campaign_history(g: Gen) -> Row:
    campaigns = [r["email_campaign_id"] for r in g.store.table("email-campaigns", "email_campaign_id")]
    first, last = fake.person(g.rng)
    return {
        "email_campaign_id": g.rng.choice(campaigns) if campaigns else 0, "from_name": "Acme",
        "from_address": "news@example.com", "to_name": f"{first} {last}", "to_address": fake.email_for(first, last, g.rng),
        "contact_id": g.rng.randrange(1, 5000), "subject": "News from Acme", "message_id": fake.uuid_upper(g.rng),
        "processed_at": str(g.ts), "status": "Sent", "open_count": g.rng.randrange(0, 3), "click_count": 0,
        "hard_bounce_count": 0, "soft_bounce_count": 0,
    }


def subaccount(g: Gen) -> Row:
    first, last = fake.person(g.rng)
    flags = {f"access_{k}": g.rng.choice((0, 1)) for k in (
        "smpp", "users", "billing", "reporting", "contacts", "settings", "sms", "email", "voice", "fax", "post",
        "reseller", "global_sending", "mms")}
    return {
        "subaccount_id": 0, "api_username": f"{first}{last}{g.rng.randrange(100)}".lower(),
        "email": fake.email_for(first, last, g.rng), "phone_number": fake.mobile(g.rng, "AU"),
        "first_name": first, "last_name": last, "api_key": fake.uuid_upper(g.rng), **flags,
        "hide_pricing": 0, "share_campaigns": 1, "notes": "", "is_main": 0, "sign_up_type": "",
    }


RETURN_ADDRESS: Row = {
    "return_address_id": 1, "user_id": USER_ID, "address_name": "Acme Pty Ltd", "address_line_1": "1 George St",
    "address_line_2": "", "address_city": "Sydney", "address_state": "NSW", "address_postal_code": "2000",
    "address_country": "AU",
}

CURRENCY: Row = {
    "currency_name_short": "AUD", "currency_prefix_d": "$", "currency_prefix_c": "c",
    "currency_name_long": "Australian Dollars", "min_recharge_amount": "20.00", "max_recharge_amount": "10000.00",
}


def return_address(g: Gen) -> Row:
    first, last = fake.person(g.rng)
    return {"return_address_id": 0, "user_id": USER_ID, "address_name": f"{first} {last}", **fake.address(g.rng)}


def email_address(g: Gen) -> Row:
    first, last = fake.person(g.rng)
    return {"email_address_id": 0, "email_address": fake.email_for(first, last, g.rng), "verified": 1,
            "date_added": str(g.ts)}


def email_sms_address(g: Gen) -> Row:
    first, last = fake.person(g.rng)
    return {"email_address_id": 0, "email_address": fake.email_for(first, last, g.rng), "from": "",
            "subaccount_id": MAIN_SUBACCOUNT_ID, "from_fax": "", "voice": "", "lang": "", "_subaccount_name": "demo"}


def stripped_string(g: Gen) -> Row:
    return {"rule_id": 0, "strip_string": g.rng.choice(("--", "Sent from my iPhone", "CONFIDENTIAL", "___"))}


def email_template(g: Gen) -> Row:
    return {"template_id": 0, "template_id_master": g.rng.randrange(1, 7),
            "template_name": g.rng.choice(("Welcome", "Invoice", "Newsletter")) + f" {g.rng.randrange(100)}",
            "body": "<html><body><p>Hello {first_name}</p></body></html>"}


def master_template(g: Gen) -> Row:
    return {"template_id_master": 0, "template_name": g.rng.choice(("Simple", "Announcement", "Receipt", "Event")),
            "date_added": g.ts, "body": "<html><body>{content}</body></html>",
            "thumbnail": {"small": "https://rest.clicksend.com/files/thumb-s.png",
                          "large": "https://rest.clicksend.com/files/thumb-l.png"}}


def master_category(g: Gen) -> Row:
    return {"category_id": 0, "category_name": g.rng.choice(("Marketing", "Transactional", "Events", "Holidays"))}


def delivery_issue(g: Gen) -> Row:
    return {
        "issue_id": str(0), "user_id": USER_ID, "message_id": fake.uuid_upper(g.rng), "type": "SMS",
        "description": "Recipient says the message never arrived.", "client_comments": "", "support_comments": "",
        "status": g.rng.choice(("Open", "Resolved")), "date_added": g.ts, "resolved": 0,
        "email_address": "support@example.com",
    }


def dedicated_number(g: Gen) -> Row:
    number = fake.mobile(g.rng, "AU")
    return {
        "dedicated_number": number, "country": "AU", "price": "29.00", "_country_name": "Australia", "notes": "",
        "type": "SMS", "number_type": "longcode", "number_category": "mobile", "number_guid": fake.uuid_lower(g.rng),
        "form_submission_id": "",
        "status": {"value": 1, "label": "REGISTRATION_NOT_REQUIRED", "description": "This number is ready to use.",
                   "name": "Ready to use"},
    }


def transaction(g: Gen) -> Row:
    return {"invoice_number": str(0), "amount": float(g.rng.choice((20, 50, 100, 250))), "currency": "AUD", "date": g.ts}


def referral(g: Gen) -> Row:
    return {"referral_rule_id": 0, "refered_user_id": g.rng.randrange(100000, 999999), "date_referred": g.ts,
            "percentage_referral": 10}


def reseller_account(g: Gen) -> Row:
    first, last = fake.person(g.rng)
    return {
        "user_id": 0, "username": f"{first}{last}".lower(), "user_email": fake.email_for(first, last, g.rng),
        "active": 1, "banned": 0, "balance": f"{g.rng.randrange(0, 500)}.000000", "user_phone": fake.mobile(g.rng, "AU"),
        "reply_to": "originalemail", "delivery_to": "", "user_first_name": first, "user_last_name": last,
        "account": 1, "account_name": g.rng.choice(fake.COMPANIES), "account_billing_email": "",
        "account_billing_mobile": "", "country": "AU", "default_country_sms": "AU", "auto_recharge": 0,
        "auto_recharge_amount": "20.00", "low_credit_amount": "5.00", "setting_unicode_sms": 0,
        "setting_email_sms_subject": 0, "setting_fix_sender_id": 0, "setting_sms_message_char_limit": 6,
        "old_dashboard": 0, "balance_commission": "0.00", "timezone": "Australia/Sydney",
    }


ACTIONS = ("POLL", "URL", "EMAIL_FIXED", "AUTO_REPLY")


def receipt_rule(g: Gen) -> Row:
    return {"receipt_rule_id": 0, "rule_name": g.rng.choice(("Poll receipts", "Webhook", "Email me")),
            "match_type": 0, "action": "POLL", "action_address": "", "enabled": 1}


def sms_inbound_rule(g: Gen) -> Row:
    return {"inbound_rule_id": 0, "dedicated_number": "*", "rule_name": "Poll replies", "message_search_type": 0,
            "message_search_term": "", "action": "POLL", "action_address": "", "body": "", "enabled": 1,
            "webhook_type": "post"}


def fax_inbound_rule(g: Gen) -> Row:
    return {"inbound_rule_id": 0, "dedicated_number": "*", "rule_name": "Email faxes", "user_id": USER_ID,
            "action": "EMAIL_FIXED", "action_address": "faxes@example.com", "enabled": 1}


def own_number(g: Gen) -> Row:
    return {
        "id": fake.uuid_lower(g.rng), "account_id": ACCOUNT_UUID, "workspace_id": ACCOUNT_UUID, "user_id": USER_UUID,
        "phone_number": fake.mobile(g.rng, "AU"), "country": "AU", "label": g.rng.choice(("Office", "Mobile", "Support")),
        "status": g.rng.choice(("APPROVED", "APPROVED", "PENDING", "REJECTED")),
        "verified_timestamp": fake.iso(fake.later(g.ts, 60, g.end)), "notified_timestamp": fake.iso(fake.later(g.ts, 120, g.end)),
        "is_nearing_expiration": False, "created_timestamp": fake.iso(g.ts), "updated_timestamp": fake.iso(fake.later(g.ts, 60, g.end)),
    }


def alpha_tag(g: Gen) -> Row:
    return {
        "id": fake.uuid_lower(g.rng), "account_id": ACCOUNT_UUID, "workspace_id": ACCOUNT_UUID, "user_id": USER_UUID,
        "alpha_tag": g.rng.choice(("ACME", "Harbour", "NorthPhys", "BlueGum", "Summit")) + str(g.rng.randrange(10)),
        "status": g.rng.choice(("APPROVED", "PENDING", "REJECTED")), "reason": "Brand name",
        "countries": ["AU"], "created_timestamp": fake.iso(g.ts), "updated_timestamp": fake.iso(fake.later(g.ts, 3600, g.end)),
    }


def default_sender(g: Gen) -> Row:
    return {
        "id": fake.uuid_lower(g.rng), "user_id": USER_ID, "subaccount_id": MAIN_SUBACCOUNT_ID,
        "country_code": g.rng.choice(("AU", "US", "GB", "NZ")), "product_type": "SMS",
        "default_sender_strategies": [sender_strategy()],
        "status": g.rng.choice(("ENABLED", "ENABLED", "DISABLED")), "created_timestamp": fake.iso(g.ts),
        "updated_timestamp": fake.iso(g.ts),
    }


def sender_strategy(**given: Any) -> Row:
    """One default-sender strategy; the spec requires priority and status on each."""
    return {"sender_type": "shared_longcode", "sender_id": "", "sender_country_code": "AU", "priority": 1,
            "status": "ENABLED", "note": "", **given}


ACCOUNT_UUID = "6f1c2a8e-3d4b-4c5a-9e7f-0a1b2c3d4e5f"
USER_UUID = "0b7e4c1d-9a2f-4e36-8d51-3c6a7f2e9b14"

_R = Resource
RESOURCES: tuple[Resource, ...] = (
    _R("lists", "/lists", "list_id", contact_list, 6, "Your list is not found.", "list_id", None, id_start=1401),
    _R("templates", "/sms/templates", "template_id", sms_template, 8, "Template not found.", "template_id", None,
       id_start=3101, deleted=None),
    _R("sms-campaigns", "/sms-campaigns", "sms_campaign_id", sms_campaign, 6, "SMS campaign not found.",
       "sms_campaign_id", methods="LRU", id_start=801),
    _R("mms-campaigns", "/mms-campaigns", "mms_campaign_id", mms_campaign, 3, "MMS campaign not found.",
       "mms_campaign_id", methods="LRU", id_start=301),
    _R("email-campaigns", "/email-campaigns", "email_campaign_id", email_campaign, 4, "Email campaign not found.",
       "email_campaign_id", methods="LRU", id_start=501),
    _R("email-campaign-history", "/email-campaigns/{email_campaign_id}/history", "message_id", email_campaign_history,
       40, "", methods="", id_start=0, date_field="processed_at"),
    _R("sms-history", "/sms/history", "message_id", sms_history, 500, "Message not found.", methods="L", id_start=0,
       date_field="date"),
    _R("mms-history", "/mms/history", "message_id", mms_history, 40, "Message not found.", methods="L", id_start=0,
       date_field="date"),
    _R("voice-history", "/voice/history", "message_id", voice_history, 40, "Message not found.", methods="L",
       id_start=0),
    _R("email-history", "/email/history", "message_id", email_history, 30, "Message not found.", methods="L",
       id_start=0),
    _R("fax-history", "/fax/history", "message_id", fax_history, 20, "Message not found.", methods="L", id_start=0),
    _R("letters-history", "/post/letters/history", "message_id", letter, 10, "Letter not found.", methods="L",
       id_start=0),
    _R("postcards-history", "/post/postcards/history", "message_id", postcard, 10, "Postcard not found.",
       methods="L", id_start=0),
    _R("sms-receipts", "/sms/receipts", "message_id", sms_receipt, 60, "Receipt record not found.", "message_id",
       "timestamp", methods="LR", id_start=0),
    _R("voice-receipts", "/voice/receipts", "message_id", voice_receipt, 10, "Receipt record not found.",
       date_field="timestamp", methods="L", id_start=0),
    _R("fax-receipts", "/fax/receipts", "message_id", fax_receipt, 5, "Receipt record not found.", "message_id",
       "timestamp", methods="LR", id_start=0),
    _R("inbound-sms", "/sms/inbound", "message_id", inbound_sms, 40, "Inbound record not found.",
       date_field="timestamp", methods="L", id_start=0),
    _R("email-sms", "/sms/email-sms", "email_address_id", email_sms_address, 3, "Email address not found.",
       date_field=None, methods="LC", id_start=201),
    _R("stripped-strings", "/sms/email-sms-stripped-strings", "rule_id", stripped_string, 3, "Rule not found.",
       "rule_id", None, id_start=11, deleted=True),
    _R("email-addresses", "/email/addresses", "email_address_id", email_address, 3, "Email address not found.",
       "email_address_id", methods="LCRD", id_start=1, deleted={}),
    _R("email-templates", "/email/templates", "template_id", email_template, 4, "Email template not found.",
       "template_id", None, id_start=601),
    _R("master-templates", "/email/master-templates", "template_id_master", master_template, 6,
       "Master template not found.", "template_id", methods="R", id_start=1),
    _R("master-template-categories", "/email/master-templates-categories", "category_id", master_category, 3,
       "Category not found.", "category_id", None, methods="R", id_start=1),
    _R("delivery-issues", "/delivery-issues", "issue_id", delivery_issue, 3, "Delivery issue not found.",
       methods="LC", id_start=71),
    _R("numbers", "/numbers", "dedicated_number", dedicated_number, 3, "Number not found.", date_field=None,
       methods="L", id_start=0),
    _R("recharge-transactions", "/recharge/transactions", "invoice_number", transaction, 12,
       "Transaction not found.", "transaction_id", "date", methods="LR", id_start=20001),
    _R("subaccounts", "/subaccounts", "subaccount_id", subaccount, 3, "Subaccount not found.", "subaccount_id",
       None, id_start=59901, deleted=True),
    _R("referral-accounts", "/referral/accounts", "referral_rule_id", referral, 2, "", date_field="date_referred",
       methods="L", id_start=1),
    _R("reseller-accounts", "/reseller/accounts", "user_id", reseller_account, 3, "Client account not found.",
       "client_user_id", None, methods="LCRU", id_start=70001),
    _R("return-addresses", "/post/return-addresses", "return_address_id", return_address, 3,
       "Return address not found.", "return_address_id", None, id_start=2),
    _R("sms-inbound-rules", "/automations/sms/inbound", "inbound_rule_id", sms_inbound_rule, 2,
       "Inbound rule not found.", "inbound_rule_id", None, id_start=101),
    _R("sms-receipt-rules", "/automations/sms/receipts", "receipt_rule_id", receipt_rule, 2,
       "Receipt rule not found.", "receipt_rule_id", None, id_start=201),
    _R("voice-receipt-rules", "/automations/voice/receipts", "receipt_rule_id", receipt_rule, 2,
       "Receipt rule not found.", "receipt_rule_id", None, id_start=301),
    _R("email-receipt-rules", "/automations/email/receipts", "receipt_rule_id", receipt_rule, 2,
       "Receipt rule not found.", "receipt_rule_id", None, id_start=401, deleted=True),
    _R("fax-receipt-rules", "/automations/fax/receipts", "receipt_rule_id", receipt_rule, 2,
       "Receipt rule not found.", "receipt_rule_id", None, id_start=501, deleted={}),
    _R("fax-inbound-rules", "/automations/fax/inbound", "inbound_rule_id", fax_inbound_rule, 2,
       "Inbound rule not found.", "inbound_rule_id", None, id_start=601),
    _R("own-numbers", "/own-numbers", "id", own_number, 12, "Own number not found.", "own_number_id",
       "created_timestamp", methods="", id_start=0),
    _R("alpha-tags", "/alpha-tags", "id", alpha_tag, 12, "Alpha tag not found.", "alpha_tag_id",
       "created_timestamp", methods="", id_start=0),
    _R("default-senders", "/senders/default-senders", "id", default_sender, 12, "Default sender not found.",
       "default_sender_id", "created_timestamp", methods="", id_start=0),
)
BY_KEY = {r.key: r for r in RESOURCES}
CONTACTS_SIZE = 300  # default seeded contacts, spread over the lists
