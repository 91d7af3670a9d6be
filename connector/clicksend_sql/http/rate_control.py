"""How fast, and how many at once: the pace of an account's requests, learnt from its responses.

ClickSend publishes no rate limit; it tells each response's account how much is left
(``x-ratelimit-limit``, ``x-ratelimit-remaining``, ``ratelimit-reset`` in seconds) and answers
past it with 429 and ``Retry-After``. With ``rate_limit="auto"`` (the default) a
:class:`RateControl` per account learns the pace from that:

* before any answer it sends politely (:data:`START_RATE` a second);
* when the headers are there it paces at the advertised rate (the limit over its window, the
  longest ``reset`` seen) while at least half the limit remains, and in proportion below that
  (never under :data:`MIN_SHARE` of it): clients sharing the account, even in other processes
  or machines, settle where each takes its share, with no 429; it never goes past the
  advertised rate;
* with no header (a proxy strips them) it learns from 429s alone: it doubles every
  :data:`DOUBLING` seconds until the first, then cuts to :data:`BETA` of the rate the server
  accepted and grows back along TCP CUBIC's curve (RFC 9438), back at that rate after
  :data:`RECOVERY` seconds and slowly past it;
* a 429's ``Retry-After`` pauses every request of the account until then.

One :class:`RateControl` serves every client of the account in this process (threads with
event loops of their own): one :class:`~.pacing.Pacer`, so two connections share one allowance.
Other processes share what was learnt through a small file per account (:mod:`.rate_state`): a
new process starts at its share of the learnt pace, and a cut for a 429 in one process is made
in the others too, so that they back off together.
The pace only grows on evidence: a response to a request that had to wait for its turn.

Concurrency follows: enough requests in flight to keep the pace at the server's base latency
(the least of the latest successful response times, as BBR takes the least round trip: a mean
grows with the queue that requests in flight themselves make, which asks for more in flight), twice
that for jitter and slow answers, split between the account's clients sending at the moment
(:meth:`RateControl.slots`), so two connections do not have twice the requests in flight when
a 429 comes. An explicit ``rate_limit=`` or
``concurrency=`` is kept as given (a number is one client's own pace, not the account's).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import deque
from typing import Literal

import httpx

from ..config import Settings, account_key
from ..errors import ConfigurationError
from .pacing import Pacer
from .rate_state import Learnt, RateFile
from .retries import retry_after_seconds

AUTO: Literal["auto"] = "auto"
RateLimit = float | Literal["auto"] | None
"""Requests per second: a number, ``"auto"`` (learnt from the server), or None for no limit."""
Concurrency = int | Literal["auto"]
"""Requests on the wire at once: a number, or ``"auto"`` (as many as the pace needs)."""

START_RATE = 4.0
"""Requests per second before the server has said anything: polite to a small allowance."""
MIN_RATE = 0.1
"""Never slower than this many requests per second without a header that says so."""
MIN_SHARE = 0.1
"""Of the advertised rate, the least taken while the server reports its allowance nearly spent."""
BURST = 4.0
"""Requests let through back to back: a late timer wake-up is absorbed instead of lost (a burst
of 1 ran a 50/s scan at ~0.83 of the rate), and small enough for a server counting per window."""
DOUBLING = 0.25
"""Seconds in which the pace doubles while no 429 has been seen (with no header to go by)."""
BETA = 0.7
"""After a 429 (with no header to go by), the pace falls to this share of what was accepted."""
RECOVERY = 1.0
"""Seconds after such a cut at which the pace is back at the rate that was accepted."""
START_CONCURRENCY = 4
"""Requests in flight before a latency has been measured."""
MAX_CONCURRENCY = 32
"""Most requests in flight ``concurrency="auto"`` grows to (rate 100/s at 200 ms needs 31)."""
UNPACED_CONCURRENCY = 8
"""Requests in flight with ``concurrency="auto"`` and ``rate_limit=None``: no pace to follow."""
SYNC_SECONDS = 1.0
"""How often at most the account's file is merged with (and after each cut)."""
LIVE_SECONDS = 5.0
"""Another process that merged within this many seconds is using the account now."""
FRESH_SECONDS = 3600.0
"""A file no process merged with for this long is not started from."""
_GAIN = 2.0  # slots per request in flight at the pace and the base latency: room for jitter and slow answers
_LATENCY_SAMPLES = 64  # successful responses the base latency is the least of


