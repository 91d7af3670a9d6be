"""Masking the API key wherever a server or proxy echoed it, in one place.

ClickSend echoes what it was sent (``GET /account`` returns the key in ``_subaccount``; a proxy's
error page may quote the ``Authorization`` header), and those words end up in messages, results,
files and the CLI. Each function masks one kind of value; :func:`secret_forms` says what to mask.
"""

from __future__ import annotations

import base64
from collections.abc import Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Arrow loads only when rows are masked: the HTTP client does not need it
    import pyarrow as pa

MASK = "****"
"""What a secret is replaced with."""


def secret_forms(username: str, api_key: str) -> tuple[str, ...]:
    """What to mask: the key and the Basic credentials built from it, as sent, without base64
    padding, and with ``/`` escaped as PHP's ``json_encode`` writes it.

    >>> secret_forms("u", "K?")
    ('K?', 'dTpLPw==', 'dTpLPw')
    >>> secret_forms("u", "K/")
    ('K/', 'K\\\\/', 'dTpLLw==', 'dTpLLw')
    """
    token = base64.b64encode(f"{username}:{api_key}".encode()).decode()
    forms = (api_key, token, token.rstrip("="))
    return tuple(dict.fromkeys(f for form in forms for f in (form, form.replace("/", "\\/"))))


def redact_text(text: str, secrets: Collection[str]) -> str:
    """``text`` with every occurrence of each secret masked.

    >>> redact_text("bad key K-1 for user u (Basic dTpLLTE=)", ("K-1", "dTpLLTE="))
    'bad key **** for user u (Basic ****)'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def redact_bytes(content: bytes, secrets: Collection[str]) -> bytes:
    """A body with every secret masked, bytes kept as they are elsewhere (a bulk page is never
    decoded). UTF-8 is self-synchronising, so this masks what :func:`redact_text` would in the
    decoded text, even in a body that is not valid UTF-8.

    >>> redact_bytes(b'{"api_key":"K-1"} \\xff', ("K-1",))
    b'{"api_key":"****"} \\xff'
    """
    for secret in secrets:
        if secret:
            content = content.replace(secret.encode(), MASK.encode())
    return content


def may_hold(bodies: Collection[bytes], secrets: Collection[str]) -> bool:
    """Whether rows read from these JSON bodies may hold a secret: its bytes (or with ``/``
    escaped) are in a body, or a ``\\u`` escape could spell it. Scanning the bytes costs
    microseconds a page; masking the rows' text columns costs half a millisecond.

    >>> may_hold([b'{"a":"K-1"}'], ("K-1",)), may_hold([b'{"a":"x"}'], ("K-1",)), may_hold([rb'"\\u004b-1"'], ("K-1",))
    (True, False, True)
    """
    needles = [b"\\u", *(form.encode() for s in secrets if s for form in (s, s.replace("/", "\\/")))]
    return any(needle in body for body in bodies for needle in needles)


def redact_rows(rows: pa.Table, secrets: Collection[str]) -> pa.Table:
    """``rows`` with every secret masked in its text columns, so it never reaches results, files
    or the CLI.

    >>> import pyarrow as pa
    >>> redact_rows(pa.table({"s": ['{"api_key":"K-1"}', None], "n": [1, 2]}), ("K-1",)).to_pylist()
    [{'s': '{"api_key":"****"}', 'n': 1}, {'s': None, 'n': 2}]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    for index, field in enumerate(rows.schema):
        if not pa.types.is_string(field.type):
            continue
        for secret in secrets:
            if secret and pc.any(pc.match_substring(rows.column(index), secret)).as_py():
                rows = rows.set_column(index, field, pc.replace_substring(rows.column(index), secret, MASK))
    return rows
