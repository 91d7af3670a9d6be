"""Phone numbers in E.164, by the ``phonenumbers`` library, as SQL functions of every connection.

``e164(phone [, country])`` is the E.164 form or NULL; ``e164_error(phone [, country])`` says why
a number has none (NULL when it has one). ``country`` (ISO 3166 alpha-2) is the region a number
without ``+`` is read in; it defaults to the connection's ``default_country``. The functions take
whole Arrow batches, so DuckDB calls Python once per batch, not once per row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from .errors import ConfigurationError

_SESSIONS = itertools.count(1)  # names each session's functions (see register)
_WHY = {  # phonenumbers' ValidationResult values (phonenumbers loads at the first number: start-up)
    "INVALID_COUNTRY_CODE": "the country code is not valid",
    "TOO_SHORT": "it is too short",
    "TOO_LONG": "it is too long",
    "INVALID_LENGTH": "its length is not valid for its region",
}


def parse(phone: str | None, country: str | None) -> tuple[str | None, str | None]:
    """(E.164 form, None) or (None, why not).

    >>> parse("0411 111 111", "AU"), parse("+1 202-555-0143", None)[0]
    (('+61411111111', None), '+12025550143')
    >>> parse("12", "AU")[1]
    'not a valid number for AU: it is too short'
    """
    if phone is None:
        return None, None
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

    region = (country or "").upper() or None
    try:
        number = phonenumbers.parse(phone, region)
    except NumberParseException as exc:
        return None, f"not a phone number ({exc.args[0] if exc.args else exc})"
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), None
    where = region or phonenumbers.region_code_for_number(number) or "its region"
    why = {getattr(ValidationResult, name): text for name, text in _WHY.items()}
    reason = why.get(phonenumbers.is_possible_number_with_reason(number), "no such number exists there")
    return None, f"not a valid number for {where}: {reason}"


def impossible(phone: str, country: str | None) -> str | None:
    """Why ``phone`` cannot be a number (phonenumbers: it cannot parse it, or no number of its
    region has its length), or None. Without ``+`` and without ``country`` ClickSend reads it in
    the account's country, which only the server knows, so only its digit count is checked.

    >>> impossible("12", "AU"), impossible("0411 111 111", "AU"), impossible("+61 411 111 111", None)
    ('it is too short for AU', None, None)
    >>> impossible("12", None), impossible("0411111111", None), impossible("call me", None)
    ('it has 2 digits; a phone number has 3 to 17', None, 'it has 0 digits; a phone number has 3 to 17')
    """
    import phonenumbers
    from phonenumbers import NumberParseException, ValidationResult

    region = (country or "").upper() or None
    text = phone.strip()
    if region is None and not text.startswith("+"):  # 00... is an international prefix only in some countries
        digits = sum(ch.isdigit() for ch in text)
        return None if 3 <= digits <= 17 else f"it has {digits} digits; a phone number has 3 to 17"
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return f"it is not a phone number ({exc.args[0] if exc.args else exc})"
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return None
    where = region or phonenumbers.region_code_for_number(number) or "its country code"
    why = {getattr(ValidationResult, name): text for name, text in _WHY.items()}
    return f"{why.get(reason, 'it is not a possible number')} for {where}"


def _batch(index: int) -> Callable[[pa.Array, pa.Array], pa.Array]:
    def apply(phones: pa.Array, countries: pa.Array) -> pa.Array:
        pairs = zip(phones.to_pylist(), countries.to_pylist(), strict=True)
        return pa.array([parse(p, c)[index] for p, c in pairs], pa.string())
    return apply


def checked_region(region: str | None) -> str | None:
    """A default country as phonenumbers takes it (upper case), or a clear refusal.

    >>> checked_region("au"), checked_region(None)
    ('AU', None)
    >>> checked_region("Australia")
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.ConfigurationError: default_country='Australia': give an ISO 3166 alpha-2 country code such as AU, US or GB.
    """
    if region is None:
        return None
    import phonenumbers  # loaded on first use (start-up)

    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigurationError(f"default_country={region!r}: give an ISO 3166 alpha-2 country code such as AU, US or GB.")
    return code


def register(connection: duckdb.DuckDBPyConnection, default_country: str | None) -> tuple[str, ...]:
    """Create ``e164`` and ``e164_error`` (one or two arguments) in ``connection``: a macro of the
    session (it carries the default country) over a Python function of the session's own, whose
    names it returns, for the session to remove when it closes.

    The function is named for the session, never shared: DuckDB lists a Python function in the
    database, where every connection to it finds it, but the Python object lives only as long
    as the connection that made it, and a second connection to one file calling the first's
    after it closed called freed memory (a crash, or another object's error)."""
    session = next(_SESSIONS)
    functions = []
    for name, index in (("e164", 0), ("e164_error", 1)):
        function = f"__clicksend_{name}_{session}"
        functions.append(function)
        connection.create_function(
            function, _batch(index), ["VARCHAR", "VARCHAR"], "VARCHAR",
            type=PythonUDFType.ARROW, null_handling=FunctionNullHandling.SPECIAL, side_effects=False,
        )
        connection.execute(
            f"CREATE OR REPLACE TEMP MACRO {name}(phone, country := NULL) AS "
            f"{function}(phone::VARCHAR, coalesce(country, $default)::VARCHAR)".replace(
                "$default", "NULL" if not default_country else "'" + default_country.replace("'", "''") + "'"
            )
        )
    return tuple(functions)