class RateControl:
    """The pace of one account's requests (or of one client's, when ``learn`` is False).

    ``rate`` is requests per second (None: no pace); ``shared``: the account's file, to start
    from and keep up to date. Thread-safe: responses arrive on the event loops of every client
    that shares it.
    """

    def __init__(self, rate: float | None, *, learn: bool, shared: RateFile | None = None) -> None:
        self.rate = rate
        self.learn = learn
        self.pacer = Pacer()
        self.resume_at = 0.0  # time.monotonic() before which no request is sent (a 429's Retry-After)
        self.latencies: deque[float] = deque(maxlen=_LATENCY_SAMPLES)  # latest successful response times, seconds
        self.advertised: float | None = None  # the rate the headers allow, once they have said
        self._window = 1.0  # seconds the advertised limit is for: the longest ratelimit-reset seen
        self.accepted_peak: float | None = None  # with no header: the rate accepted before the last 429
        self._cut_at = -math.inf  # when the pace was last cut for a 429 (a 429 to an earlier send is old news)
        self._accepted: deque[float] = deque()  # times of the last second's accepted responses
        self._senders: dict[int, float] = {}  # id of each client answered lately -> when
        self._lock = threading.Lock()
        self._file = shared
        self._cut_wall = 0.0  # time.time() of the latest cut made here or taken from the file
        self._synced_at = -math.inf  # the first answer is shared at once
        self._syncing = False
        # The pace changed here (headers, a 429, growth): only then is it the account's news. A
        # process that started at its share and learnt nothing wrote that share back, the next
        # took a share of it, and a test run left 1.7e-26 requests/s for the next request to wait on.
        self._learnt = False
        if shared is not None:
            self._start_from(shared.read())

    def __repr__(self) -> str:
        return f"RateControl(rate={self.rate!r}, learn={self.learn}, advertised={self.advertised!r})"

    async def turn(self) -> bool:
        """Wait until this request may be sent; True when the pace held it back (not only a
        request bunched with others by a response that freed several slots).

        One sleep for a 429's pause and one for the pace; call it for one request at a time per
        client, so a waiting request always waits at the newest pace.
        """
        pause = self.resume_at - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        rate = self.rate
        if rate is None:
            return False
        delay = self.pacer.reserve(rate, max(1.0, min(rate, BURST)))
        if delay > 0:
            await asyncio.sleep(delay)
        return delay >= 0.5 / rate  # a backlog waits a whole interval; a bunch of requests only a little

    def observe(self, response: httpx.Response, sent_at: float, waited: bool, sender: int = 0) -> None:
        """Learn from one response to a request sent at ``sent_at`` (``time.monotonic()``) by
        client ``sender`` (its ``id``); ``waited``: the pace held that request back."""
        now = time.monotonic()
        limited = response.status_code == 429
        allowance = _allowance(response.headers) if self.learn else None
        cut_at = self._cut_at
        with self._lock:
            took = now - sent_at
            self._senders[sender] = now
            if response.is_success:  # a refusal (429) comes back fast without the work an answer takes
                self.latencies.append(took)
            if limited:
                asked = retry_after_seconds(response.headers)
                if asked:  # the limit is the account's: every request now would be refused too
                    self.resume_at = max(self.resume_at, now + asked)
            if not self.learn:
                return
            if allowance is not None:
                self._follow(*allowance)
            elif limited:
                if sent_at > self._cut_at:  # the first 429 to a request sent at the current pace
                    self._cut(now)
            else:
                self._accepted.append(now)
                if waited:
                    self._grow(now)
        if self._file is not None and (self._cut_at != cut_at or now - self._synced_at >= SYNC_SECONDS):
            self._sync(now)

    def slots(self, most: int) -> int:
        """Requests in flight one client needs for its share of the pace at the base latency
        (the clients answered in the last second share it), between 2 and ``most``.

        >>> control = RateControl(50.0, learn=False); control.latencies.extend([0.3, 0.1, 0.2]); control.slots(32)
        11
        """
        if self.rate is None:
            return min(most, UNPACED_CONCURRENCY)
        with self._lock:  # observe() appends from the I/O threads of every client of the account
            if not self.latencies:
                return min(most, START_CONCURRENCY)
            latency = min(self.latencies)
            now = time.monotonic()
            for sender, seen in list(self._senders.items()):
                if now - seen > 1.0:
                    del self._senders[sender]
            sending = max(1, len(self._senders))
        return max(2, min(most, math.ceil(self.rate * latency * _GAIN / sending) + 1))

    def _follow(self, limit: float, remaining: float, reset: float) -> None:
        """Pace by what the server says is left: the advertised rate while half the limit
        remains or the rest would last the window at that rate, less in proportion below."""
        self._window = max(self._window, reset)
        advertised = limit / self._window
        on_schedule = remaining / reset / advertised if reset > 0 else 0.0
        share = max(2.0 * remaining / limit, on_schedule)
        self.advertised = advertised
        self.rate = advertised * min(1.0, max(MIN_SHARE, share))
        self._learnt = True

    def _cut(self, now: float, *, wall: float | None = None) -> None:
        """A 429 with no header: the server accepted less than the pace; fall below what it did
        accept. ``wall``: the time of another process's cut this one is taken from."""
        rate = self.rate or START_RATE
        recent = self._recent(now)
        accepted = min(rate, recent) if recent is not None else rate
        self.accepted_peak = accepted
        self.rate = max(MIN_RATE, BETA * accepted)
        self._cut_at = now
        self._cut_wall = time.time() if wall is None else wall
        self._learnt = True

    def _grow(self, now: float) -> None:
        """Speed up: a little with each response the pace held back, so the pace doubles every
        :data:`DOUBLING` seconds, and after a 429 no faster than CUBIC's curve allows."""
        rate = self.rate
        if rate is None:
            return
        grown = rate * 2.0 ** (1.0 / (rate * DOUBLING))
        peak = self.accepted_peak
        if peak is not None:
            since = (now - self._cut_at) / RECOVERY - 1.0
            grown = min(grown, peak * (1.0 + (1.0 - BETA) * since**3))
        if self.advertised is not None:  # an answer without the headers: still never past what they said
            grown = min(grown, self.advertised)
        self.rate = max(rate, grown)
        self._learnt = True

    def _recent(self, now: float) -> float | None:
        """Responses accepted per second over the last second, when it was busy enough to tell."""
        accepted = self._accepted
        while accepted and accepted[0] < now - 1.0:
            accepted.popleft()
        if len(accepted) < BURST:
            return None
        return len(accepted) / max(now - accepted[0], 1.0 / len(accepted))

    def _start_from(self, learnt: Learnt | None) -> None:
        """Start at this process's share of what the account's other processes learnt lately."""
        now = time.time()
        if learnt is None or now - max(learnt.processes.values(), default=0.0) > FRESH_SECONDS:
            return
        share = 1 + learnt.live(now, LIVE_SECONDS, besides=str(os.getpid()))
        self._cut_wall = learnt.cut
        self.advertised = learnt.advertised
        if learnt.rate is not None:
            self.rate = max(MIN_RATE, learnt.rate / share)
        if learnt.peak is not None:  # at the top of CUBIC's curve: past it only slowly
            self.accepted_peak = max(MIN_RATE, learnt.peak / share)
            self._cut_at = time.monotonic() - RECOVERY

    def save(self) -> None:
        """Share what was learnt now (a client closing), not at the next merge."""
        if self._file is not None:
            self._sync(time.monotonic())

    def _sync(self, now: float) -> None:
        """Merge with the account's file; take a cut another process made since ours (with no header:
        with the headers, what the server says left already tells)."""
        assert self._file is not None
        with self._lock:
            if self._syncing:
                return
            self._syncing, self._synced_at = True, now
            ours = Learnt(self.rate, self.accepted_peak, self.advertised, self._cut_wall)
        try:
            before = self._file.merge(ours, str(os.getpid()), pace=self._learnt)
        finally:
            with self._lock:
                self._syncing = False
        if before is None or before.cut <= self._cut_wall:
            return
        with self._lock:
            if self.advertised is None:
                self._cut(time.monotonic(), wall=before.cut)
            self._cut_wall = before.cut


