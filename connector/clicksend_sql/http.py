"""The async HTTP client every SQL statement goes through.

One :class:`ClickSendClient` owns an ``httpx.AsyncClient`` and enforces three policies in one
place so callers never repeat them:

* a concurrency cap (``asyncio.Semaphore``) and a token bucket (``aiolimiter``) per client;
* retries (``tenacity``): a 429 is always retried, because ClickSend refused before acting;
  5xx and dropped connections only when the request is safe to repeat (GET by default), so a
  send or a charge is never repeated blindly;
* typed errors (:mod:`clicksend_sql.errors`) whose messages name the request and never the key.

Pages are handed back as raw bytes (:class:`ApiResponse`); only the responses that pagination
itself must read are parsed here, the engine converts the rest with Arrow's JSON reader.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from functools import cached_property, partial
from importlib.metadata import version
from typing import Any

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_random_exponential

from .config import Settings
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)

log = logging.getLogger("clicksend_sql.http")

USER_AGENT = f"clicksend-sql/{version('clicksend-sql')}"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_RETRY_AFTER = 60.0
"""Longest server-requested pause we honour for one retry; longer ones are clamped."""
PAGE_STYLES = ("page", "cursor", "cursor_no_envelope")
LIMITER_BURST = 4.0
"""Tokens the rate limiter lets through back to back (see :func:`_limiter`)."""

# Nothing reached the server, so repeating cannot send or charge twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request may have been acted on; repeat only when the caller says it is safe.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass
class RequestStats:
    """Per-client counters; the engine diffs two snapshots to report one statement's cost.

    ``requests`` counts attempts (retries included). ``wait_seconds`` is summed over requests,
    so concurrent waits add up and it can exceed the wall time.
    """

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    wait_seconds: float = 0.0
    rate_limited: int = 0

    def snapshot(self) -> RequestStats:
        """A copy that later requests do not change.

        >>> s = RequestStats(requests=3); t = s.snapshot(); s.requests += 1; t.requests
        3
        """
        return replace(self)

    def __sub__(self, other: RequestStats) -> RequestStats:
        """The counts accrued between two snapshots.

        >>> RequestStats(requests=5, wait_seconds=1.5) - RequestStats(requests=2, wait_seconds=0.5)
        RequestStats(requests=3, retries=0, bytes_received=0, bytes_sent=0, wait_seconds=1.0, rate_limited=0)
        """
        return RequestStats(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})


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
        if not self.content:
            return None
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError as exc:
            raise APIError(
                f"ClickSend answered {self.method} {self.path} with HTTP {self.status} and a body that is not "
                f"JSON ({exc}).",
                status=self.status,
                method=self.method,
                path=self.path,
            ) from None

    @property
    def data(self) -> Any:
        """The envelope's ``data`` for enveloped bodies, else the whole body (own-numbers, alpha-tags)."""
        body = self._parsed
        if isinstance(body, dict) and "data" in body and ("response_code" in body or "http_code" in body):
            return body["data"]
        return body


