"""The async HTTP client every SQL statement goes through.

One :class:`ClickSendClient` owns an ``httpx.AsyncClient`` (and, for a list walk's later pages,
an aiohttp session: :mod:`.aiohttp_pages`) and enforces three policies in one place so callers
never repeat them:

* a pace and a number of requests in flight, learnt from the server per account unless given
  (:mod:`.rate_control`, :mod:`.pacing`);
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
import contextvars
import logging
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import aclosing
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from cachetools import LRUCache

from .. import __version__
from ..config import Settings
from ..errors import ConfigurationError, DeadlineError, InvalidRequestError
from ..redaction import redact_bytes, redact_text, secret_forms
from .aiohttp_pages import AiohttpPages
from .aiohttp_pages import reaches as aiohttp_reaches
from .errors import status_error, transport_error
from .pacing import Slots
from .pagination import PAGE_STYLES, PAGINATORS, PageWalk, one_at_a_time
from .rate_control import (
    AUTO,
    MAX_CONCURRENCY,
    Concurrency,
    RateControl,
    RateLimit,
    account_control,
    check_limits,
)
from .response_cache import ResponseCache, reads_cached
from .responses import ApiResponse
from .retries import (
    DEFAULT_DEADLINE,
    DEFAULT_RETRIES,
    SAFE_METHODS,
    _last_outcome,
    _should_retry,
    _Tries,
    _wait,
    wants_retry,
)

if TYPE_CHECKING:
    from tenacity import RetryCallState

log = logging.getLogger("clicksend_sql.http")

USER_AGENT = f"clicksend-sql/{__version__}"

# Every failure httpx can raise for a request (InvalidURL and StreamError are not HTTPErrors).
_HTTPX_ERRORS = (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)
_JSON_HEADERS = {"Content-Type": "application/json"}


def _auth_headers(auth: httpx.BasicAuth) -> dict[str, str]:
    """The headers ``auth`` adds to a request, for requests sent without httpx's client."""
    request = next(auth.sync_auth_flow(httpx.Request("GET", "https://clicksend.invalid")))
    return {"Authorization": request.headers["Authorization"]}


@dataclass
class RequestStats:
    """Per-client counters; a statement's own are counted beside them (``statement_counters``).

    ``requests`` counts attempts (retries included); ``cached`` the GETs answered from the
    connection's cache instead (no request made). ``wait_seconds`` is summed over requests,
    so concurrent waits add up and it can exceed the wall time.
    """

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    bytes_sent: int = 0
    wait_seconds: float = 0.0
    rate_limited: int = 0
    cached: int = 0


statement_counters: ContextVar[tuple[RequestStats, ...]] = ContextVar("statement_counters", default=())
"""The statements a request is counted for, besides its client: set on the I/O loop's task by the
session that started it (:meth:`EventLoopThread.run`), so sessions sharing a client, and tables
replicated at once, each count only their own requests."""


