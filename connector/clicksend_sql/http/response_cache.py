"""A connection's cache of ClickSend's answers to GETs, so a notebook cell run again, or a query
that reads a table twice, makes no request within the cache's time to live.

Entries are keyed by path and query parameters (a connection is one account), expire after the
TTL, and are dropped least recently used first once their bodies pass the size cap (cachetools'
TLRU bookkeeping). Only reads that ask for it use it (:data:`reads_cached`, set per statement by
the engine): writes read fresh rows, and listeners and replication never see an old page. Any
other method the client sends (a write, a changing CALL) empties it, since a write to one table
changes others (a contact added changes its list's count).

>>> cache = ResponseCache(ttl=60, max_bytes=1_000)
>>> cache.put("/lists", {"page": 1}, b"{}")
>>> cache.get("/lists", {"page": 1}), cache.get("/lists", {"page": 2})
(b'{}', None)
>>> cache.clear(); len(cache)
0
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from cachetools import TTLCache

from ..errors import ConfigurationError

T = TypeVar("T")
Key = tuple[str, tuple[tuple[str, str], ...]]

DEFAULT_TTL = 300.0  # seconds; Steampipe's default, CData's is similar
TTL_VARIABLE = "CLICKSEND_SQL_CACHE_TTL"
DEFAULT_MAX_BYTES = 128 * 1024 * 1024
_ENTRY_OVERHEAD = 512  # bytes an entry costs beside its body (key, headers, bookkeeping), roughly

reads_cached: ContextVar[bool] = ContextVar("reads_cached", default=False)
"""Whether the GETs of the running statement may be answered from (and stored in) the cache: set on
the I/O loop's task by the engine for the reads of a query, never for a write's or a listener's."""


def cache_ttl_setting(given: float | None) -> float:
    """The TTL a connection uses: the one given, else ``$CLICKSEND_SQL_CACHE_TTL``, else 300 s.

    >>> cache_ttl_setting(0), cache_ttl_setting(60.5)
    (0.0, 60.5)
    """
    text = os.environ.get(TTL_VARIABLE) if given is None else given
    try:
        ttl = DEFAULT_TTL if text is None or text == "" else float(text)
    except ValueError:
        ttl = -1.0
    if not 0 <= ttl < float("inf"):
        where = f"{TTL_VARIABLE}={text!r}" if given is None else f"cache_ttl={given!r}"
        raise ConfigurationError(f"{where}: give the seconds a query's pages are kept, 0 to keep none.")
    return ttl


def cache_key(path: str, params: Mapping[str, Any] | None) -> Key:
    """Path and parameters, order-insensitive.

    >>> cache_key("/x", {"b": 2, "a": 1}) == cache_key("/x", {"a": "1", "b": "2"})
    True
    """
    return path, tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))


class ResponseCache(Generic[T]):
    """Answers by key with a TTL and a byte budget; thread-safe (sessions share their connection's)."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_bytes: int = DEFAULT_MAX_BYTES,
                 size: Any = len) -> None:
        """``size(answer)``: the bytes an answer costs (its body's length by default)."""
        self.ttl = ttl
        self._size = size
        self._entries: TTLCache[Key, tuple[float, T]] = TTLCache(
            maxsize=max_bytes, ttl=ttl, timer=time.monotonic, getsizeof=self._cost)
        self._lock = threading.Lock()

    def _cost(self, entry: tuple[float, T]) -> int:
        return int(self._size(entry[1])) + _ENTRY_OVERHEAD

    def get(self, path: str, params: Mapping[str, Any] | None) -> T | None:
        with self._lock:
            entry = self._entries.get(cache_key(path, params))
        return entry[1] if entry is not None else None

    def put(self, path: str, params: Mapping[str, Any] | None, answer: T) -> None:
        entry = (time.monotonic(), answer)
        if self._cost(entry) > self._entries.maxsize:
            return  # larger than the whole budget: never kept
        with self._lock:
            self._entries[cache_key(path, params)] = entry

    def admits(self, nbytes: int) -> bool:
        """Whether a list walk of about ``nbytes`` is worth keeping: at most half the budget. A
        larger one would push out everything else and, read again page by page, find none of its
        pages (least recently used goes first): memory spent for nothing.

        >>> ResponseCache(max_bytes=1_000).admits(500), ResponseCache(max_bytes=1_000).admits(501)
        (True, False)
        """
        return nbytes <= self._entries.maxsize // 2

    def age(self, path: str, params: Mapping[str, Any] | None = None) -> float | None:
        """Seconds since the newest live answer for ``path`` whose parameters include ``params``
        was stored (EXPLAIN says whether a table's first page would come from the cache)."""
        wanted = set(cache_key(path, params)[1])
        now = time.monotonic()
        with self._lock:
            self._entries.expire()
            stored = [at for (p, query), (at, _) in self._entries.items() if p == path and wanted <= set(query)]
        return now - max(stored) if stored else None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            self._entries.expire()
            return len(self._entries)

    @property
    def bytes(self) -> int:
        """What the live entries cost, in bytes (bounded by the cache's ``max_bytes``)."""
        with self._lock:
            return int(self._entries.currsize)
