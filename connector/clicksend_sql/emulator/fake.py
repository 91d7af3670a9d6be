"""Realistic, deterministic values for seeded rows: names, numbers, addresses, ids, times.

Everything takes a ``random.Random`` so the same seed gives the same account. Phone numbers use
mobile ranges that ``phonenumbers`` accepts as valid (checked by the tests), without calling it
per row, so 50,000 contacts still seed in well under a second.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

DAY = 86_400

FIRST_NAMES = (
    "Olivia Noah Charlotte Oliver Amelia Jack Isla William Mia Henry Ava Leo Grace Lucas Chloe "
    "Thomas Ella James Zoe Liam Ruby Ethan Sophie Mason Harper Lachlan Matilda Cooper Evie Hudson"
).split()
LAST_NAMES = (
    "Smith Jones Williams Brown Wilson Taylor Johnson White Martin Anderson Thompson Nguyen "
    "Thomas Walker Harris Lee Ryan Robinson Kelly King Davis Wright Evans Roberts Green Hall"
).split()
COMPANIES = (
    "Acme Plumbing|Harbour Dental|Northside Physio|Blue Gum Cafe|Summit Realty|Brightside Tutoring|"
    "Coastal Auto Repairs|Greenleaf Florist|Metro Fitness|Riverbend Vets"
).split("|")
STREETS = "George St|Queen St|King St|Collins St|Pitt St|Elizabeth St|Smith St|High St|Park Rd".split("|")
# (country, city, state, postcode) — AU-heavy like a typical ClickSend account
PLACES = (
    ("AU", "Sydney", "NSW", "2000"),
    ("AU", "Melbourne", "VIC", "3000"),
    ("AU", "Brisbane", "QLD", "4000"),
    ("AU", "Perth", "WA", "6000"),
    ("US", "New York", "NY", "10001"),
    ("GB", "London", "", "EC1A 1BB"),
    ("NZ", "Auckland", "AUK", "1010"),
)
# (country, E.164 prefix, digits after the prefix): every completion whose first digit is 2-9 is a
# valid mobile number for phonenumbers.
MOBILE_RANGES = {
    "AU": (("+6140", 7), ("+6141", 7), ("+6142", 7), ("+6143", 7)),
    "US": (("+1212", 7), ("+1415", 7), ("+1512", 7), ("+1646", 7)),
    "GB": (("+4477", 8), ("+4478", 8), ("+4479", 8)),
    "NZ": (("+6421", 7), ("+6422", 7), ("+6427", 7)),
}
COUNTRY_WEIGHTS = (("AU", 70), ("US", 15), ("GB", 10), ("NZ", 5))
CARRIERS = {"AU": ("Telstra", "Optus", "Vodafone"), "US": ("AT&T", "Verizon", "T-Mobile"),
            "GB": ("EE", "O2", "Vodafone"), "NZ": ("Spark", "One NZ", "2degrees")}
SMS_BODIES = (
    "Hi {first}, your appointment is confirmed for tomorrow at 10:30am. Reply STOP to opt out.",
    "Your verification code is {code}.",
    "Reminder: your order #{code} is ready for pickup.",
    "Hi {first}, thanks for visiting {company}! Rate us: https://example.com/r/{code}",
    "Flash sale this weekend only - 20% off everything. Reply STOP to opt out.",
    "{first}, your package will arrive today between 2pm and 5pm.",
    "Payment of ${amount} received. Thank you!",
    "Can you call me back when you get a chance?",
    "Café opens at 7am tomorrow ☕ See you there!",
)
REPLY_BODIES = ("Yes", "No thanks", "STOP", "Confirmed, see you then", "Can we reschedule?", "Thanks!")


def uuid_upper(rng: random.Random) -> str:
    """ClickSend message ids: upper-case 36-char UUIDs (NOTES.md §10)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def uuid_lower(rng: random.Random) -> str:
    """Ids of the newer microservices (own numbers, alpha tags, default senders)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def country(rng: random.Random) -> str:
    return rng.choices([c for c, _ in COUNTRY_WEIGHTS], [w for _, w in COUNTRY_WEIGHTS])[0]


def mobile(rng: random.Random, region: str) -> str:
    """A valid E.164 mobile number in ``region``."""
    prefix, n = rng.choice(MOBILE_RANGES[region])
    return prefix + str(rng.randrange(2, 10)) + "".join(rng.choices("0123456789", k=n - 1))


def history_end(today: dt.date) -> int:
    """Midnight UTC at the start of ``today``: seeded activity lies in the days before it, so a
    demo's "last 30 days" has data whatever the date, and a pinned ``today`` gives the same rows."""
    return int(dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC).timestamp())


def timestamp(rng: random.Random, end: int, days_back: int = 180) -> int:
    """A Unix time in the ``days_back`` days before ``end`` (never ``end`` itself: that is today)."""
    return end - 1 - rng.randrange(days_back * DAY)


def later(start: int, delay: int, end: int) -> int:
    """``start + delay``, or when that reaches ``end`` a time between them: a seeded change never
    runs past the end of the history, and none piles up at it.

    >>> later(100, 5, 200), later(100, 150, 200), later(199, 150, 200)
    (105, 150, 199)
    """
    return start + delay if start + delay < end else start + delay % max(1, end - start)


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def email_for(first: str, last: str, rng: random.Random) -> str:
    domain = rng.choice(("example.com", "example.org", "example.net", "mail.example.com"))
    return f"{first}.{last}{rng.randrange(100)}@{domain}".lower()


def sms_body(rng: random.Random) -> str:
    first, _ = person(rng)
    return rng.choice(SMS_BODIES).format(
        first=first, code=rng.randrange(100000, 999999), company=rng.choice(COMPANIES),
        amount=f"{rng.randrange(10, 500)}.{rng.randrange(100):02d}",
    )


def address(rng: random.Random) -> dict[str, str]:
    """ClickSend's address_* fields for a random place."""
    cc, city, state, postcode = rng.choice(PLACES)
    return {
        "address_line_1": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
        "address_line_2": rng.choice(("", "", f"Unit {rng.randrange(1, 40)}")),
        "address_city": city,
        "address_state": state,
        "address_postal_code": postcode,
        "address_country": cc,
    }


def iso(ts: int) -> str:
    """ISO-8601 UTC, as the newer microservices write timestamps."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