class ClickSendClient:
    """Async ClickSend REST v3 client with rate limiting, bounded concurrency and safe retries.

    Use as ``async with ClickSendClient(settings) as client: ...`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        rate_limit: RateLimit = AUTO,
        concurrency: Concurrency = AUTO,
        retries: int = DEFAULT_RETRIES,
        deadline: float = DEFAULT_DEADLINE,
        backoff_base: float = 0.2,
        backoff_max: float = 8.0,
        timeout: float = 30.0,
        user_agent: str = USER_AGENT,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: ResponseCache[ApiResponse] | None = None,
    ) -> None:
        """``rate_limit``: requests per second, ``"auto"`` (learnt from the account's responses,
        shared by its clients in this process) or None (no pace); ``concurrency``: requests on the
        wire at once, or ``"auto"`` (what the pace needs at the measured latency);
        ``retries``: failed attempts repeated after the first (a 429 that says when to come back
        is not one); ``deadline``: seconds one request may take, all retries and waits included;
        ``transport``: httpx's, for a test that scripts the server (``httpx.MockTransport``);
        ``cache``: where GETs of statements that allow it are answered from (see :mod:`.response_cache`)."""
        if retries < 0:
            raise ConfigurationError(f"retries must be >= 0, not {retries!r}")
        check_limits(rate_limit, concurrency)
        if not 0 < deadline < math.inf:
            raise ConfigurationError(f"deadline must be a positive number of seconds, not {deadline!r}")
        self.settings = settings
        self.stats = RequestStats()
        self.cache = cache
        self._retries = retries
        self._deadline = deadline
        self.rate_control = account_control(settings) if rate_limit == AUTO else RateControl(rate_limit, learn=False)
        self._follow = concurrency == AUTO  # the slots follow the pace
        self._most = MAX_CONCURRENCY if concurrency == AUTO else concurrency
        self._slots = Slots(self.rate_control.slots(self._most) if concurrency == AUTO else concurrency)
        self._turns = asyncio.Lock()  # one request at a time takes its turn, at the newest pace
        self._sending: set[asyncio.Future[httpx.Response]] = set()  # sends running (see _attempt)
        self._backoff = (backoff_base, backoff_max)  # tenacity's wait_random_exponential, made on a retry
        self._auth = httpx.BasicAuth(settings.username, settings.api_key)
        self._secrets = secret_forms(settings.username, settings.api_key)
        self._tls = httpx.create_ssl_context()  # httpx's default, made once for it and the later pages' aiohttp
        self._http = httpx.AsyncClient(
            base_url=settings.base_url,
            verify=self._tls,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=self._most, max_keepalive_connections=self._most),
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            follow_redirects=False,
            transport=transport,
        )
        self._timeout = timeout
        # a list walk's later pages (the bulk of a large read) over aiohttp, made at the first such page,
        # unless a scripted transport (tests) serves every request
        self._pages: AiohttpPages | None = None
        self._pages_wanted = transport is None
        self._page_urls: LRUCache[str, str] = LRUCache(64)  # walks' paths, as httpx makes them absolute
        self._page_headers = {**self._http.headers, **_auth_headers(self._auth)}

    def __repr__(self) -> str:
        return f"ClickSendClient(base_url={self.settings.base_url!r}, username={self.settings.username!r})"

    async def __aenter__(self) -> ClickSendClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections, after the sends cancelled callers left running (they only read
        what a finished statement no longer wants); share the pace learnt."""
        for send in list(self._sending):
            send.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
        try:
            await self._http.aclose()
        finally:
            if self._pages is not None:
                await self._pages.aclose()
        self.rate_control.save()

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
        keep: bool = True,
    ) -> ApiResponse:
        """:meth:`request`, answered from the cache when the statement allows it; ``keep=False``:
        the answer is not stored there."""
        method = method.upper()
        query = {k: v for k, v in params.items() if v is not None} if params else None
        if method != "GET" and self.cache is not None:
            self.cache.clear()  # a write may change any table; cleared again once it is done
            try:
                return await self._fetch(method, path, query, json, retry=retry, auth=auth, page=page)
            finally:
                self.cache.clear()
        cache = self.cache if self.cache is not None and reads_cached.get() else None
        if cache is not None:
            hit = cache.get(path, query)
            if hit is not None:
                self._count(cached=1)
                return hit
        answer = await self._fetch(method, path, query, json, retry=retry, auth=auth, page=page)
        if cache is not None and keep:
            cache.put(path, query, answer)
        return answer

    async def _fetch(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        json: Any,
        *,
        retry: bool | None,
        auth: bool,
        page: int | None,
    ) -> ApiResponse:
        """The request itself: retried within the policy, its failure as the package's error."""
        where = f"{method} {path}"
        try:
            content = orjson.dumps(json) if json is not None else None
        except orjson.JSONEncodeError as exc:
            text = f"The body of {where} cannot be sent as JSON: {exc}"
            raise InvalidRequestError(redact_text(text, self._secrets)) from exc
        retry_transient = method in SAFE_METHODS if retry is None else retry
        tries = _Tries(self._retries, self._deadline)
        attempt = partial(self._attempt, method, path, query, content, auth, tries, page)
        try:
            response = await self._retried(attempt, tries, retry_transient)
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

    async def _retried(
        self, attempt: Callable[[], Awaitable[httpx.Response]], tries: _Tries, retry_transient: bool
    ) -> httpx.Response:
        """``attempt`` until its outcome is not to be retried. The first try runs outside tenacity,
        whose setup costs as much CPU as the rest of a page's request: nearly every request is
        answered the first time. Any other first outcome is handed to tenacity as its first attempt."""
        try:
            first: httpx.Response | Exception = await attempt()
        except Exception as exc:
            first = exc
        if isinstance(first, httpx.Response) and not wants_retry(first, retry_transient):
            return first
        from tenacity import AsyncRetrying, wait_random_exponential  # on the first retry: 12 ms of a CLI query's start

        base, most = self._backoff
        retrying = AsyncRetrying(
            stop=tries.stop,
            retry=partial(_should_retry, retry_transient),
            wait=partial(_wait, wait_random_exponential(multiplier=base, max=most)),
            sleep=self._sleep,
            after=tries.record,
            before_sleep=self._count_retry,
            retry_error_callback=_last_outcome,
        )
        replayed = False

        async def first_then_again() -> httpx.Response:
            nonlocal replayed
            if replayed:
                return await attempt()
            replayed = True
            if isinstance(first, Exception):
                raise first
            return first

        response: httpx.Response = await retrying(first_then_again)
        return response

    @property
    def concurrency(self) -> int:
        """How many requests may be on the wire at once at most (with ``"auto"``: what the slots may grow to)."""
        return self._most

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
        check_pages: bool = True,
    ) -> AsyncGenerator[ApiResponse, None]:
        """Every page of a list endpoint, each as an :class:`ApiResponse` with ``page`` set.

        ``style="page"`` (``page``/``limit`` paginator): page 1 first, then pages 2..last
        concurrently, yielded as they complete (not in order). ``"cursor"`` (envelope with
        ``data.next_page_url``, size param ``per_page``) and ``"cursor_no_envelope"``
        (``{rows_key: [...], _metadata: {pagination: {next}}}``, size param ``page_size``) are
        walked in order. ``max_rows`` stops once enough pages to cover that many rows were fetched.
        ``in_order`` fetches one page at a time, in order, for a caller that stops reading once the
        rows it has are enough (a LIMIT over a filter the API applies only roughly).
        ``check_pages=False``: the caller checks each later page of a ``"page"`` walk to be the page
        its ``page`` says, with :func:`~.responses.not_the_page`, as it parses the rows.
        Close the iterator (``contextlib.aclosing``) when stopping early so in-flight pages are cancelled.
        """
        paginator = PAGINATORS.get(style)
        if paginator is None:
            raise ValueError(f"Unknown pagination style {style!r}; expected one of {PAGE_STYLES}")
        kept = [True]  # whether the walk's pages are stored in the cache: decided once page 1 says how many
        walk = PageWalk(page_size, max_rows, window=one_at_a_time if in_order else self._window, rows_key=rows_key,
                        check_pages=check_pages, planned=partial(self._planned, kept))
        pages = paginator.pages(partial(self._page, path, kept), params, walk)
        async with aclosing(pages):
            async for response in pages:
                yield response

    def _window(self) -> int:
        """Pages of a walk started at once: twice the slots, so the next are ready as pages arrive."""
        return 2 * self._slots.size

    async def _page(self, path: str, kept: list[bool], query: Mapping[str, Any], page: int) -> ApiResponse:
        """Page ``page`` of a list walk: a GET whose errors name the page, stored in the cache
        while ``kept`` says so."""
        return await self._request("GET", path, query, page=page, keep=kept[0])

    def _planned(self, kept: list[bool], first: ApiResponse, pages: int) -> None:
        """A page-number walk of ``pages`` pages like ``first`` stores its later pages in the cache
        only when the cache admits that many bytes."""
        if self.cache is not None:
            kept[0] = self.cache.admits(pages * len(first.content))

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        content: bytes | None,
        auth: bool,
        tries: _Tries,
        page: int | None,
    ) -> httpx.Response:
        """One try: take a slot, wait for its turn (any 429 pause, the pace), send; count it all.
        Everything after the slot is bounded by what is left of the deadline (``TimeoutError``).

        The send itself runs as a task of its own that a cancelled caller (a statement that has
        its rows, a deadline) leaves to finish, and it keeps the slot until it has: httpcore
        1.0.9 leaks a pool connection when a request is cancelled under pool contention
        (encode/httpcore#1093), and ``concurrency`` leaks leave every later request waiting for
        a connection (``PoolTimeout``). So no request is ever cancelled inside httpx, and the pool
        (as large as the slots) never has a request waiting. Nor does ``Connection.interrupt``,
        which cancels the tasks a statement started: the send is started in an empty context, so it
        belongs to no statement (a send cancelled before it ran would never give its slot back)."""
        await self._slots.acquire()
        sent = False
        try:
            started = time.monotonic()
            tries.begin(started)
            async with asyncio.timeout(tries.remaining()):
                async with self._turns:
                    waited = await self.rate_control.turn()
                self._count(wait_seconds=time.monotonic() - started, requests=1, bytes_sent=len(content) if content else 0)
                # in a context of its own: nothing that cancels a statement's tasks reaches the send
                send = asyncio.get_running_loop().create_task(self._send(method, path, params, content, auth, waited, page),
                                                              context=contextvars.Context())
                sent = True
                self._sending.add(send)
                send.add_done_callback(self._sent)
                response = await asyncio.shield(send)
        finally:
            if not sent:
                self._slots.release()
        # counted here, not in _send: what an abandoned send got belongs to no later statement's stats
        self._count(bytes_received=response.num_bytes_downloaded, rate_limited=int(response.status_code == 429))
        return response

    async def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, content: bytes | None, auth: bool, waited: bool,
        page: int | None,
    ) -> httpx.Response:
        """The request itself, holding the slot :meth:`_attempt` took until httpx is done with it;
        the pace learns from the response (``waited``: the pace held the request back). A list
        walk's later pages go over aiohttp (:mod:`.aiohttp_pages`), everything else over httpx."""
        pages = self._pages_reader() if page is not None and page > 1 and method == "GET" and auth else None
        sending = time.monotonic()
        try:
            if pages is not None:
                response = await pages.get(self._page_url(path, params), self._page_headers)
            else:
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
        self.rate_control.observe(response, sending, waited, id(self))
        if self._follow:
            self._slots.resize(self.rate_control.slots(self._most))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %d in %.1f ms", method, path, response.status_code,
                      (time.monotonic() - sending) * 1000)
        return response

    def _pages_reader(self) -> AiohttpPages | None:
        """Where later pages go: aiohttp, unless only httpx reaches the API (a SOCKS proxy) or a
        scripted transport (tests) serves every request."""
        if self._pages is None and self._pages_wanted:
            self._pages_wanted = aiohttp_reaches(self.settings.base_url)
            if self._pages_wanted:
                self._pages = AiohttpPages(limit=self._most, timeout=self._timeout, ssl_context=self._tls)
        return self._pages

    def _page_url(self, path: str, params: Mapping[str, Any] | None) -> str:
        """The URL httpx's client would send for ``GET path?params``: the path made absolute once
        per walk, the query encoded as httpx encodes it (URL parsing is most of its client's cost)."""
        base = self._page_urls.get(path)
        if base is None:
            base = self._page_urls[path] = str(self._http.build_request("GET", path).url)
        if "?" in base:  # a path with a query of its own: whatever httpx makes of it with params
            return str(self._http.build_request("GET", path, params=params).url)
        return f"{base}?{httpx.QueryParams(params)}" if params else base

    def _sent(self, send: asyncio.Future[httpx.Response]) -> None:
        """A send is done: forget it, and take its error if the caller that wanted it is gone."""
        self._sending.discard(send)
        if not send.cancelled():
            send.exception()

    def _count(self, **amounts: float) -> None:
        """Add to this client's counters and to those of the statements the running task counts for."""
        for stats in (self.stats, *statement_counters.get()):
            for name, amount in amounts.items():
                setattr(stats, name, getattr(stats, name) + amount)

    async def _sleep(self, seconds: float) -> None:
        self._count(wait_seconds=seconds)
        await asyncio.sleep(seconds)

    def _count_retry(self, state: RetryCallState) -> None:
        self._count(retries=1)
        outcome = state.outcome
        assert outcome is not None
        what = repr(outcome.exception()) if outcome.failed else f"HTTP {outcome.result().status_code}"
        log.debug("retry %d after %s; sleeping %.2f s", state.attempt_number, what, state.upcoming_sleep)
