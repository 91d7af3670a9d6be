"""Reading the copy in the destination: row counts, keys and row versions, through dlt's SQL client.

Replication asks the copy what it already holds so that a run costs requests in proportion to the
changes: counts per parent find deleted rows, versions in the cursor's window tell an update from
a re-read. Every SQL destination dlt supports answers these plain queries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from dlt.common.pipeline import SupportsPipeline
from dlt.destinations.exceptions import DatabaseException, DatabaseUndefinedRelation

from ..errors import ClickSendSQLError
from ..catalog import Table
from .source import ROW_HASH, copy_name

class Copy:
    """The copy of one replication's tables in its destination dataset, read over one connection
    opened before dlt runs (opening one inside dlt's extract step would disturb dlt's configuration
    context) and shared by the resources' threads."""

    def __init__(self, pipeline: SupportsPipeline) -> None:
        self._pipeline = pipeline
        self._client: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> Copy:
        try:
            self._client = self._pipeline.sql_client()  # type: ignore[attr-defined]
            self._client.open_connection()
        except Exception as exc:  # psycopg2's OperationalError, DuckDB's IOException (a locked file)...
            where = getattr(self._pipeline, "destination", None)
            name = getattr(where, "destination_name", "the destination")
            raise ClickSendSQLError(f"Cannot open the copy in {name}: {str(exc).strip().splitlines()[0]}") from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close_connection()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """A query's rows; a table that does not exist yet (the first run) has none."""
        with self._lock:
            try:
                with self._client.execute_query(sql) as cursor:
                    return [tuple(row) for row in cursor.fetchall()]
            except DatabaseUndefinedRelation:
                return []
            except DatabaseException as exc:
                raise ClickSendSQLError(f"Reading the copy failed ({sql}): {str(exc).splitlines()[0]}") from exc

    def _table(self, table: str) -> str:
        return self.qualified(copy_name(table))

    def qualified(self, name: str) -> str:
        """A table of the copy's dataset, as SQL names it (schema-qualified and quoted)."""
        return str(self._client.make_qualified_table_name(name))

    def dicts(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """A query's rows as dicts by column name."""
        with self._lock, self._errors(sql):
            with self._client.execute_query(sql, *args) as cursor:
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def columns(self, table: str) -> list[str] | None:
        """The column names of a table (``schema.table``) in the destination, None if it does not exist."""
        try:
            with self._lock, self._client.execute_query(f"SELECT * FROM {table} WHERE 1 = 0") as cursor:
                return [d[0] for d in cursor.description]
        except DatabaseException:
            return None

    def execute(self, sql: str, *args: Any) -> None:
        """A statement with ``%s`` placeholders (dlt's style on every destination)."""
        with self._lock, self._errors(sql):
            self._client.execute_sql(sql, *args)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], chunk: int = 500) -> None:
        """Rows into a table, ``chunk`` rows per statement."""
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            values = ", ".join("(" + ", ".join(["%s"] * len(columns)) + ")" for _ in part)
            self.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}", *[v for row in part for v in row])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Statements that take effect together or not at all."""
        with self._client.begin_transaction():
            yield

    @contextmanager
    def _errors(self, sql: str) -> Iterator[None]:
        try:
            yield
        except DatabaseException as exc:
            raise ClickSendSQLError(f"The destination refused {sql[:200]!r}: {str(exc).splitlines()[0]}") from exc

    def count(self, table: str) -> int:
        found = self.rows(f"SELECT count(*) FROM {self._table(table)}")
        return int(found[0][0]) if found else 0

    def counts_by(self, table: str, column: str) -> dict[Any, int]:
        """Rows per value of ``column`` (contacts per list)."""
        column = copy_name(column)
        return {key: int(n) for key, n in self.rows(f"SELECT {column}, count(*) FROM {self._table(table)} GROUP BY {column}")}

    def keys_where(self, table: Table, column: str, values: Iterable[Any]) -> set[Any]:
        """The keys of the rows whose ``column`` is one of ``values`` (asked 1,000 values at a time)."""
        wanted, key, found = list(values), copy_name(table.primary_key[0]), set()
        for start in range(0, len(wanted), 1000):
            listed = ", ".join(_literal(v) for v in wanted[start:start + 1000])
            found |= {row[0] for row in self.rows(
                f"SELECT {key} FROM {self._table(table.name)} WHERE {copy_name(column)} IN ({listed})")}
        return found

    def versions(self, table: Table, cursor: str | None, since: Any) -> dict[str, str]:
        """Key -> row hash of the rows a read from ``since`` on can rewrite (every row without a cursor)."""
        key = copy_name(table.primary_key[0]) if table.primary_key else ROW_HASH
        where = f" WHERE {copy_name(cursor)} >= {_literal(since)}" if cursor and since is not None else ""
        return {str(k): h for k, h in self.rows(f"SELECT {key}, {ROW_HASH} FROM {self._table(table.name)}{where}")}


def _literal(value: Any) -> str:
    """A SQL literal both DuckDB and PostgreSQL read the same way.

    >>> _literal(12), _literal("it's"), _literal(datetime(2026, 1, 2))
    ('12', "'it''s'", "'2026-01-02T00:00:00'")
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str, datetime)):
        raise TypeError(f"no literal for {type(value).__name__}")
    if isinstance(value, (int, float)):
        return str(value)
    text = value.isoformat() if isinstance(value, datetime) else value
    return "'" + text.replace("'", "''") + "'"
