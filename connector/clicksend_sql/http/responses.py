"""What ClickSend answered: a successful response kept as bytes, its page counts, and the
envelope and per-field messages of an error body.

Bulk pages stay bytes (Arrow's JSON reader converts them); only what decides the next request
(the page counts) or names a failure (the envelope) is parsed here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
import orjson

from ..errors import InvalidResponseError

_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
NOT_A_PAGE = "is not a ClickSend page (no list of rows at data.data)"


@dataclass(frozen=True)
class ApiResponse:
    """A successful response, body kept as bytes so bulk pages skip Python-level parsing.

    >>> body = b'{"http_code":200,"response_code":"SUCCESS","data":{"x":1}}'
    >>> r = ApiResponse(200, body, httpx.Headers(), "GET", "/x")
    >>> r.data
    {'x': 1}
    """

    status: int
    content: bytes = field(repr=False)
    headers: httpx.Headers = field(repr=False)
    method: str
    path: str
    page: int | None = None

    def json(self) -> Any:
        """The parsed body (``None`` when empty), parsed once."""
        return self._parsed

    @cached_property
    def _parsed(self) -> Any:
        return self._load()

    def _load(self) -> Any:
        if not self.content:
            return None
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError as exc:
            raise self.invalid(f"is not JSON ({exc})") from exc

    @property
    def data(self) -> Any:
        """The envelope's ``data`` for enveloped bodies, else the whole body (own-numbers, alpha-tags)."""
        body = self._parsed
        if isinstance(body, dict) and "data" in body and ("response_code" in body or "http_code" in body):
            return body["data"]
        return body

    def invalid(self, why: str) -> InvalidResponseError:
        """The error for this successful answer whose body ``why`` (says what is wrong with it)."""
        where = f"{self.method} {self.path}" + (f" (page {self.page})" if self.page is not None else "")
        return InvalidResponseError(
            f"ClickSend answered {where} with HTTP {self.status} and a body that {why}; a proxy or "
            "gateway between here and ClickSend may have answered instead.",
            status=self.status,
            method=self.method,
            path=self.path,
        )

    def paginator(self) -> Paginator | None:
        """The counts of the paginator in ``data``, checked to be the page asked for, or ``None`` when
        page 1 is a bare list (the whole answer). Parsed afresh, not kept: bulk pages stay bytes.

        >>> body = b'{"data":{"total":"31","per_page":15,"current_page":3,"last_page":3.0,"data":[]}}'
        >>> ApiResponse(200, body, httpx.Headers(), "GET", "/x", page=3).paginator()
        Paginator(current_page=3, last_page=3, per_page=15, total=31)
        >>> ApiResponse(200, body, httpx.Headers(), "GET", "/x", page=2).paginator()
        Traceback (most recent call last):
        ...
        clicksend_sql.errors.InvalidResponseError: ClickSend answered GET /x (page 2) with HTTP 200 and a body that is page 3, not the page asked for; ...
        """
        body = self._load()
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, list) and self.page in (None, 1):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise self.invalid(NOT_A_PAGE)
        try:
            counts = {name: whole_number(data.get(name), name) for name in ("current_page", "last_page", "per_page", "total")}
        except ValueError as exc:
            raise self.invalid(str(exc)) from None
        current, last = counts.pop("current_page"), counts.pop("last_page")
        if current is None or last is None:
            raise self.invalid("is a page without current_page or last_page")
        if self.page is not None and (wrong := not_the_page(current, self.page)):
            raise self.invalid(wrong)
        return Paginator(current, max(last, 1), **counts)


def whole_number(value: Any, name: str) -> int | None:
    """A paginator count named ``name``: ClickSend sends ints, integral floats or digit strings;
    null is absent. A count fits a BIGINT, so ``total`` can become one.

    >>> whole_number("31", "total"), whole_number(3.0, "last_page"), whole_number(None, "total")
    (31, 3, None)
    """
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63):
        return value
    raise ValueError(f"has {name} = {value!r:.40}, not a whole number of at most 63 bits")


def not_the_page(current_page: Any, page: int, *, has_rows: bool = True) -> str | None:
    """Why a body is not page ``page`` of a page-number walk (None: it is): its paginator's
    ``current_page`` is another (a proxy repeating one page must not read as its rows twice), or
    it has no list of rows (it must not read as an empty page).

    >>> not_the_page(1, 3), not_the_page("3", 3), not_the_page(3, 3, has_rows=False)
    ('is page 1, not the page asked for', None, 'is not a ClickSend page (no list of rows at data.data)')
    """
    if not has_rows:
        return NOT_A_PAGE
    try:
        current = whole_number(current_page, "current_page")
    except ValueError as exc:
        return str(exc)
    if current is None:
        return "is a page without current_page"
    return None if current == page else f"is page {current}, not the page asked for"


@dataclass(frozen=True)
class Paginator:
    """The counts of a ``page``-style answer; they decide which pages are asked for next."""

    current_page: int
    last_page: int
    per_page: int | None = None
    total: int | None = None


def envelope(content: bytes) -> dict[str, Any]:
    """The error envelope of a body, ``{}`` when the body is not one.

    >>> envelope(b'{"response_code":"BAD_REQUEST"}'), envelope(b'<html>'), envelope(b'[1]')
    ({'response_code': 'BAD_REQUEST'}, {}, {})
    """
    try:
        body = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def field_errors(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """Per-field messages: ``data`` as a map, or the ``details: [{field, reason}]`` list of newer endpoints.

    >>> field_errors({"data": {"to": "required"}, "details": [{"field": "body", "reason": "empty"}]})
    {'to': 'required', 'body': 'empty'}
    >>> field_errors({"data": []}) is None
    True
    """
    data = body.get("data")
    details = body.get("details")
    if isinstance(details, list):
        merged = dict(data) if isinstance(data, dict) else {}
        merged.update({str(d.get("field")): d.get("reason") for d in details if isinstance(d, dict)})
        return merged or None
    return data if isinstance(data, dict) else None


def describe(message: Any) -> str:
    """A field message as text (Laravel-style bodies send a list of messages per field).

    >>> describe(["is required", "must be E.164"]), describe("is required")
    ('is required; must be E.164', 'is required')
    """
    return "; ".join(map(str, message)) if isinstance(message, list) else str(message)