def retry_after_seconds(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """How long the server asked us to wait: ``Retry-After`` (seconds or HTTP date), else
    ``ratelimit-reset`` (seconds, per ClickSend); clamped to ``[0, MAX_RETRY_AFTER]``.

    >>> retry_after_seconds(httpx.Headers({"Retry-After": "2", "ratelimit-reset": "1"}))
    2.0
    >>> retry_after_seconds(httpx.Headers({"ratelimit-reset": "0.5"}))
    0.5
    >>> retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    True
    """
    for name in ("retry-after", "ratelimit-reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            when = _http_date(value) if name == "retry-after" else None
            if when is None:
                continue
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
        if math.isfinite(seconds):
            return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return None


def _http_date(value: str) -> datetime | None:
    """An RFC 9110 date as an aware datetime, or None when it is not one."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _retriable(exc: BaseException | None, retry_transient: bool) -> bool:
    """Whether a failed attempt may be repeated: always if nothing was sent, else only when allowed."""
    return isinstance(exc, _NOT_SENT) or (retry_transient and isinstance(exc, _TRANSIENT))


def _should_retry(retry_transient: bool, state: RetryCallState) -> bool:
    """Tenacity predicate: 429 and never-sent requests always; 5xx and dropped connections
    only when ``retry_transient`` (the request is known to be safe to repeat)."""
    outcome = state.outcome
    assert outcome is not None
    if outcome.failed:
        return _retriable(outcome.exception(), retry_transient)
    status = outcome.result().status_code
    return status == 429 or (retry_transient and status >= 500)


def _last_outcome(state: RetryCallState) -> httpx.Response:
    """After the last attempt, hand back its response (or raise its error) instead of RetryError."""
    assert state.outcome is not None
    return state.outcome.result()


def _envelope(response: httpx.Response) -> dict[str, Any]:
    """The error envelope of a response, ``{}`` when the body is not one."""
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _field_errors(envelope: Mapping[str, Any]) -> dict[str, Any] | None:
    """Per-field messages: ``data`` as a map, or the ``details: [{field, reason}]`` list of newer endpoints."""
    data = envelope.get("data")
    details = envelope.get("details")
    if isinstance(details, list):
        merged = dict(data) if isinstance(data, dict) else {}
        merged.update({str(d.get("field")): d.get("reason") for d in details if isinstance(d, dict)})
        return merged or None
    return data if isinstance(data, dict) else None


def _describe(message: Any) -> str:
    """A field message as text (Laravel-style bodies send a list of messages per field)."""
    return "; ".join(map(str, message)) if isinstance(message, list) else str(message)


def _limiter(rate: float) -> AsyncLimiter:
    """A token bucket refilling at ``rate`` per second with a small burst.

    A burst as large as the rate would let a scan open with a second's worth of requests at
    once, which a server counting per window answers with 429s. A burst of 1 loses every late
    timer wake-up for good (measured: a 50/s scan ran at ~0.83 of the rate); a few tokens
    absorb that lateness and keep the scan within ~3% of the rate (benchmarks/bench_client.py).
    """
    burst = max(1.0, min(rate, LIMITER_BURST))
    return AsyncLimiter(burst, burst / rate)


async def _as_completed(
    fetches: Iterable[Callable[[], Awaitable[ApiResponse]]], *, window: int
) -> AsyncIterator[ApiResponse]:
    """Run fetches with at most ``window`` started at once, yielding results as they finish.

    The window bounds memory when the consumer is slower than the network; the client's
    semaphore and limiter still decide how many are actually on the wire.
    """
    pending = iter(fetches)
    running = {asyncio.ensure_future(f()) for f in itertools.islice(pending, window)}
    try:
        while running:
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            running |= {asyncio.ensure_future(f()) for f in itertools.islice(pending, len(done))}
            for task in done:
                yield task.result()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


def _enveloped_cursor(body: Any) -> tuple[int, str | None]:
    """Rows on a ``/senders/default-senders`` page and its next-page link."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return 0, None
    rows = data.get("data")
    return (len(rows) if isinstance(rows, list) else 0), data.get("next_page_url")


def _bare_cursor(rows_key: str | None, body: Any) -> tuple[int, str | None]:
    """Rows on an ``/own-numbers`` or ``/alpha-tags`` page and its ``_metadata.pagination.next``.

    Without ``rows_key`` the rows are the body's list-valued member.

    >>> _bare_cursor(None, {"alpha_tags": [{}, {}], "_metadata": {"pagination": {"next": "/alpha-tags?offset=a1"}}})
    (2, '/alpha-tags?offset=a1')
    """
    if not isinstance(body, dict):
        return 0, None
    rows = body.get(rows_key) if rows_key else next((v for v in body.values() if isinstance(v, list)), None)
    pagination = (body.get("_metadata") or {}).get("pagination") or {}
    return (len(rows) if isinstance(rows, list) else 0), pagination.get("next")


def _cursor_of(link: str) -> str | None:
    """The ``offset`` of a next-page link, or the link itself when the server sent a bare token.

    >>> _cursor_of("https://rest.clicksend.com/v3/own-numbers?offset=a%23b&page_size=10"), _cursor_of("YQ/b==")
    ('a#b', 'YQ/b==')
    """
    if "?" in link or link.startswith(("http://", "https://", "/")):
        return httpx.URL(link).params.get("offset")
    return link


class ClickSendClient:
    """Async ClickSend REST v3 client with rate limiting, bounded concurrency and safe retries.

    Use as ``async with ClickSendClient(settings) as client: ...`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rate_limit: float | None = 20.0,
        concurrency: int = 8,
        max_retries: int = 5,
        backoff_base: float = 0.2,
        backoff_max: float = 8.0,
        timeout: float = 30.0,
        user_agent: str = USER_AGENT,
    ) -> None:
        if concurrency < 1 or max_retries < 0 or (rate_limit is not None and rate_limit <= 0):
            raise ValueError("concurrency must be >= 1, max_retries >= 0 and rate_limit > 0 or None")
        self.settings = settings
        self.stats = RequestStats()
        self._concurrency = concurrency
        self._max_retries = max_retries
        self._slots = asyncio.Semaphore(concurrency)
        self._limiter = _limiter(rate_limit) if rate_limit is not None else None
        self._resume_at = 0.0  # time.monotonic() before which no request is sent (after a 429)
        self._backoff = wait_random_exponential(multiplier=backoff_base, max=backoff_max)
        self._auth = httpx.BasicAuth(settings.username, settings.api_key)
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"ClickSendClient(base_url={self.settings.base_url!r}, username={self.settings.username!r})"

    async def __aenter__(self) -> ClickSendClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        retry: bool | None = None,
        auth: bool = True,
    ) -> ApiResponse:
        """Call ``method path`` (v3-relative, e.g. ``/lists/5/contacts``) and return the 2xx response.

        ``retry=None`` retries 5xx and dropped connections only for GET; pass ``True`` for writes
        known to be idempotent and ``False`` for sends and charges. 429 is always retried.
        Raises the :class:`~clicksend_sql.errors.APIError` subclass for the final status, or
        :class:`~clicksend_sql.errors.TransportError`.
        """
        return await self._request(method, path, params, json, retry=retry, auth=auth)

    async def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any = None,
        *,
        retry: bool | None = None,
        auth: bool = True,
        page: int | None = None,
    ) -> ApiResponse:
        method = method.upper()
        query = {k: v for k, v in params.items() if v is not None} if params else None
        content = orjson.dumps(json) if json is not None else None
        retry_transient = method in SAFE_METHODS if retry is None else retry
        attempt = partial(self._attempt, method, path, query, content, auth)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_retries + 1),
            retry=partial(_should_retry, retry_transient),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._count_retry,
            retry_error_callback=_last_outcome,
        )
        try:
            response: httpx.Response = await retrying(attempt)
        except httpx.RequestError as exc:
            if _retriable(exc, retry_transient):
                note = f" (after {self._max_retries} retries)"
            elif isinstance(exc, _TRANSIENT):
                note = " (not retried: the request may already have been acted on)"
            else:
                note = ""
            raise TransportError(
                f"{method} {path} to {self.settings.base_url} failed: {type(exc).__name__}: {exc or 'no detail'}{note}"
            ) from exc
        if response.is_success:
            return ApiResponse(response.status_code, response.content, response.headers, method, path, page)
        raise self._error(method, path, response, retried=retry_transient)

    async def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        style: str = "page",
        page_size: int = 100,
        max_rows: int | None = None,
        rows_key: str | None = None,
    ) -> AsyncIterator[ApiResponse]:
        """Every page of a list endpoint, each as an :class:`ApiResponse` with ``page`` set.

        ``style="page"`` (``page``/``limit`` paginator): page 1 first, then pages 2..last
        concurrently, yielded as they complete (not in order). ``"cursor"`` (envelope with
        ``data.next_page_url``, size param ``per_page``) and ``"cursor_no_envelope"``
        (``{rows_key: [...], _metadata: {pagination: {next}}}``, size param ``page_size``) are
        walked in order. ``max_rows`` stops once enough pages to cover that many rows were fetched.
        Close the iterator (``contextlib.aclosing``) when stopping early so in-flight pages are cancelled.
        """
        if style == "page":
            pages = self._page_style(path, params, page_size, max_rows)
        elif style == "cursor":
            pages = self._cursor_style(path, params, page_size, max_rows, "per_page", _enveloped_cursor)
        elif style == "cursor_no_envelope":
            pages = self._cursor_style(
                path, params, page_size, max_rows, "page_size", partial(_bare_cursor, rows_key)
            )
        else:
            raise ValueError(f"Unknown pagination style {style!r}; expected one of {PAGE_STYLES}")
        async with aclosing(pages):
            async for response in pages:
                yield response

    async def _page_style(
        self, path: str, params: Mapping[str, Any] | None, page_size: int, max_rows: int | None
    ) -> AsyncIterator[ApiResponse]:
        """Page 1 tells how many pages there are; the rest are fetched in a bounded window."""
        query = {**(params or {}), "limit": page_size}
        first = await self._request("GET", path, {**query, "page": 1}, page=1)
        yield first
        paginator = first.data
        if not isinstance(paginator, dict):
            return
        last_page = int(paginator.get("last_page") or 1)
        if max_rows is not None:
            per_page = int(paginator.get("per_page") or page_size)
            last_page = min(last_page, max(1, math.ceil(max_rows / per_page)))
        fetches = (
            partial(self._request, "GET", path, {**query, "page": n}, page=n) for n in range(2, last_page + 1)
        )
        async with aclosing(_as_completed(fetches, window=2 * self._concurrency)) as rest:
            async for response in rest:
                yield response

    async def _cursor_style(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        page_size: int,
        max_rows: int | None,
        size_param: str,
        read_page: Callable[[Any], tuple[int, str | None]],
    ) -> AsyncIterator[ApiResponse]:
        """Follow the server's cursor one page at a time (each page names the next).

        Only the cursor (``offset``) is taken from the next-page link; the host is ignored so
        credentials never go anywhere but ``base_url``, and the caller's filters stay as given.
        """
        query = {**(params or {}), size_param: page_size}
        seen_rows = 0
        seen_cursors: set[str] = set()
        for page in itertools.count(1):
            response = await self._request("GET", path, query, page=page)
            yield response
            rows, link = read_page(response.json())
            seen_rows += rows
            cursor = _cursor_of(link) if link else None
            if not rows or not cursor or cursor in seen_cursors or (max_rows is not None and seen_rows >= max_rows):
                return
            seen_cursors.add(cursor)
            query["offset"] = cursor

    async def _attempt(
        self, method: str, path: str, params: Mapping[str, Any] | None, content: bytes | None, auth: bool
    ) -> httpx.Response:
        """One try: take a concurrency slot, sit out any 429 pause, take a token, send; count it all."""
        async with self._slots:
            started = time.monotonic()
            if self._resume_at > started:
                await asyncio.sleep(self._resume_at - started)
            if self._limiter is not None:
                await self._limiter.acquire()
            sending = time.monotonic()
            self.stats.wait_seconds += sending - started
            self.stats.requests += 1
            self.stats.bytes_sent += len(content) if content else 0
            response = await self._http.request(
                method,
                path,
                params=params,
                content=content,
                headers=_JSON_HEADERS if content is not None else None,
                auth=self._auth if auth else None,
            )
        self.stats.bytes_received += response.num_bytes_downloaded
        if response.status_code == 429:
            self.stats.rate_limited += 1
            # The limit is per account, so every request of this client would be refused too.
            asked = retry_after_seconds(response.headers)
            if asked:
                self._resume_at = max(self._resume_at, time.monotonic() + asked)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %d in %.1f ms", method, path, response.status_code,
                      (time.monotonic() - sending) * 1000)
        return response

    def _wait(self, state: RetryCallState) -> float:
        """Pause before the next try: what a 429 asks for, else exponential backoff with full jitter."""
        outcome = state.outcome
        if outcome is not None and not outcome.failed and outcome.result().status_code == 429:
            asked = retry_after_seconds(outcome.result().headers)
            if asked:  # "retry after 0 s" would let every retry hammer the server at once
                return asked
        return self._backoff(state)

    async def _sleep(self, seconds: float) -> None:
        self.stats.wait_seconds += seconds
        await asyncio.sleep(seconds)

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        outcome = state.outcome
        assert outcome is not None
        what = repr(outcome.exception()) if outcome.failed else f"HTTP {outcome.result().status_code}"
        log.debug("retry %d after %s; sleeping %.2f s", state.attempt_number, what, state.upcoming_sleep)

    def _error(self, method: str, path: str, response: httpx.Response, *, retried: bool) -> APIError:
        """The typed error for a final non-2xx response; built from the request line and the
        envelope only, so neither the key nor the Authorization header can appear in it."""
        status = response.status_code
        envelope = _envelope(response)
        code = envelope.get("response_code")
        msg = str(envelope.get("response_msg") or response.reason_phrase or "no message")
        where = f"{method} {path}"
        data: Any = envelope.get("data")
        error: type[APIError]
        if status == 401:
            error, text = AuthenticationError, (
                f"ClickSend refused the credentials of user {self.settings.username!r} on {where} ({msg}). "
                "The password is the API key from the dashboard (Developers > API Credentials), not the "
                "dashboard login password; check the username and API key you configured."
            )
        elif status == 403:
            error, text = ForbiddenError, f"ClickSend refused {where}: {msg}"
        elif status == 404:
            error, text = NotFoundError, f"{where} was not found: {msg}"
        elif status in (400, 422):
            data = _field_errors(envelope)
            details = "; ".join(f"{k}: {_describe(v)}" for k, v in (data or {}).items())
            error, text = BadRequestError, f"ClickSend rejected {where}: {msg}" + (f" ({details})" if details else "")
        elif status == 429:
            error, text = RateLimitError, (
                f"ClickSend still rate-limited {where} after {self._max_retries} retries ({msg}); "
                "lower rate_limit or try again later."
            )
        elif status >= 500:
            error, text = ServerError, f"ClickSend failed on {where} with HTTP {status} ({msg})" + (
                f" after {self._max_retries} retries" if retried
                else "; not retried because the request may already have been acted on"
            )
        else:
            error, text = APIError, f"ClickSend answered {where} with HTTP {status} ({msg})"
        return error(text, status=status, response_code=code, method=method, path=path, data=data)
