"""The HTTP client against a scripted server (``httpx.MockTransport``), for behaviour the emulator
cannot be made to show on cue: exactly which requests were made, in which order, with which query.

The end-to-end tests on the emulator (test_http_client.py, test_http_hardening.py) stay the
reference for real HTTP; these pin down the client alone.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from clicksend_sql.config import Settings
from clicksend_sql.errors import BadRequestError, ServerError
from clicksend_sql.http import ClickSendClient
from clicksend_sql.http.pagination import (
    PAGINATORS,
    BareCursorPaginator,
    EnvelopedCursorPaginator,
    ListPaginator,
    PageNumberPaginator,
)

T = TypeVar("T")
USER = "scripted"
KEY = "K3Y/+SECRET-0001"
TOKEN = base64.b64encode(f"{USER}:{KEY}".encode()).decode()
SETTINGS = Settings(USER, KEY, "https://rest.clicksend.test/v3")  # MockTransport: nothing leaves the process
Handler = Callable[[httpx.Request], httpx.Response]


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def scripted(handler: Handler, **kwargs: Any) -> tuple[ClickSendClient, list[httpx.Request]]:
    """A client whose every request goes to ``handler``, and the list of requests it saw."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    options: dict[str, Any] = {"rate_limit": None, "backoff_base": 0.001, "backoff_max": 0.01}
    return ClickSendClient(SETTINGS, transport=httpx.MockTransport(record), **(options | kwargs)), seen


def enveloped(data: Any, status: int = 200, msg: str = "Here you go.") -> httpx.Response:
    code = "SUCCESS" if status < 400 else "BAD_REQUEST"
    return httpx.Response(status, json={"http_code": status, "response_code": code, "response_msg": msg, "data": data})


def test_a_429_with_retry_after_is_waited_out_then_the_get_is_retried() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.3"}, json={"response_msg": "Slow down"}),
                    enveloped({"balance": "1.00"})])
    client, seen = scripted(lambda request: next(answers))

    async def go() -> tuple[Any, float]:
        async with client:
            started = time.monotonic()
            response = await client.request("GET", "/account")
            return response.data, time.monotonic() - started

    data, elapsed = run(go())
    assert data == {"balance": "1.00"}
    assert [r.method for r in seen] == ["GET", "GET"]
    assert elapsed >= 0.3
    assert (client.stats.requests, client.stats.retries, client.stats.rate_limited) == (2, 1, 1)
    assert client.stats.wait_seconds >= 0.3


def test_a_500_on_a_charging_post_with_retry_false_is_sent_once() -> None:
    client, seen = scripted(lambda request: enveloped(None, status=500, msg="Internal error"))

    async def go() -> None:
        async with client:
            await client.request("POST", "/sms/send", json={"messages": [{"to": "+61411111111"}]}, retry=False)

    with pytest.raises(ServerError, match="not retried because the request may already have been acted on"):
        run(go())
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/v3/sms/send")]
    assert client.stats.retries == 0


def page_numbered(request: httpx.Request) -> httpx.Response:
    """5 rows, 2 a page: pages 1..3 of a ``page``/``limit`` paginator envelope."""
    page, limit = int(request.url.params["page"]), int(request.url.params["limit"])
    rows = [{"id": n} for n in range(1, 6)][(page - 1) * limit : page * limit]
    return enveloped({"total": 5, "per_page": limit, "current_page": page, "last_page": 3, "data": rows})


def enveloped_cursor(request: httpx.Request) -> httpx.Response:
    """3 pages chained by ``data.next_page_url``, the link naming another host (never followed)."""
    offset = int(request.url.params.get("offset", "0"))
    following = f"https://elsewhere.test/v3/senders/default-senders?offset={offset + 2}&per_page=2"
    rows = [{"id": n} for n in range(offset + 1, min(offset + 2, 5) + 1)]
    return enveloped({"data": rows, "next_page_url": following if offset + 2 < 5 else None})


def bare_cursor(request: httpx.Request) -> httpx.Response:
    """3 pages without an envelope, chained by ``_metadata.pagination.next``."""
    offset = int(request.url.params.get("offset", "0"))
    rows = [{"id": n} for n in range(offset + 1, min(offset + 2, 5) + 1)]
    following = f"/v3/alpha-tags?offset={offset + 2}" if offset + 2 < 5 else None
    return httpx.Response(200, json={"alpha_tags": rows, "_metadata": {"pagination": {"next": following}}})


@pytest.mark.parametrize(
    ("style", "paginator", "handler", "size_param", "rows_key"),
    [
        ("page", PageNumberPaginator, page_numbered, "limit", None),
        ("cursor", EnvelopedCursorPaginator, enveloped_cursor, "per_page", None),
        ("cursor_no_envelope", BareCursorPaginator, bare_cursor, "page_size", "alpha_tags"),
    ],
)
def test_each_paginator_walks_a_scripted_list(
    style: str, paginator: type[ListPaginator], handler: Handler, size_param: str, rows_key: str | None
) -> None:
    assert isinstance(PAGINATORS[style], paginator)
    client, seen = scripted(handler)

    async def go() -> list[Any]:
        async with client:
            pages = client.paginate("/list", {"q": "kept", "none": None}, style=style, page_size=2, rows_key=rows_key)
            return [response async for response in pages]

    pages = run(go())
    rows = [row for page in pages for row in (page.data["data"] if style != "cursor_no_envelope" else page.data[rows_key])]
    assert sorted(row["id"] for row in rows) == [1, 2, 3, 4, 5]
    assert sorted(page.page or 0 for page in pages) == [1, 2, 3]
    assert {r.url.host for r in seen} == {"rest.clicksend.test"}  # the credentials stay with base_url
    assert all(r.url.params["q"] == "kept" and "none" not in r.url.params for r in seen)
    assert all(r.url.params[size_param] == "2" for r in seen)
    if style != "page":
        assert [r.url.params.get("offset") for r in seen] == [None, "2", "4"]


@pytest.mark.parametrize("php_escaped", [False, True], ids=["plain", "slashes-escaped"])
def test_the_key_never_appears_in_an_error_from_a_400_echoing_it(php_escaped: bool) -> None:
    """PHP's json_encode writes ``/`` as ``\\/``: the key must be masked in that form of the body too."""
    echo = f"Bad credentials {KEY} (Basic {TOKEN}, {TOKEN.rstrip('=')})"
    body = {"http_code": 400, "response_code": "BAD_REQUEST", "response_msg": echo,
            "data": {"api_key": [f"{KEY} is not valid"]}, "details": [{"field": "auth", "reason": echo}]}
    content = orjson.dumps(body)
    content = content.replace(b"/", b"\\/") if php_escaped else content
    client, _ = scripted(lambda request: httpx.Response(400, content=content))

    async def go() -> None:
        async with client:
            await client.request("POST", "/sms/send", json={"messages": []}, retry=False)

    with pytest.raises(BadRequestError) as info:
        run(go())
    error = info.value
    told = f"{error} {error!r} {error.data!r} {error.field_errors!r}"
    assert "****" in str(error) and error.data["api_key"] == ["**** is not valid"]
    for secret in (KEY, TOKEN, TOKEN.rstrip("=")):
        assert secret not in told


def test_the_key_is_masked_in_a_successful_body_echoing_it() -> None:
    client, _ = scripted(lambda request: enveloped({"_subaccount": {"api_key": KEY}}))

    async def go() -> Any:
        async with client:
            return await client.request("GET", "/account")

    response = run(go())
    assert KEY.encode() not in response.content and response.data == {"_subaccount": {"api_key": "****"}}
