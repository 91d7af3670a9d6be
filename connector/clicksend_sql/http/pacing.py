"""How a request waits for its turn: the pace of an account, and the slots of one client.

Both are mechanisms only (what rate, how many slots is decided in :mod:`.rate_control`), and
waiting costs nothing: a request that must wait sleeps once, on one timer, until its turn; nothing
polls.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time


class Pacer:
    """Spaces sends ``1/rate`` seconds apart, ``burst`` of them allowed back to back, for every
    thread and event loop that shares it.

    A token bucket kept as one number under a lock: it refills at the rate in force when a
    request asks (so a pace raised after a slow start applies at once, with no schedule made at
    the old pace left to wait out), holds at most ``burst``, and goes below zero by the requests
    already given a turn; a request sleeps until its token has refilled. A request asks just
    before sending, so with one request at a time asking per client, a waiting request always
    waits at the newest pace.

    Not aiolimiter's ``AsyncLimiter``, which the client used before: an account's connections
    each run their own event loop in their own thread, and an ``AsyncLimiter`` belongs to one
    loop; nor can its rate be changed while tasks wait (mjpieters/aiolimiter#98). ``limits`` and
    ``pyrate-limiter`` only tell whether a request may go now, so a waiting request would poll.

    >>> pacer = Pacer()
    >>> [round(pacer.reserve(10.0, 1.0, now=0.0), 2) for _ in range(3)]  # one every 0.1 s
    [0.0, 0.1, 0.2]
    >>> pacer = Pacer()
    >>> [round(pacer.reserve(10.0, 2.0, now=0.0), 2) for _ in range(3)]  # two at once, then paced
    [0.0, 0.0, 0.1]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = math.inf  # as of self._stamp; below zero: turns given that have not come yet
        self._stamp = 0.0  # time.monotonic() of the last turn given

    def reserve(self, rate: float, burst: float, *, now: float | None = None) -> float:
        """Take the next turn at ``rate`` sends per second; the seconds to wait before sending."""
        with self._lock:
            now = time.monotonic() if now is None else now
            self._tokens = min(burst, self._tokens + (now - self._stamp) * rate) - 1.0
            self._stamp = now
            owed = -self._tokens
        return max(0.0, owed / rate)


class Slots:
    """How many of one client's requests may be on the wire at once: an ``asyncio.Semaphore``
    whose size can change while requests wait.

    Growing releases permits at once; shrinking is a debt paid by the next permits taken, so the
    new size holds as soon as enough requests have finished.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = asyncio.Semaphore(size)
        self._owed = 0  # permits a shrink took back that no finished request has returned yet

    def resize(self, size: int) -> None:
        change, self.size = size - self.size, size
        if change < 0:
            self._owed -= change
            return
        repaid = min(change, self._owed)
        self._owed -= repaid
        for _ in range(change - repaid):
            self._free.release()

    async def acquire(self) -> None:
        await self._free.acquire()
        while self._owed:  # this permit pays what a shrink is owed; wait for another
            self._owed -= 1
            await self._free.acquire()

    def release(self) -> None:
        self._free.release()
