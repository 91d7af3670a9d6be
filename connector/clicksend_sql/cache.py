"""A per-user cache of what is slow to build at start-up and follows from a few files alone: the
catalog's parsed YAML and the DuckDB database that declares its tables.

An entry is a directory named after a fingerprint of everything it was built from (file names,
sizes and modification times, library versions), so a changed declaration file simply names
another entry; nothing is ever invalidated in place. Entries are built in a scratch directory
and renamed into place, so concurrent processes never see half an entry. The cache lives in
``platformdirs.user_cache_dir("clicksend-sql")``, or in ``$CLICKSEND_SQL_CACHE_DIR``; set that
to an empty string to keep no cache (start-up then builds everything in memory).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

KEPT_ENTRIES = 4  # per kind: other installs' entries may be in use, the oldest go
FORMAT = "1"  # bump when what an entry holds changes shape


def cache_root() -> Path | None:
    """Where entries live, or None when no cache is kept."""
    configured = os.environ.get("CLICKSEND_SQL_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - a dependency, but caching is only an optimisation
        return None
    return Path(platformdirs.user_cache_dir("clicksend-sql"))


def fingerprint(parts: Iterable[object]) -> str:
    """A short digest of ``parts`` (their ``str``), for entry names.

    >>> fingerprint(["a", 1]) == fingerprint(["a", 1]) != fingerprint(["a", 2])
    True
    """
    digest = hashlib.sha256(FORMAT.encode())
    for part in parts:
        digest.update(b"\0" + str(part).encode())
    return digest.hexdigest()[:24]


def file_stamps(paths: Iterable[Path]) -> list[tuple[str, int, int]]:
    """(path, mtime in ns, size) of each file: what an entry built from them is keyed by."""
    stamps = []
    for path in paths:
        stat = path.stat()
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return stamps


def cached_entry(kind: str, key: str, build: Callable[[Path], None]) -> Path | None:
    """The directory of entry ``kind-key``, made by ``build(directory)`` when missing; None when
    no cache can be kept here (no cache directory, not writable...). ``build``'s own errors raise."""
    root = cache_root()
    if root is None:
        return None
    entry = root / f"{kind}-{key}"
    if entry.is_dir():
        return entry
    try:
        root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=root))
    except OSError:
        return None
    try:
        build(scratch)
        os.rename(scratch, entry)
    except OSError:  # another process renamed its copy first (or the disk refused): use theirs if any
        shutil.rmtree(scratch, ignore_errors=True)
        return entry if entry.is_dir() else None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _prune(root, kind, keep=entry)
    return entry


def _prune(root: Path, kind: str, keep: Path) -> None:
    """Remove all but the newest entries of ``kind``."""
    entries = sorted(root.glob(f"{kind}-*"), key=_modified, reverse=True)
    for old in [e for e in entries if e != keep][KEPT_ENTRIES - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # another process pruned it meanwhile
        return 0.0
