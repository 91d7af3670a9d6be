"""The HTTP client end to end against the emulator over real loopback HTTP.

What matters here: no row is lost or repeated by pagination (checked against an independent,
sequential raw httpx walk), retries happen exactly where they are safe, errors are typed and
say what went wrong, and the API key never shows up in errors, reprs or logs.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Iterator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clicksend_sql.config import Settings
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import (
    AuthenticationError,
    BadRequestError,
    ClickSendSQLError,
    ConfigurationError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
    TransportError,
)
from clicksend_sql.http import MAX_RETRY_AFTER, ApiResponse, ClickSendClient, retry_after_seconds
from clicksend_sql.http.pagination import _cursor_of
from clicksend_sql.http.retries import CONNECT_RETRIES

T = TypeVar("T")
TEST_KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"  # the documented key of ClickSend's test accounts
HISTORY_ROWS = 3000


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=0, sizes={"sms-history": HISTORY_ROWS}, latency_ms=0, jitter_ms=0) as emulator:
        yield emulator


def settings_for(emu: Emulator, username: str | None = None, api_key: str | None = None) -> Settings:
    return Settings(username or emu.username, api_key or emu.api_key, emu.base_url)


def fast_client(settings: Settings, **kwargs: Any) -> ClickSendClient:
    """No client-side rate limit and tiny backoff: tests check behaviour, not speed."""
    options: dict[str, Any] = {"rate_limit": None, "backoff_base": 0.001, "backoff_max": 0.01}
    return ClickSendClient(settings, **(options | kwargs))


def raw_walk(emu: Emulator, path: str, limit: int = 100) -> list[str]:
    """Message ids of every page, fetched one by one with plain httpx: the reference for pagination."""
    ids: list[str] = []
    with httpx.Client(base_url=emu.base_url + "/", auth=(emu.username, emu.api_key)) as http:
        page, last_page = 1, 1
        while page <= last_page:
            data = http.get(path.lstrip("/"), params={"page": page, "limit": limit}).raise_for_status().json()["data"]
            ids += [row["message_id"] for row in data["data"]]
            page, last_page = page + 1, data["last_page"]
    return ids


def message_ids(responses: list[ApiResponse]) -> list[str]:
    return [row["message_id"] for r in responses for row in r.data["data"]]


async def collect(client: ClickSendClient, path: str, **kwargs: Any) -> list[ApiResponse]:
    async with client:
        return [r async for r in client.paginate(path, **kwargs)]


# --- pagination ----------------------------------------------------------------------------


def test_page_scan_returns_every_row_once(emu: Emulator) -> None:
    expected = raw_walk(emu, "/sms/history")
    assert len(expected) == len(set(expected)) == HISTORY_ROWS
    client = fast_client(settings_for(emu), concurrency=8)
    responses = run(collect(client, "/sms/history", page_size=100))
    got = message_ids(responses)
    assert sorted(got) == sorted(expected)
    assert sorted(r.page for r in responses) == list(range(1, 31))
    assert client.stats.requests == 30 and client.stats.retries == 0
    assert client.stats.bytes_received >= sum(len(r.content) for r in responses)


def test_page_scan_passes_filters_and_stops_at_max_rows(emu: Emulator) -> None:
    client = fast_client(settings_for(emu))
    responses = run(collect(client, "/sms/history", params={"order_by": "date:desc", "q": None}, max_rows=250))
    assert sorted(r.page for r in responses) == [1, 2, 3]
    assert len(message_ids(responses)) == 250 + 50  # three whole pages cover 250 rows
    in_page_order = sorted(responses, key=lambda r: r.page or 0)
    dates = [row["date"] for r in in_page_order for row in r.data["data"]]
    assert dates == sorted(dates, reverse=True)


def test_closing_a_scan_early_cancels_the_pages_in_flight(emu: Emulator) -> None:
    client = fast_client(settings_for(emu), concurrency=4)

    async def first_pages(n: int) -> tuple[int, set[asyncio.Task[Any]]]:
        got = 0
        async with client, aclosing(client.paginate("/sms/history", page_size=15)) as pages:
            async for _ in pages:
                got += 1
                if got == n:
                    break
        return got, asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    got, leftover = run(first_pages(3))
    assert got == 3 and not leftover
    assert client.stats.requests < 20  # of 200 pages: only the bounded window was started


def test_page_scan_of_a_single_page(emu: Emulator) -> None:
    responses = run(collect(fast_client(settings_for(emu)), "/sms/history", page_size=100, max_rows=5))
    assert [r.page for r in responses] == [1]


@pytest.mark.parametrize(
    ("path", "style", "rows_key", "rows_of"),
    [
        ("/own-numbers", "cursor_no_envelope", "own_numbers", lambda body: body["own_numbers"]),
        ("/alpha-tags", "cursor_no_envelope", None, lambda body: body["alpha_tags"]),
        ("/senders/default-senders", "cursor", None, lambda body: body["data"]["data"]),
    ],
)
def test_cursor_pagination_follows_next_until_the_end(
    emu: Emulator, path: str, style: str, rows_key: str | None, rows_of: Any
) -> None:
    responses = run(collect(fast_client(settings_for(emu)), path, style=style, page_size=3, rows_key=rows_key))
    ids = [row["id"] for r in responses for row in rows_of(r.json())]
    assert len(responses) > 1, "the fixture should span several pages"
    assert [r.page for r in responses] == list(range(1, len(responses) + 1))
    assert len(ids) == len(set(ids))
    # one big page, fetched without the paginator, is the reference
    size_param = "per_page" if style == "cursor" else "page_size"
    whole = run(fast_client(settings_for(emu)).request("GET", path, params={size_param: 500}))
    assert sorted(ids) == sorted(row["id"] for row in rows_of(whole.json()))


# --- errors --------------------------------------------------------------------------------


def test_bad_key_is_an_authentication_error_that_explains_the_api_key(emu: Emulator) -> None:
    bad_key = "WRONG-0000-KEY-1111"
    client = fast_client(settings_for(emu, api_key=bad_key))
    with pytest.raises(AuthenticationError) as info:
        run(client.request("GET", "/account"))
    error = info.value
    assert error.status == 401 and error.method == "GET" and error.path == "/account"
    assert "API key" in str(error) and "not the dashboard login password" in str(error)
    basic = base64.b64encode(f"{emu.username}:{bad_key}".encode()).decode()
    for text in (str(error), repr(error), repr(error.args), repr(client), repr(client.settings)):
        assert bad_key not in text and basic not in text


def test_banned_test_account_is_forbidden(emu: Emulator) -> None:
    with pytest.raises(ForbiddenError, match="suspended"):
        run(fast_client(settings_for(emu, "banned", TEST_KEY)).request("GET", "/account"))


def test_not_found_names_the_request_and_the_reason(emu: Emulator) -> None:
    with pytest.raises(NotFoundError, match=r"GET /lists/987654321 was not found: .+") as info:
        run(fast_client(settings_for(emu)).request("GET", "/lists/987654321"))
    assert info.value.status == 404


def test_bad_request_surfaces_field_errors(emu: Emulator) -> None:
    with pytest.raises(BadRequestError) as info:
        run(fast_client(settings_for(emu)).request("GET", "/sms/history", params={"page": "abc"}))
    assert "page" in info.value.field_errors
    assert f"page: {info.value.field_errors['page']}" in str(info.value)


def test_unauthenticated_endpoint_with_auth_off(emu: Emulator) -> None:
    response = run(fast_client(settings_for(emu, api_key="not-the-key")).request("GET", "/countries", auth=False))
    assert response.status == 200 and isinstance(response.data, list)


def test_unreachable_server_is_a_transport_error_naming_the_request() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, so nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = fast_client(Settings("u", TEST_KEY, f"http://127.0.0.1:{port}/v3"), retries=2)
    with pytest.raises(TransportError, match=rf"Could not connect to http://127.0.0.1:{port}/v3 \(POST /sms/send, "
                       r"3 attempts: ConnectError.*Check the API address \(--base-url") as info:
        run(client.request("POST", "/sms/send", json={"messages": []}))
    assert TEST_KEY not in str(info.value)
    # nothing reached a server, so even a send is retried
    assert client.stats.requests == 3 and client.stats.retries == 2


def test_a_refused_connection_is_given_up_within_a_second_whatever_the_budget() -> None:
    """Nothing listening is rarely a blip: CONNECT_RETRIES, not the full retry budget."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ClickSendClient(Settings("u", TEST_KEY, f"http://127.0.0.1:{port}/v3"), retries=8)
    started = time.monotonic()
    with pytest.raises(TransportError, match="Could not connect"):
        run(client.request("GET", "/lists"))
    assert client.stats.requests == 1 + CONNECT_RETRIES and time.monotonic() - started < 2.0
    run(client.aclose())


