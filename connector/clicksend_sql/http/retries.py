"""When a failed request is tried again, how long to wait first, and when to give up.

Within the user's policy (``retries`` failed attempts after the first, and a ``deadline`` per
request): a 429 is always retried, because ClickSend refused before acting, and one that says
when to come back is waited out without counting as a failure; 5xx and dropped connections only
when the request is safe to repeat (GET by default), so a send or a charge is never repeated
blindly. The functions here are the predicates, wait and stop that ``tenacity`` is given.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tenacity import Future, RetryCallState

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods retried after a 5xx or a dropped connection unless the caller says otherwise."""
MAX_RETRY_AFTER = 60.0
"""Longest server-requested pause we honour for one retry; longer ones are clamped."""
DEFAULT_RETRIES = 8
"""Failed attempts repeated after the first. At 20% failing requests a request is lost with odds
0.2**9 (5e-7), so even statements of thousands of requests stay exact."""
DEFAULT_DEADLINE = 120.0
"""Seconds one request may take from its first send, retries and waits included: room for a
``MAX_RETRY_AFTER`` pause and the whole backoff of ``DEFAULT_RETRIES``."""

CONNECT_RETRIES = 2
"""A refused connection (nothing listens, a wrong host) is tried this many times more, not the
full budget: it is rarely a blip, and a wrong base URL should say so in a second, not after ten."""
# Nothing reached the server, so repeating cannot send or charge twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The request may have been acted on; repeat only when the caller says it is safe.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


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
    return wants_retry(outcome.result(), retry_transient)


def wants_retry(response: httpx.Response, retry_transient: bool) -> bool:
    """Whether an answer is to be tried again: a 429, or a 5xx of a request safe to repeat.

    >>> wants_retry(httpx.Response(429), False), wants_retry(httpx.Response(503), False), wants_retry(httpx.Response(503), True)
    (True, False, True)
    """
    status = response.status_code
    return status == 429 or (retry_transient and status >= 500)


def _wait(backoff: Callable[[RetryCallState], float], state: RetryCallState) -> float:
    """Tenacity wait: what a 429 asks for, else ``backoff`` (exponential with full jitter)."""
    outcome = state.outcome
    if outcome is not None and not outcome.failed and outcome.result().status_code == 429:
        asked = retry_after_seconds(outcome.result().headers)
        if asked:  # "retry after 0 s" would let every retry hammer the server at once
            return asked
    return backoff(state)


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
    refused: int = 0  # attempts that could not connect at all
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
        self.refused += state.outcome.failed and isinstance(state.outcome.exception(), httpx.ConnectError)

    def stop(self, state: RetryCallState) -> bool:
        """Tenacity ``stop``: out of failed attempts, or the next pause would outlast the deadline."""
        return (self.failures > self.retries or self.refused > min(self.retries, CONNECT_RETRIES)
                or state.upcoming_sleep >= self.remaining())

    @property
    def counted(self) -> str:
        return f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}"

    def summary(self) -> str:
        """How a retried request ended, for messages: ``after 3 attempts (no time left in its 10 s deadline)``."""
        out_of_time = self.failures <= self.retries
        return f"after {self.counted}" + (f" (no time left in its {self.deadline:g} s deadline)" if out_of_time else "")
