"""The async HTTP client every SQL statement goes through.

One :class:`ClickSendClient` owns an ``httpx.AsyncClient`` and enforces three policies in one
place so callers never repeat them:

* a concurrency cap (``asyncio.Semaphore``) and a token bucket (``aiolimiter``) per client;
* retries (``tenacity``) within the user's policy, as :mod:`.retries` decides them, so a send or a
  charge is never repeated blindly;
* only the package's own errors (:mod:`.errors`), naming the request, with the API key masked
  wherever a server or proxy echoed it (bodies included).

Pages are handed back as raw bytes (:class:`~.responses.ApiResponse`), walked by the paginator
of the list's envelope shape (:mod:`.pagination`); the engine converts the rows with Arrow's JSON
reader.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, fields, replace
from functools import partial
from importlib.metadata import version
from typing import Any

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, wait_random_exponential

from ..config import Settings
from ..errors import ConfigurationError, DeadlineError, InvalidRequestError
from ..redaction import redact_bytes, redact_text, secret_forms
from .errors import status_error, transport_error
from .pagination import PAGE_STYLES, PAGINATORS, PageWalk
from .responses import ApiResponse
from .retries import (
    DEFAULT_DEADLINE,
    DEFAULT_RETRIES,
    SAFE_METHODS,
    _last_outcome,
    _should_retry,
    _Tries,
    _wait,
    retry_after_seconds,
)

log = logging.getLogger("clicksend_sql.http")

USER_AGENT = f"clicksend-sql/{version('clicksend-sql')}"
LIMITER_BURST = 4.0
"""Tokens the rate limiter lets through back to back (see :func:`_limiter`)."""

# Every failure httpx can raise for a request (InvalidURL and StreamError are not HTTPErrors).
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
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


def _limiter(rate: float) -> AsyncLimiter:
    """A token bucket refilling at ``rate`` per second with a small burst.

    A burst as large as the rate would let a scan open with a second's worth of requests at
    once, which a server counting per window answers with 429s. A burst of 1 loses every late
    timer wake-up for good (measured: a 50/s scan ran at ~0.83 of the rate); a few tokens
    absorb that lateness and keep the scan within ~3% of the rate (benchmarks/bench_client.py).
    """
    burst = max(1.0, min(rate, LIMITER_BURST))
    return AsyncLimiter(burst, burst / rate)


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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``retries``: failed attempts repeated after the first (a 429 that says when to come back
        is not one); ``deadline``: seconds one request may take, all retries and waits included;
        ``transport``: httpx's, for a test that scripts the server (``httpx.MockTransport``)."""
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
        self._secrets = secret_forms(settings.username, settings.api_key)
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            follow_redirects=False,
            transport=transport,
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
            text = f"The body of {where} cannot be sent as JSON: {exc}"
            raise InvalidRequestError(redact_text(text, self._secrets)) from exc
        retry_transient = method in SAFE_METHODS if retry is None else retry
        tries = _Tries(self._retries, self._deadline)
        retrying = AsyncRetrying(
            stop=tries.stop,
            retry=partial(_should_retry, retry_transient),
            wait=partial(_wait, self._backoff),
            sleep=self._sleep,
            after=tries.record,
            before_sleep=self._count_retry,
            retry_error_callback=_last_outcome,
        )
        try:
            response: httpx.Response = await retrying(partial(self._attempt, method, path, query, content, auth, tries))
        except TimeoutError as exc:
            last = f"; last: {tries.last}" if tries.last else ""
            raise DeadlineError(redact_text(
                f"{where} to {self.settings.base_url} did not complete within its {self._deadline:g} s deadline "
                f"({tries.counted}{last}); raise deadline= or try later.", self._secrets
            )) from exc
        except _HTTPX_ERRORS as exc:
            raise transport_error(
                where, self.settings.base_url, exc, tries, retried=retry_transient, secrets=self._secrets
            ) from exc
        if response.is_success:
            body = redact_bytes(response.content, self._secrets)  # GET /account echoes the key
            return ApiResponse(response.status_code, body, response.headers, method, path, page)
        raise status_error(
            method, path, response, tries,
            retried=retry_transient, username=self.settings.username, secrets=self._secrets,
        )

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
    ) -> AsyncGenerator[ApiResponse, None]:
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
        paginator = PAGINATORS.get(style)
        if paginator is None:
            raise ValueError(f"Unknown pagination style {style!r}; expected one of {PAGE_STYLES}")
        walk = PageWalk(page_size, max_rows, window=1 if in_order else 2 * self._concurrency, rows_key=rows_key)
        pages = paginator.pages(partial(self._page, path), params, walk)
        async with aclosing(pages):
            async for response in pages:
                yield response

    async def _page(self, path: str, query: Mapping[str, Any], page: int) -> ApiResponse:
        """Page ``page`` of a list walk: a GET whose errors name the page."""
        return await self._request("GET", path, query, page=page)

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

    async def _sleep(self, seconds: float) -> None:
        self.stats.wait_seconds += seconds
        await asyncio.sleep(seconds)

    def _count_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        outcome = state.outcome
        assert outcome is not None
        what = repr(outcome.exception()) if outcome.failed else f"HTTP {outcome.result().status_code}"
        log.debug("retry %d after %s; sleeping %.2f s", state.attempt_number, what, state.upcoming_sleep)