def test_a_body_json_cannot_carry_fails_before_any_request(emu: Emulator) -> None:
    client = fast_client(settings_for(emu))
    with pytest.raises(InvalidRequestError, match=r"The body of POST /sms/send cannot be sent as JSON: .*Decimal"):
        run(client.request("POST", "/sms/send", json={"messages": [{"body": Decimal("1.5")}]}))
    assert client.stats.requests == 0


@pytest.mark.parametrize(
    "policy", [{"retries": -1}, {"deadline": 0}, {"deadline": -1.0}, {"deadline": math.inf}, {"concurrency": 0}]
)
def test_an_impossible_policy_is_a_configuration_error(policy: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ClickSendClient(Settings("u", TEST_KEY, "http://127.0.0.1:1/v3"), **policy)


def test_logs_name_requests_but_never_credentials(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = fast_client(settings_for(emu))
    run(client.request("GET", "/account"))
    with pytest.raises(ClickSendSQLError):
        run(fast_client(settings_for(emu, api_key="bad-key-123456")).request("GET", "/account"))
    assert "GET /account -> 200" in caplog.text and "GET /account -> 401" in caplog.text
    basic = base64.b64encode(f"{emu.username}:{emu.api_key}".encode()).decode()
    assert emu.api_key not in caplog.text and "bad-key-123456" not in caplog.text and basic not in caplog.text


# --- rate limits and retries ---------------------------------------------------------------


def test_429_is_retried_until_every_page_arrives() -> None:
    with Emulator(seed=1, sizes={"sms-history": 600}, latency_ms=0, jitter_ms=0, rate_limit=20) as emu:
        expected = raw_walk(emu, "/sms/history")  # 6 pages: within the burst of 20
        emu.reset_stats()
        client = fast_client(settings_for(emu), concurrency=8)
        ids = message_ids(run(collect(client, "/sms/history", page_size=20)))
        served = emu.stats()["total"]
    assert sorted(ids) == sorted(expected)
    stats = client.stats
    assert served == stats.requests
    assert stats.rate_limited > 0 and stats.retries == stats.rate_limited
    assert stats.requests == 30 + stats.rate_limited
    assert stats.wait_seconds >= 0.9  # the emulator's Retry-After is at least 1 s, and it was honoured


def test_429_is_retried_even_for_sends_because_nothing_was_sent() -> None:
    body = {"messages": [{"to": "+61411111111", "body": "rate limited", "source": "test"}]}
    with Emulator(seed=4, latency_ms=0, jitter_ms=0, rate_limit=5) as emu:
        client = fast_client(settings_for(emu))

        async def send_many(n: int) -> list[ApiResponse]:
            async with client:
                return await asyncio.gather(*(client.request("POST", "/sms/send", json=body, retry=False)
                                              for _ in range(n)))

        responses = run(send_many(8))
        assert all(r.data["queued_count"] == 1 for r in responses)
        assert client.stats.rate_limited > 0
        assert emu.stats()["by_operation"]["POST /v3/sms/send"] == client.stats.requests == 8 + client.stats.retries


def test_faulty_server_get_scan_loses_and_repeats_nothing() -> None:
    sizes = {"sms-history": 1000}
    with Emulator(seed=2, sizes=sizes, latency_ms=0, jitter_ms=0) as clean:
        expected = raw_walk(clean, "/sms/history")
    with Emulator(seed=2, sizes=sizes, latency_ms=0, jitter_ms=0, fault_rate=0.3) as emu:
        client = fast_client(settings_for(emu), retries=10)
        ids = message_ids(run(collect(client, "/sms/history", page_size=50)))
        served = emu.stats()["total"]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(expected)
    assert client.stats.retries > 0 and client.stats.requests == served == 20 + client.stats.retries


def test_send_is_never_retried_blindly_but_idempotent_writes_are() -> None:
    body = {"messages": [{"to": "+61411111111", "body": "retry test", "source": "test"}]}
    with Emulator(seed=3, latency_ms=0, jitter_ms=0, fault_rate=0.5) as emu:
        client = fast_client(settings_for(emu))

        async def send_many(n: int) -> list[BaseException | ApiResponse]:
            async with client:
                return await asyncio.gather(
                    *(client.request("POST", "/sms/send", json=body) for _ in range(n)), return_exceptions=True
                )

        outcomes = run(send_many(20))
        sends = emu.stats()["by_operation"]["POST /v3/sms/send"]
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        assert failures, "with fault_rate=0.5 some of 20 sends must fail"
        assert all(isinstance(f, ServerError | TransportError) for f in failures)
        assert all("not retried" in str(f) for f in failures)
        assert sends == 20 and client.stats.retries == 0

        writer = fast_client(settings_for(emu), retries=20)
        run(writer.request("POST", "/sms/send", json=body, retry=True))
        assert writer.stats.retries == writer.stats.requests - 1
        assert emu.stats()["by_operation"]["POST /v3/sms/send"] == 20 + writer.stats.requests


# --- Retry-After parsing -------------------------------------------------------------------


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False) | st.integers(min_value=0, max_value=10**9))
def test_retry_after_seconds_is_read_and_clamped(seconds: float) -> None:
    for header in ("Retry-After", "ratelimit-reset"):
        assert retry_after_seconds(httpx.Headers({header: str(seconds)})) == min(float(seconds), MAX_RETRY_AFTER)


