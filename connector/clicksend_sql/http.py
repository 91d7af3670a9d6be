"""The async HTTP client every SQL statement goes through.

One :class:`ClickSendClient` owns an ``httpx.AsyncClient`` and enforces three policies in one
place so callers never repeat them:

* a concurrency cap (``asyncio.Semaphore``) and a token bucket (``aiolimiter``) per client;
* retries (``tenacity``) within the user's policy (``retries`` failed attempts after the first,
  and a ``deadline`` per request): a 429 is always retried, because ClickSend refused before
  acting, and one that says when to come back is waited out without counting as a failure;
  5xx and dropped connections only when the request is safe to repeat (GET by default), so a
  send or a charge is never repeated blindly;
* only the package's own errors (:mod:`clicksend_sql.errors`), naming the request, with the
  API key masked wherever a server or proxy echoed it (bodies included).

Pages are handed back as raw bytes (:class:`ApiResponse`); pagination checks every page is the
page it asked for (a proxy's HTML page or a wrong envelope must fail, not read as no rows), and
the engine converts the rows with Arrow's JSON reader.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import itertools
import logging
import math
import re
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
from tenacity import AsyncRetrying, Future, RetryCallState, wait_random_exponential

from .config import Settings
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DeadlineError,
    ForbiddenError,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    redact,
)

log = logging.getLogger("clicksend_sql.http")

USER_AGENT = f"clicksend-sql/{version('clicksend-sql')}"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_RETRY_AFTER = 60.0
"""Longest server-requested pause we honour for one retry; longer ones are clamped."""
PAGE_STYLES = ("page", "cursor", "cursor_no_envelope")
LIMITER_BURST = 4.0
"""Tokens the rate limiter lets through back to back (see :func:`_limiter`)."""
DEFAULT_RETRIES = 8
"""Failed attempts repeated after the first. At 20% failing requests a request is lost with odds
0.2**9 (5e-7), so even statements of thousands of requests stay exact."""
DEFAULT_DEADLINE = 120.0
"""Seconds one request may take from its first send, retries and waits included: room for a
``MAX_RETRY_AFTER`` pause and the whole backoff of ``DEFAULT_RETRIES``."""

# Nothing reached the server, so repeating cannot send or charge twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request may have been acted on; repeat only when the caller says it is safe.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# Every failure httpx can raise for a request (InvalidURL and StreamError are not HTTPErrors).
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
_JSON_HEADERS = {"Content-Type": "application/json"}
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


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
            raise self.invalid("is not a ClickSend page (no list of rows at data.data)")
        counts = {name: self._whole_number(data, name) for name in ("current_page", "last_page", "per_page", "total")}
        current, last = counts.pop("current_page"), counts.pop("last_page")
        if current is None or last is None:
            raise self.invalid("is a page without current_page or last_page")
        if self.page is not None and current != self.page:
            raise self.invalid(f"is page {current}, not the page asked for")
        return Paginator(current, max(last, 1), **counts)

    def _whole_number(self, paginator: Mapping[str, Any], name: str) -> int | None:
        """A paginator count: ClickSend sends ints, integral floats or digit strings; null is absent.
        A count fits a BIGINT, so ``total`` can become one."""
        value = paginator.get(name)
        if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63):
            return value
        raise self.invalid(f"has {name} = {value!r:.40}, not a whole number of at most 63 bits")


@dataclass(frozen=True)
class Paginator:
    """The counts of a ``page``-style answer; they decide which pages are asked for next."""

    current_page: int
    last_page: int
    per_page: int | None = None
    total: int | None = None


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


def _waited_out(outcome: Future) -> bool:
    """A 429 that said when to come back: ClickSend refused before acting, not a failed attempt."""
    return not outcome.failed and outcome.result().status_code == 429 and (
        retry_after_seconds(outcome.result().headers) is not None
    )


def _outcome_text(outcome: Future) -> str:
    """An attempt's outcome in a message: its status, or its transport error."""
    if outcome.failed:
        exc = outcome.exception()
        return f"{type(exc).__name__}: {exc or 'no detail'}"
    return f"HTTP {outcome.result().status_code}"


