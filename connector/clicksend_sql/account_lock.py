"""One writer at a time per ClickSend account on this machine, for writes that read to decide.

ClickSend has no idempotency keys, so an upsert (read the list, match, create the missing) or a
de-duplicated send (``ON CONFLICT (CustomString) DO NOTHING``: read the history, send the rest)
run twice at once would both find a row missing and both create or send it. Such statements
hold a lock file in the user cache directory, named for the account (a hash of its base URL and
username: no secret), from their read to their last request. Processes on other machines are
not serialized by it: see the README.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
from filelock import FileLock, Timeout

from .config import Settings, account_key
from .errors import LockTimeoutError

WAIT_SECONDS = 600.0  # longer than any one upsert or send should take


def lock_path(settings: Settings) -> Path:
    """The account's lock file.

    >>> lock_path(Settings("demo", "k", "http://127.0.0.1:1/v3")).name
    'account-...lock'
    """
    return Path(platformdirs.user_cache_dir("clicksend-sql")) / "locks" / f"account-{account_key(settings)}.lock"


@contextmanager
def account_lock(settings: Settings, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the account's write lock for the block (waiting up to ``wait`` seconds for it)."""
    path = lock_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache directory (a read-only home): the machine's temp directory serves
        path = Path(tempfile.gettempdir()) / "clicksend-sql-locks" / path.name
        path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), is_singleton=False)
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise LockTimeoutError(
            f"Another statement on this machine has held the write lock of {settings.username} at "
            f"{settings.base_url} for {wait:.0f} s (an upsert or de-duplicated send); nothing was sent. Lock file: {path}"
        ) from None
    try:
        yield
    finally:
        lock.release()
