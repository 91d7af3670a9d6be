"""Message arithmetic ClickSend charges by: parts, prices, test recipients (NOTES.md §3, §12)."""

from __future__ import annotations

import math
import string
from decimal import Decimal

MAX_MESSAGES_PER_CALL = 1000
SMS_MAX_PARTS = 6
VOICE_MAX_PARTS = 4

# GSM 03.38 basic set; the extension set costs two septets each.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")
_GSM_ALL = frozenset(_GSM_BASIC | _GSM_EXTENDED)

TEST_NUMBERS = frozenset({
    "+61411111111", "+61422222222", "+61433333333", "+61444444444", "+14055555555",
    "+14055555666", "+447777777777", "+8615555555555",
})
TEST_FAX_NUMBERS = frozenset({"+61261111111", "+61262222222", "+61263333333"})
TEST_EMAILS = frozenset({"test1@test.com", "test2@test.com", "test3@test.com"})
TEST_POSTCODES = frozenset({"11111", "22222", "33333"})

# Countries the demo account may send to (global sending); others give COUNTRY_NOT_ENABLED.
ENABLED_COUNTRIES = frozenset({"AU", "NZ", "US", "CA", "GB", "IE", "SG"})

# Per-part (per-message for email, per page for fax/post) prices by recipient country.
SMS_PRICES = {"AU": "0.0792", "US": "0.0264", "GB": "0.0451", "NZ": "0.1004", "CN": "0.0660"}
DEFAULT_SMS_PRICE = "0.0880"
MMS_PRICE = "0.4400"
VOICE_PRICE = "0.1100"
FAX_PRICE_PER_PAGE = "0.2000"
EMAIL_PRICE = "0.0050"
LETTER_PRICE = "1.100000"
POSTCARD_PRICE = "1.650000"
ZERO = "0.0000"


def sms_parts(body: str) -> int:
    """Billable SMS parts: 160 GSM / 70 unicode chars in one part, 153 / 67 when split.

    >>> sms_parts("hello"), sms_parts("a" * 161), sms_parts("☕" * 71), sms_parts("[" * 80)
    (1, 2, 2, 1)
    >>> sms_parts("x" * 5000)
    6
    """
    if _GSM_ALL.issuperset(body):
        length = len(body) + sum(body.count(c) for c in _GSM_EXTENDED)
        single, multi = 160, 153
    else:
        length = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    if length <= single:
        return 1
    return min(math.ceil(length / multi), SMS_MAX_PARTS)


def voice_parts(body: str) -> int:
    """Voice messages are billed per 300 chars (150 unicode), at most 4 parts."""
    per = 300 if _GSM_ALL.issuperset(body) else 150
    return max(1, min(math.ceil(len(body) / per), VOICE_MAX_PARTS))


def money(value: Decimal, places: int = 4) -> str:
    """ClickSend's decimal-string money ("0.0792")."""
    return f"{value:.{places}f}"


def sms_unit_price(country: str) -> Decimal:
    return Decimal(SMS_PRICES.get(country, DEFAULT_SMS_PRICE))


def keyword(body: str) -> str:
    """``_keyword``: "the first word of the body message" (spec), lower-cased as in its examples.

    >>> keyword("Reply to msg on 7 aug 2024"), keyword("  STOP!"), keyword("")
    ('reply', 'stop', '')
    """
    first = body.split(maxsplit=1)[0] if body.strip() else ""
    return first.strip(string.punctuation).lower()