@dataclass
class _Tries:
    """One request's retry budget. Tenacity counts attempts, not which of them failed (a waited-out
    429 does not) nor when the request first got a connection slot: the deadline runs from there,
    because time queued behind the client's own requests (a fan-out over thousands of lists) is
    not time spent on this one."""

    retries: int
    deadline: float
    started: float | None = None
    attempts: int = 0
    failures: int = 0
    last: str | None = None

    def begin(self, now: float) -> None:
        """An attempt holds a slot and is about to wait for its turn and send."""
        self.started = now if self.started is None else self.started
        self.attempts += 1

    def remaining(self) -> float:
        return self.deadline - (time.monotonic() - self.started) if self.started is not None else self.deadline

    def record(self, state: RetryCallState) -> None:
        """Tenacity ``after`` hook, run before ``stop`` for every attempt that would be retried."""
        assert state.outcome is not None
        self.last = _outcome_text(state.outcome)
        self.failures += not _waited_out(state.outcome)

    def stop(self, state: RetryCallState) -> bool:
        """Tenacity ``stop``: out of failed attempts, or the next pause would outlast the deadline."""
        return self.failures > self.retries or state.upcoming_sleep >= self.remaining()

    @property
    def counted(self) -> str:
        return f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"

    def summary(self) -> str:
        """How a retried request ended, for messages: ``after 3 attempts (no time left in its 10 s deadline)``."""
        out_of_time = self.failures <= self.retries
        return f"after {self.counted}" + (f" (no time left in its {self.deadline:g} s deadline)" if out_of_time else "")


def _envelope(content: bytes) -> dict[str, Any]:
    """The error envelope of a body, ``{}`` when the body is not one."""
    try:
        body = orjson.loads(content) if content else None
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
    unclaimed = {asyncio.ensure_future(f()) for f in itertools.islice(pending, window)}  # running or unread
    try:
        while unclaimed:
            done, _ = await asyncio.wait(unclaimed, return_when=asyncio.FIRST_COMPLETED)
            unclaimed |= {asyncio.ensure_future(f()) for f in itertools.islice(pending, len(done))}
            for task in done:
                unclaimed.discard(task)
                yield task.result()
    finally:
        # also the finished ones never read (a sibling failed first), so no error goes unretrieved
        for task in unclaimed:
            task.cancel()
        await asyncio.gather(*unclaimed, return_exceptions=True)


def _enveloped_cursor(response: ApiResponse) -> tuple[int, str | None]:
    """Rows on a ``/senders/default-senders`` page and the cursor of the next page."""
    body = response.json()
    data = body.get("data") if isinstance(body, dict) else None
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise response.invalid("is not a ClickSend page (no list of rows at data.data)")
    return len(rows), _next_cursor(response, data.get("next_page_url"))


def _bare_cursor(rows_key: str | None, response: ApiResponse) -> tuple[int, str | None]:
    """Rows on an ``/own-numbers`` or ``/alpha-tags`` page and the cursor of its
    ``_metadata.pagination.next``. Without ``rows_key`` the rows are the body's list-valued member.

    >>> body = b'{"alpha_tags": [{}, {}], "_metadata": {"pagination": {"next": "/alpha-tags?offset=a1"}}}'
    >>> _bare_cursor(None, ApiResponse(200, body, httpx.Headers(), "GET", "/alpha-tags"))
    (2, 'a1')
    """
    body = response.json()
    if not isinstance(body, dict):
        raise response.invalid("is not a JSON object")
    rows = body.get(rows_key) if rows_key else next((v for v in body.values() if isinstance(v, list)), None)
    if not isinstance(rows, list):
        raise response.invalid(f"has no list of rows{f' at {rows_key}' if rows_key else ''}")
    metadata = body.get("_metadata")
    pagination = metadata.get("pagination") if isinstance(metadata, dict) else None
    return len(rows), _next_cursor(response, pagination.get("next") if isinstance(pagination, dict) else None)


