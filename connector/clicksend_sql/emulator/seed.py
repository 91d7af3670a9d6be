"""Deterministic demo data: the same seed, sizes and ``today`` always give the same account.

Seeded history ends at the start of ``today`` (by default the current UTC date), so the most
recent activity is always in the last days; ids and values do not depend on the date.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping

from ..errors import ConfigurationError
from . import fake, story
from .resources import BY_KEY, CONTACTS_SIZE, CURRENCY, MAIN_SUBACCOUNT_ID, RESOURCES, USER_ID, Gen, Resource, contact
from .state import Row, Store

SIZE_NAMES = ("contacts", *BY_KEY)


def api_key_for(seed: int) -> str:
    """The demo account's API key: a fixed upper-case UUID derived from the seed."""
    return fake.uuid_upper(random.Random(f"api-key:{seed}"))


def check_sizes(sizes: Mapping[str, int]) -> None:
    """Reject unknown resource names and negative sizes, naming what is accepted."""
    for name, n in sizes.items():
        if name not in SIZE_NAMES:
            raise ConfigurationError(f"Unknown emulator size {name!r}; accepted: {', '.join(sorted(SIZE_NAMES))}.")
        if not isinstance(n, int) or n < 0:
            raise ConfigurationError(f"Emulator size {name}={n!r} must be a non-negative integer.")


def utc_today() -> dt.date:
    """The current date in UTC, the default end of the seeded history."""
    return dt.datetime.now(dt.UTC).date()


def build_store(seed: int, sizes: Mapping[str, int], username: str, today: dt.date) -> Store:
    """A fully seeded account whose history ends at the start of ``today``."""
    check_sizes(sizes)
    end = fake.history_end(today)
    store = Store(rng=random.Random(f"runtime:{seed}"))
    store.account = account_row(seed, username, end)
    store.account["_subaccount"]["api_key"] = api_key_for(seed)  # GET /account shows the caller's own key
    for res in RESOURCES:
        _seed_resource(store, res, random.Random(f"{seed}:{res.key}"), sizes.get(res.key, res.size), end)
        if res.key == "lists":
            _seed_contacts(store, random.Random(f"{seed}:contacts"), sizes.get("contacts", CONTACTS_SIZE), end)
    story.tell(store, random.Random(f"{seed}:story"), end)
    return store


def _seed_resource(store: Store, res: Resource, rng: random.Random, n: int, end: int) -> None:
    table = store.table(res.key, res.id_field)
    stamped = sorted(((fake.timestamp(rng, end), i) for i in range(n)))  # oldest first, like the real ids
    for ts, _ in stamped:
        row = res.make(Gen(rng, store, ts, end))
        if res.id_start:
            row[res.id_field] = store.next_id(res.key, res.id_start)
            if isinstance(row.get(res.id_field), int) and res.id_field in ("issue_id", "invoice_number"):
                row[res.id_field] = str(row[res.id_field])
        table.add(row)


def _seed_contacts(store: Store, rng: random.Random, n: int, end: int) -> None:
    lists = store.table("lists", "list_id").rows()
    if not lists:
        return
    weights = [len(lists) - i for i in range(len(lists))]  # earlier lists are bigger
    owners = rng.choices(lists, weights, k=n)
    for ts in sorted(fake.timestamp(rng, end, 365) for _ in range(n)):
        owner = owners.pop()
        row = contact(Gen(rng, store, ts, end))
        row.update(contact_id=store.next_id("contacts", 100_001), list_id=owner["list_id"], _list_name=owner["list_name"])
        store.list_contacts(owner["list_id"]).add(row)


def account_row(seed: int, username: str, end: int) -> Row:
    """GET /account for the demo user (balance changes as messages are sent)."""
    rng = random.Random(f"{seed}:account")
    first, last = fake.person(rng)
    return {
        "user_id": USER_ID, "username": username, "user_email": fake.email_for(first, last, rng), "active": 1,
        "banned": 0, "date_sign_up": end - 400 * fake.DAY, "balance": "1117.461060",
        "user_phone": fake.mobile(rng, "AU"), "reply_to": "originalemail", "delivery_to": "",
        "user_first_name": first, "user_last_name": last, "account": 1, "account_name": rng.choice(fake.COMPANIES),
        "account_billing_email": f"billing@{username}.example.com", "account_billing_mobile": "", "priority": 0,
        "country": "AU",
        "country_ip": "AU", "default_country_sms": "AU", "auto_recharge": 0, "auto_recharge_amount": "20.00",
        "low_credit_amount": "5.00", "setting_unicode_sms": 0, "setting_email_sms_subject": 0,
        "setting_fix_sender_id": 0, "setting_sms_message_char_limit": 6, "old_dashboard": 0,
        "balance_commission": "0.000000", "timezone": "Australia/Sydney", "price_rate": 0, "private_uploads": 0,
        "fax_quality": 0, "setting_sms_hide_your_number": 0, "setting_sms_hide_business_name": 0,
        "pricing_variant": 0, "on_trial": 0, "trial_expiry": "", "_currency": CURRENCY,
        "_subaccount": {"subaccount_id": MAIN_SUBACCOUNT_ID, "api_username": username,
                        "email": fake.email_for(first, last, rng),
                        "phone_number": "", "first_name": first, "last_name": last, "api_key": "",
                        "access_smpp": 0, "access_users": 1, "access_billing": 1, "access_reporting": 1,
                        "access_contacts": 1, "access_settings": 1, "hide_pricing": 0, "access_sms": 1,
                        "access_email": 1, "access_voice": 1, "access_fax": 1, "access_post": 1,
                        "access_reseller": 1, "access_global_sending": 1, "access_mms": 1, "share_campaigns": 1,
                        "notes": None},  # the recorded GET /account keys (tests/fidelity)
        "_referrer_chosen": {"id": 8, "name": "Other"},
    }
