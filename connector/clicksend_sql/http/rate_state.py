"""An account's learnt pace, kept in a small file so the account's other processes share it.

One JSON file per account in the cache directory (``rates/account-<key>.json`` under
:func:`~clicksend_sql.cache.cache_root`; the key is :func:`~clicksend_sql.config.account_key`, a
hash of the base URL and username, and the file holds no secret): the pace last learnt, the rate
the server accepted before its last 429 and the rate it advertised, when a process last had to
cut its pace for a 429, and which processes used the account lately. A
:class:`~.rate_control.RateControl` reads it when it is made (a new process starts at its share
of the learnt pace instead of from scratch) and merges into it about once a second and after
each cut, under a lock file (``filelock``), never per request.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..cache import cache_root
from ..config import Settings, account_key

FORMAT = 1  # bump when the file's shape changes: an older file is then ignored
KEPT_SECONDS = 7 * 24 * 3600.0
"""Files of accounts unused this long are removed (a test run makes one per emulator)."""
SWEEP_SECONDS = 3600.0
"""The folder is swept for such files at most this often (a sweep of thousands took 15-30 ms of a connect)."""
LOCK_WAIT = 0.2  # seconds; a busy file is skipped rather than waited for


@dataclass
class Learnt:
    """What the file says about the account, times on the wall clock (``time.time()``)."""

    rate: float | None = None
    peak: float | None = None
    advertised: float | None = None
    cut: float = 0.0
    processes: dict[str, float] = field(default_factory=dict)

    def live(self, now: float, within: float, *, besides: str) -> int:
        """How many other processes used the account in the last ``within`` seconds.

        >>> Learnt(processes={"1": 100.0, "2": 97.0, "3": 80.0}).live(100.0, 5.0, besides="1")
        1
        """
        return sum(1 for pid, seen in self.processes.items() if pid != besides and now - seen <= within)


class RateFile:
    """The account's file; reading or writing it fails quietly (sharing the pace is an optimisation)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(f"{path}.lock", is_singleton=False)

    @classmethod
    def for_account(cls, settings: Settings) -> RateFile | None:
        """The file of ``settings``' account, or None when no cache directory is kept."""
        root = cache_root()
        if root is None:
            return None
        folder = root / "rates"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        _forget_old(folder, time.time())
        return cls(folder / f"account-{account_key(settings)}.json")

    def read(self) -> Learnt | None:
        """What the file says now, or None (no file, or it cannot be read)."""
        try:
            with self._lock.acquire(timeout=LOCK_WAIT):
                return self._load()
        except (OSError, Timeout):
            return None

    def merge(self, ours: Learnt, pid: str, *, pace: bool = True) -> Learnt | None:
        """Write ``ours`` over the file (keeping the latest cut and the other processes seen lately;
        with ``pace`` False, the file's rate and peak too); what the file said before, or None when
        it could not be read or written."""
        now = time.time()
        try:
            with self._lock.acquire(timeout=LOCK_WAIT):
                before = self._load()
                processes = {p: seen for p, seen in (before.processes if before else {}).items() if now - seen < 60.0}
                kept = ours if pace or before is None else before
                merged = Learnt(kept.rate, kept.peak, ours.advertised, max(ours.cut, before.cut if before else 0.0),
                                {**processes, pid: now})
                self._save(merged)
                return before or Learnt()
        except (OSError, Timeout):
            return None

    def _load(self) -> Learnt | None:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        try:
            return Learnt(_number(data.get("rate")), _number(data.get("peak")), _number(data.get("advertised")),
                          float(data.get("cut", 0.0)),
                          {str(pid): float(seen) for pid, seen in dict(data.get("processes", {})).items()})
        except (TypeError, ValueError):
            return None

    def _save(self, learnt: Learnt) -> None:
        """Replace the file whole, so a reader that takes no lock never sees half of it."""
        fd, scratch = tempfile.mkstemp(dir=self.path.parent, prefix=".rate-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"format": FORMAT, **asdict(learnt)}, out)
            os.replace(scratch, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(scratch)
            raise


def _number(value: Any) -> float | None:
    """A positive finite number from the file, else None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf else None


def _forget_old(folder: Path, now: float) -> None:
    """Remove the files (and lock files) of accounts unused for :data:`KEPT_SECONDS`, unless the
    folder was swept in the last :data:`SWEEP_SECONDS` (its ``.swept`` file says when)."""
    stamp = folder / ".swept"
    with contextlib.suppress(OSError):
        if 0 <= now - stamp.stat().st_mtime < SWEEP_SECONDS:  # one dated ahead (a clock put back) is no sweep
            return
    with contextlib.suppress(OSError):
        stamp.touch()
        os.utime(stamp, (now, now))
        for entry in os.scandir(folder):
            if entry.name == stamp.name:
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > KEPT_SECONDS:
                    os.unlink(entry.path)
