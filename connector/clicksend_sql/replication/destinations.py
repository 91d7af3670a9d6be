"""Where a replication goes: a DuckDB file, a PostgreSQL URI, or any dlt destination by name."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dlt.common.destination import Destination

from ..errors import ConfigurationError

DEFAULT_DUCKDB_FILE = "clicksend_copy.duckdb"  # not clicksend.duckdb: a catalog named as the dataset confuses DuckDB's binder
# A replace loads into dlt's staging dataset and swaps in one transaction, so a reader never sees a half-replaced table.
REPLACE_STRATEGY = "insert-from-staging"


def destination(spec: str | None) -> Destination[Any, Any]:
    """A dlt destination from what a user types (see :func:`where`).

    >>> destination("postgresql://u:p@localhost:5432/db").destination_name
    'postgres'
    >>> destination("ftp://x")
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.ConfigurationError: Destination 'ftp://x': ...
    """
    import dlt

    kind, target = where(spec)
    if kind == "duckdb":
        return dlt.destinations.duckdb(target, replace_strategy=REPLACE_STRATEGY)
    if kind == "postgres":
        return dlt.destinations.postgres(target, replace_strategy=REPLACE_STRATEGY)
    try:
        found = Destination.from_reference(target, replace_strategy=REPLACE_STRATEGY)
    except Exception as exc:  # dlt's UnknownDestinationModule and friends: say what is accepted instead
        raise ConfigurationError(f"Destination {target!r} is not a dlt destination ({exc.__class__.__name__}).") from None
    if found is None:
        raise ConfigurationError(f"Destination {target!r} is not a dlt destination.")
    return found


def where(spec: str | None) -> tuple[str, str]:
    """The kind of destination and what identifies it.

    ``duckdb:///relative.duckdb``, ``duckdb:////absolute.duckdb`` (SQLAlchemy's rule) or a path
    ending in ``.duckdb`` (made absolute here: dlt would read a relative path against the folder it
    was first imported in), ``postgresql://user:pw@host:port/db``, or a dlt destination name
    (``motherduck``, ``snowflake``, ``bigquery``, ``filesystem``...) whose credentials dlt reads from
    its own configuration (``.dlt/secrets.toml`` or ``DESTINATION__...`` environment variables).
    None is a DuckDB file ``clicksend_copy.duckdb`` in the working directory.

    >>> where("duckdb:////tmp/x.duckdb"), where("snowflake")
    (('duckdb', '/tmp/x.duckdb'), ('name', 'snowflake'))
    >>> where(None)[1] == str(Path.cwd() / "clicksend_copy.duckdb")
    True
    """
    spec = spec or DEFAULT_DUCKDB_FILE
    scheme = urlsplit(spec).scheme if "://" in spec else ""
    if scheme == "duckdb" or (not scheme and spec.endswith(".duckdb")):
        path = spec.split("://", 1)[1].removeprefix("/") if scheme else spec
        return "duckdb", str(Path(path).absolute())
    if scheme in ("postgresql", "postgres"):
        return "postgres", spec
    if scheme:
        raise ConfigurationError(
            f"Destination {_masked(spec)!r}: give duckdb:///FILE.duckdb, postgresql://USER:PASSWORD@HOST:PORT/DB, "
            "or a dlt destination name (motherduck, snowflake, bigquery, filesystem, ...) configured through dlt."
        )
    return "name", spec


def identity(spec: str | None) -> str:
    """A short, stable name for a destination (no password in it): replication state is kept per
    destination, so copying one dataset into two databases never shares a cursor.

    >>> identity("duckdb:////tmp/x.duckdb") == identity("/tmp/x.duckdb"), len(identity(None))
    (True, 8)
    >>> identity("postgresql://u:one@h/db") == identity("postgresql://u:two@h/db")
    True
    """
    kind, target = where(spec)
    return hashlib.sha1(f"{kind}:{_masked(target)}".encode(), usedforsecurity=False).hexdigest()[:8]


def _masked(spec: str) -> str:
    """A destination URI without its password, for messages.

    >>> _masked("postgresql://u:secret@h/db")
    'postgresql://u:***@h/db'
    """
    parts = urlsplit(spec)
    if parts.password is None:
        return spec
    return spec.replace(f":{parts.password}@", ":***@", 1)


def masked_destination(spec: str | None) -> str:
    """What to print for the destination a run went to (no password)."""
    return _masked(spec or DEFAULT_DUCKDB_FILE)