def _next_cursor(response: ApiResponse, link: Any) -> str | None:
    """The cursor of a page's next-page link; ``None`` on the last page."""
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        raise response.invalid(f"has a next-page link that is {type(link).__name__}, not text")
    try:
        return _cursor_of(link)
    except httpx.InvalidURL as exc:
        raise response.invalid(f"has a next-page link that is not a URL ({exc})") from exc


def _cursor_of(link: str) -> str | None:
    """The ``offset`` of a next-page link, or the link itself when the server sent a bare token.

    >>> _cursor_of("https://rest.clicksend.com/v3/own-numbers?offset=a%23b&page_size=10"), _cursor_of("YQ/b==")
    ('a#b', 'YQ/b==')
    """
    if "?" in link or link.startswith(("http://", "https://", "/")):
        return httpx.URL(link).params.get("offset")
    return link


def _secret_forms(username: str, api_key: str) -> tuple[str, ...]:
    """What to mask: the key and the Basic credentials built from it, as sent, without base64
    padding, and with ``/`` escaped as PHP's ``json_encode`` writes it.

    >>> _secret_forms("u", "K?")
    ('K?', 'dTpLPw==', 'dTpLPw')
    """
    token = base64.b64encode(f"{username}:{api_key}".encode()).decode()
    forms = (api_key, token, token.rstrip("="))
    return tuple(dict.fromkeys(f for form in forms for f in (form, form.replace("/", "\\/"))))


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
        retries: int = DEFAULT_RETRIES,
        deadline: float = DEFAULT_DEADLINE,
        backoff_base: float = 0.2,
        backoff_max: float = 8.0,
        timeout: float = 30.0,
        user_agent: str = USER_AGENT,
    ) -> None:
        """``retries``: failed attempts repeated after the first (a 429 that says when to come back
        is not one); ``deadline``: seconds one request may take, all retries and waits included."""
        if concurrency < 1 or retries < 0 or (rate_limit is not None and rate_limit <= 0):
            raise ConfigurationError("concurrency must be >= 1, retries >= 0 and rate_limit > 0 or None")
        if not 0 < deadline < math.inf:
            raise ConfigurationError(f"deadline must be a positive number of seconds, not {deadline!r}")
        self.settings = settings
        self.stats = RequestStats()
        self._concurrency = concurrency
        self._retries = retries
        self._deadline = deadline
        self._slots = asyncio.Semaphore(concurrency)
        self._sending: set[asyncio.Future[httpx.Response]] = set()  # sends running (see _attempt)
        self._limiter = _limiter(rate_limit) if rate_limit is not None else None
        self._resume_at = 0.0  # time.monotonic() before which no request is sent (after a 429)
        self._backoff = wait_random_exponential(multiplier=backoff_base, max=backoff_max)
        self._auth = httpx.BasicAuth(settings.username, settings.api_key)
        self._secrets = _secret_forms(settings.username, settings.api_key)
        self._secret_bytes = tuple(s.encode() for s in self._secrets)
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
        """Close pooled connections, after the sends cancelled callers left running (they only read
        what a finished statement no longer wants)."""
        for send in list(self._sending):
            send.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
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
        where = f"{method} {path}"
        query = {k: v for k, v in params.items() if v is not None} if params else None
        try:
            content = orjson.dumps(json) if json is not None else None
        except orjson.JSONEncodeError as exc:
            raise InvalidRequestError(self._redact(f"The body of {where} cannot be sent as JSON: {exc}")) from exc
        retry_transient = method in SAFE_METHODS if retry is None else retry
        tries = _Tries(self._retries, self._deadline)
        retrying = AsyncRetrying(
            stop=tries.stop,
            retry=partial(_should_retry, retry_transient),
            wait=self._wait,
            sleep=self._sleep,
            after=tries.record,
            before_sleep=self._count_retry,
            retry_error_callback=_last_outcome,
        )
        try:
            response: httpx.Response = await retrying(partial(self._attempt, method, path, query, content, auth, tries))
        except TimeoutError as exc:
            last = f"; last: {tries.last}" if tries.last else ""
            raise DeadlineError(self._redact(
                f"{where} to {self.settings.base_url} did not complete within its {self._deadline:g} s deadline "
                f"({tries.counted}{last}); raise deadline= or try later."
            )) from exc
        except _HTTPX_ERRORS as exc:
            if _retriable(exc, retry_transient):
                note = f" {tries.summary()}"
            elif isinstance(exc, _TRANSIENT):
                note = " (not retried: the request may already have been acted on)"
            else:
                note = ""
            raise TransportError(self._redact(
                f"{where} to {self.settings.base_url} failed{note}: {type(exc).__name__}: {exc or 'no detail'}"
            )) from exc
        if response.is_success:
            return ApiResponse(response.status_code, self._scrub(response.content), response.headers, method, path, page)
        raise self._error(method, path, response, tries, retried=retry_transient)

    @property
    def concurrency(self) -> int:
        """How many requests may be on the wire at once."""
        return self._concurrency

    async def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        style: str = "page",
        page_size: int = 100,
        max_rows: int | None = None,
        rows_key: str | None = None,
        in_order: bool = False,
    ) -> AsyncIterator[ApiResponse]:
        """Every page of a list endpoint, each as an :class:`ApiResponse` with ``page`` set.

        ``style="page"`` (``page``/``limit`` paginator): page 1 first, then pages 2..last
        concurrently, yielded as they complete (not in order). ``"cursor"`` (envelope with
        ``data.next_page_url``, size param ``per_page``) and ``"cursor_no_envelope"``
        (``{rows_key: [...], _metadata: {pagination: {next}}}``, size param ``page_size``) are
        walked in order. ``max_rows`` stops once enough pages to cover that many rows were fetched.
        ``in_order`` fetches one page at a time, in order, for a caller that stops reading once the
        rows it has are enough (a LIMIT over a filter the API applies only roughly).
        Close the iterator (``contextlib.aclosing``) when stopping early so in-flight pages are cancelled.
        """
        if style == "page":
            pages = self._page_style(path, params, page_size, max_rows, 1 if in_order else 2 * self._concurrency)
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
        self, path: str, params: Mapping[str, Any] | None, page_size: int, max_rows: int | None, window: int
    ) -> AsyncIterator[ApiResponse]:
        """Page 1 tells how many pages there are; the rest are fetched in a bounded window."""
        query = {**(params or {}), "limit": page_size}
        first = await self._request("GET", path, {**query, "page": 1}, page=1)
        paginator = first.paginator()
        yield first
        if paginator is None:
            return
        last_page = paginator.last_page
        if max_rows is not None:
            last_page = min(last_page, max(1, math.ceil(max_rows / (paginator.per_page or page_size))))
        fetches = (partial(self._later_page, path, query, n) for n in range(2, last_page + 1))
        async with aclosing(_as_completed(fetches, window=window)) as rest:
            async for response in rest:
                yield response

    async def _later_page(self, path: str, query: Mapping[str, Any], page: int) -> ApiResponse:
        """Page ``page``, checked to be that page: a server repeating one body cannot scan forever."""
        response = await self._request("GET", path, {**query, "page": page}, page=page)
        response.paginator()
        return response

    async def _cursor_style(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        page_size: int,
        max_rows: int | None,
        size_param: str,
        read_page: Callable[[ApiResponse], tuple[int, str | None]],
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
            rows, cursor = read_page(response)
            yield response
            seen_rows += rows
            if not rows or not cursor or cursor in seen_cursors or (max_rows is not None and seen_rows >= max_rows):
                return
            seen_cursors.add(cursor)
            query["offset"] = cursor

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        auth: bool,
        tries: _Tries,
    ) -> httpx.Response:
        """One try: take a concurrency slot, sit out any 429 pause, take a token, send; count it all.
        Everything after the slot is bounded by what is left of the deadline (``TimeoutError``).

        The send itself runs as a task of its own that a cancelled caller (a statement that has
        its rows, a deadline) leaves to finish, and it keeps the slot until it has: httpcore
        1.0.9 leaks a pool connection when a request is cancelled under pool contention
        (encode/httpcore#1093), and ``concurrency`` leaks leave every later request waiting for
        a connection (``PoolTimeout``). So no request is ever cancelled inside httpx, and the pool
        (as large as the slots) never has a request waiting."""
        await self._slots.acquire()
        sent = False
        try:
            started = time.monotonic()
            tries.begin(started)
            async with asyncio.timeout(tries.remaining()):
                if self._resume_at > started:
                    await asyncio.sleep(self._resume_at - started)
                if self._limiter is not None:
                    await self._limiter.acquire()
                self.stats.wait_seconds += time.monotonic() - started
                self.stats.requests += 1
                self.stats.bytes_sent += len(content) if content else 0
                send = asyncio.ensure_future(self._send(method, path, params, content, auth))
                sent = True
                self._sending.add(send)
                send.add_done_callback(self._sent)
                response = await asyncio.shield(send)
        finally:
            if not sent:
                self._slots.release()
        # counted here, not in _send: what an abandoned send got belongs to no later statement's stats
        self.stats.bytes_received += response.num_bytes_downloaded
        if response.status_code == 429:
            self.stats.rate_limited += 1
        return response

    async def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, content: bytes | None, auth: bool
    ) -> httpx.Response:
        """The request itself, holding the slot :meth:`_attempt` took until httpx is done with it."""
        sending = time.monotonic()
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                content=content,
                headers=_JSON_HEADERS if content is not None else None,
                auth=self._auth if auth else None,
            )
        finally:
            self._slots.release()
        if response.status_code == 429:
            # The limit is per account, so every request of this client would be refused too.
            asked = retry_after_seconds(response.headers)
            if asked:
                self._resume_at = max(self._resume_at, time.monotonic() + asked)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %d in %.1f ms", method, path, response.status_code,
                      (time.monotonic() - sending) * 1000)
        return response

    def _sent(self, send: asyncio.Future[httpx.Response]) -> None:
        """A send is done: forget it, and take its error if the caller that wanted it is gone."""
        self._sending.discard(send)
        if not send.cancelled():
            send.exception()

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

    def _redact(self, text: str) -> str:
        return redact(text, *self._secrets)

    def _scrub(self, content: bytes) -> bytes:
        """A body with the key masked, for a server or proxy that echoes it (``GET /account`` does):
        then no result, error or conversion message downstream can carry it."""
        if not any(secret in content for secret in self._secret_bytes):
            return content
        return self._redact(content.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")

    def _error(self, method: str, path: str, response: httpx.Response, tries: _Tries, *, retried: bool) -> APIError:
        """The typed error for a final non-2xx response; built from the request line and the
        envelope only, with the key masked in what the server said, so neither the key nor the
        Authorization header can appear in it."""
        status = response.status_code
        envelope = _envelope(self._scrub(response.content))
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
                f"ClickSend still rate-limited {where} {tries.summary()} ({msg}); "
                "lower rate_limit, raise deadline= or try again later."
            )
        elif status >= 500:
            error, text = ServerError, f"ClickSend failed on {where} with HTTP {status} ({msg})" + (
                f" {tries.summary()}" if retried
                else "; not retried because the request may already have been acted on"
            )
        else:
            error, text = APIError, f"ClickSend answered {where} with HTTP {status} ({msg})"
        return error(
            self._redact(text),
            status=status,
            response_code=code if isinstance(code, str) else None,
            method=method,
            path=path,
            data=data,
        )