def _allowance(headers: httpx.Headers) -> tuple[float, float, float] | None:
    """``(limit, remaining, reset seconds)`` from ClickSend's headers, or None when any is missing.

    >>> _allowance(httpx.Headers({"x-ratelimit-limit": "50", "x-ratelimit-remaining": "12", "ratelimit-reset": "1"}))
    (50.0, 12.0, 1.0)
    >>> _allowance(httpx.Headers({"x-ratelimit-limit": "50"})) is None
    True
    """
    try:
        limit = float(headers["x-ratelimit-limit"])
        remaining = float(headers["x-ratelimit-remaining"])
        reset = float(headers.get("ratelimit-reset", "1"))
    except (KeyError, ValueError):
        return None
    if not (limit > 0 and math.isfinite(limit) and 0 <= remaining < math.inf and 0 <= reset < math.inf):
        return None
    return limit, min(remaining, limit), reset


def check_limits(rate_limit: RateLimit, concurrency: Concurrency) -> None:
    """Refuse a ``rate_limit`` or ``concurrency`` that is not ``"auto"`` or a positive number (or None for the rate).

    >>> check_limits("auto", 8); check_limits(None, "auto"); check_limits(2.5, 1)
    >>> check_limits(0, "auto")
    Traceback (most recent call last):
    clicksend_sql.errors.ConfigurationError: rate_limit must be "auto", a positive number of requests per second or None, not 0
    """
    if not (rate_limit is None or rate_limit == AUTO or (_is_number(rate_limit) and rate_limit > 0)):
        raise ConfigurationError(
            f'rate_limit must be "auto", a positive number of requests per second or None, not {rate_limit!r}'
        )
    if not (concurrency == AUTO or (_is_number(concurrency) and isinstance(concurrency, int) and concurrency >= 1)):
        raise ConfigurationError(f'concurrency must be "auto" or a whole number >= 1, not {concurrency!r}')


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


_shared: dict[str, RateControl] = {}
_shared_lock = threading.Lock()


def account_control(settings: Settings) -> RateControl:
    """The learning :class:`RateControl` of ``settings``' account, one per process."""
    key = account_key(settings)
    with _shared_lock:
        control = _shared.get(key)
        if control is None:
            control = _shared[key] = RateControl(START_RATE, learn=True, shared=RateFile.for_account(settings))
        return control