@given(st.integers(min_value=-10**6, max_value=10**6))
def test_retry_after_http_date_is_relative_to_now(delta: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    header = httpx.Headers({"Retry-After": format_datetime(now + timedelta(seconds=delta), usegmt=True)})
    assert retry_after_seconds(header, now=now) == min(max(delta, 0), MAX_RETRY_AFTER)


@given(st.text())
def test_retry_after_garbage_is_ignored_or_bounded(value: str) -> None:
    try:
        headers = httpx.Headers({"Retry-After": value})
    except (UnicodeEncodeError, ValueError):
        return  # not a legal header value, cannot arrive from a server
    seconds = retry_after_seconds(headers)
    assert seconds is None or 0 <= seconds <= MAX_RETRY_AFTER


# --- cursor links --------------------------------------------------------------------------


@given(st.text(min_size=1), st.sampled_from(["https://rest.clicksend.com/v3/own-numbers", "/v3/alpha-tags"]))
def test_cursor_is_read_back_from_any_next_link(token: str, base: str) -> None:
    link = f"{base}?{urlencode({'page_size': 10, 'offset': token, 'sort_direction': 'asc'})}"
    assert _cursor_of(link) == token


# --- cancellation ----------------------------------------------------------------------------


def test_requests_cancelled_at_any_point_leave_the_pool_usable(emu: Emulator) -> None:
    """A statement that has its rows cancels the requests still running (a LIMIT, a deadline).
    Cancelled inside httpcore 1.0.9, a request can leak its pool connection (encode/httpcore#1093);
    with one slot, one leak made every later request wait out its deadline. Each cancel here lands
    a different number of event-loop steps into a request, and the next request must still work."""

    async def cancel_after(steps: int) -> None:
        async with fast_client(settings_for(emu), concurrency=1, timeout=1, deadline=2) as client:
            request = asyncio.ensure_future(client.request("GET", "/account"))
            for _ in range(steps):
                await asyncio.sleep(0)
            request.cancel()
            await asyncio.gather(request, return_exceptions=True)
            assert (await client.request("GET", "/account")).data["username"] == emu.username, steps

    async def main() -> None:
        for steps in range(40):  # a fresh client each time: the leak needs a connection not yet made
            await cancel_after(steps)

    run(main())


# --- a list walk's later pages over aiohttp --------------------------------------------------------


def _page_request(emu: Emulator, page: int = 2) -> httpx.Request:
    return httpx.Request("GET", f"{emu.base_url}/sms/history?limit=15&page={page}",
                         headers={"Authorization": httpx.BasicAuth(emu.username, emu.api_key)._auth_header})


def test_aiohttp_pages_raise_httpx_s_errors_for_what_happened() -> None:
    """Before the request was written: ConnectError (a GET or a send may be repeated); after it,
    a read error or timeout, never a connect error (the request may have been acted on). Sends never
    come this way at all: the client sends only a walk's later pages here."""
    from clicksend_sql.http.aiohttp_pages import AiohttpPages

    async def attempt(request: httpx.Request, timeout: float = 5) -> httpx.Response:
        pages = AiohttpPages(limit=2, timeout=timeout)
        try:
            return await pages.get(str(request.url), request.headers)
        finally:
            await pages.aclose()

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = unused.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        run(attempt(httpx.Request("GET", f"http://127.0.0.1:{closed}/v3/sms/history?page=2")))
    with Emulator(seed=0, sizes={"sms-history": 30}, latency_ms=0, jitter_ms=0) as emu:
        ok = run(attempt(_page_request(emu)))
        assert ok.status_code == 200 and len(ok.json()["data"]["data"]) == 15 and ok.num_bytes_downloaded == len(ok.content)
        exact = httpx.Request("GET", f"{emu.base_url}/sms/history", params={"page": 2, "limit": 15, "q": "status:Sent/x!"})
        emu.reset_stats()
        run(attempt(exact))
        assert emu.requests() == [f"GET {exact.url.raw_path.decode()}"]  # the query exactly as httpx encoded it
        emu.fault("GET /v3/sms/history", "drop")
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            run(attempt(_page_request(emu)))
    with Emulator(seed=0, sizes={"sms-history": 30}, latency_ms=1500, jitter_ms=0) as slow, pytest.raises(httpx.ReadTimeout):
        run(attempt(_page_request(slow), timeout=0.3))


_QUERY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(path=st.lists(st.text("abz09-_.~ %:@!$&'()*+,;=é", min_size=1, max_size=8), min_size=1, max_size=3),
       params=st.dictionaries(_QUERY_TEXT, st.one_of(_QUERY_TEXT, st.integers(), st.booleans()), max_size=4),
       base=st.sampled_from(["https://rest.clicksend.com/v3", "http://127.0.0.1:8080/v3/", "https://h.example"]))
def test_a_later_page_is_asked_for_at_the_url_httpx_would_send(path: list[str], params: dict[str, Any], base: str) -> None:
    """Later pages skip httpx's client layer; their URLs are byte for byte the ones it builds."""
    client = ClickSendClient(Settings(username="u", api_key="k", base_url=base))
    joined = "/" + "/".join(path)
    expected = client._http.build_request("GET", joined, params=params).url
    assert client._page_url(joined, params) == str(expected)
    with_query = joined + "?q=a%2Fb"  # a path with a query of its own: whatever httpx makes of it with params
    assert client._page_url(with_query, params) == str(client._http.build_request("GET", with_query, params=params).url)


def test_aiohttp_pages_take_the_proxy_the_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from clicksend_sql.http.aiohttp_pages import AiohttpPages, reaches

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "reseller.example")
    transport = AiohttpPages(limit=1, timeout=1)
    assert transport._proxy("https", "rest.clicksend.com") == "http://proxy.internal:3128"
    assert transport._proxy("https", "reseller.example") is None
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")  # no scheme: httpx takes it as an HTTP proxy
    assert AiohttpPages(limit=1, timeout=1)._proxy("https", "rest.clicksend.com") == "http://proxy.corp:3128"
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.setenv("ALL_PROXY", "http://all.internal:8080")
    assert AiohttpPages(limit=1, timeout=1)._proxy("https", "rest.clicksend.com") == "http://all.internal:8080"
    assert reaches("https://rest.clicksend.com/v3")
    monkeypatch.setenv("ALL_PROXY", "socks5://socks.internal:1080")  # httpx's alone: later pages stay on httpx
    assert not reaches("https://rest.clicksend.com/v3")


def test_only_a_walk_of_several_pages_imports_aiohttp(emu: Emulator) -> None:
    """A one-page query keeps the CLI's start-up (aiohttp costs ~0.1 s to import); a longer walk
    reads its later pages over aiohttp, every row once."""
    script = ("import sys, clicksend_sql\n"
              f"con = clicksend_sql.connect({emu.username!r}, {emu.api_key!r}, base_url={emu.base_url!r}, cache_ttl=0)\n"
              "con.sql('SELECT count(*) FROM ContactLists').fetchall()\n"
              "print('aiohttp' in sys.modules)\n"
              "print(con.sql('SELECT count(DISTINCT MessageId) FROM SMSHistory').fetchall()[0][0])\n"
              "print('aiohttp' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", str(HISTORY_ROWS), "True"], done.stderr
    assert done.stderr == "", done.stderr  # the connection is never closed: its aiohttp session is, quietly
