"""PEP 249 (DB-API 2.0): the module pandas, SQLAlchemy and JupySQL expect of a database driver.

A DB-API connection wraps one :class:`clicksend_sql.Connection` and its cursors share it, as
the cursors of one PostgreSQL connection share its session: a table created through one cursor
is seen by the others, and statements queue on the connection's lock. ClickSend has no
transactions, so a change to ClickSend is made when its statement runs; ``commit()`` and
``rollback()`` end a DuckDB transaction opened with BEGIN on local tables, and otherwise do
nothing (SQLAlchemy's pool calls ``rollback()`` on every check-in).

Cursors have no ``df()``: JupySQL re-runs a statement through one when it exists, which would
fetch a ClickSend result twice.

>>> import clicksend_sql.dbapi as dbapi
>>> dbapi.apilevel, dbapi.threadsafety, dbapi.paramstyle
('2.0', 2, 'qmark')
>>> issubclass(dbapi.ProgrammingError, dbapi.DatabaseError)
True
"""

from __future__ import annotations

import datetime as _datetime
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from .errors import (
    ConnectionClosedError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,  # noqa: A004 - PEP 249's name
)
from .parsing import parse

if TYPE_CHECKING:
    from .connection import Connection as Session
    from .result import Result

apilevel = "2.0"
threadsafety = 2  # threads may share the module and connections (statements queue), not cursors
paramstyle = "qmark"  # also accepted: $1, $name and :name with a mapping

# Type objects: each compares equal to the DuckDB types of ``Cursor.description`` of its kind.
STRING = duckdb.STRING
NUMBER = duckdb.NUMBER
DATETIME = duckdb.DATETIME
BINARY = duckdb.BINARY
ROWID = duckdb.DBAPITypeObject([])  # no ClickSend or DuckDB column is a row id

Date = _datetime.date
Time = _datetime.time
Timestamp = _datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _datetime.date:  # noqa: N802 - PEP 249's name
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _datetime.time:  # noqa: N802 - PEP 249's name
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _datetime.datetime:  # noqa: N802 - PEP 249's name
    return Timestamp(*time.localtime(ticks)[:6])


Params = Sequence[Any] | Mapping[str, Any] | None


def connect(*args: Any, **kwargs: Any) -> Connection:
    """A DB-API connection; the arguments are :func:`clicksend_sql.connect`'s."""
    from .connection import connect as open_session

    return Connection(open_session(*args, **kwargs))


class Connection:
    """PEP 249 connection over one clicksend-sql session (see the module's docstring)."""

    # PEP 249's optional extension: the exception classes as connection attributes.
    Warning, Error, InterfaceError, DatabaseError, DataError = Warning, Error, InterfaceError, DatabaseError, DataError
    OperationalError, IntegrityError, InternalError = OperationalError, IntegrityError, InternalError
    ProgrammingError, NotSupportedError = ProgrammingError, NotSupportedError

    def __init__(self, session: Session) -> None:
        self.session = session  # the clicksend_sql.Connection: settings, con.sql(), EXPLAIN and the rest

    def __repr__(self) -> str:
        return f"<clicksend_sql.dbapi.Connection over {self.session!r}>"

    @property
    def closed(self) -> bool:
        return bool(self.session.closed)

    def cursor(self) -> Cursor:
        self._check_open()
        return Cursor(self)

    def commit(self) -> None:
        """End a DuckDB transaction opened with BEGIN; ClickSend changes were made when they ran."""
        self._end_transaction("COMMIT")

    def rollback(self) -> None:
        """Undo a DuckDB transaction opened with BEGIN; ClickSend changes cannot be undone."""
        self._end_transaction("ROLLBACK")

    def _end_transaction(self, how: str) -> None:
        self._check_open()
        if self.session.in_transaction:
            self.session.sql(how)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise ConnectionClosedError("This DB-API connection is closed; open another with clicksend_sql.dbapi.connect().")


class Cursor:
    """PEP 249 cursor: ``execute`` runs a statement through the connection's session and holds
    its result; the ``fetch*`` methods hand it out row by row."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self._result: Result | None = None
        self._rowcount = -1
        self._closed = False

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        """Name, DuckDB type and five ``None`` per column; ``None`` before a statement with rows."""
        return self._result.description if self._result is not None and self._result.has_rows else None

    @property
    def rowcount(self) -> int:
        """Rows a write changed (its ``ok`` outcomes) or a query returned; -1 when neither applies."""
        return self._rowcount

    @property
    def rownumber(self) -> int | None:
        """The index of the next row to fetch (PEP 249's optional extension)."""
        return self._result._fetched if self._result is not None else None

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        """Run one statement (or several: the last one's result is kept); returns the cursor."""
        self._check_open()
        self._result = None
        result = self.connection.session.sql(operation, parameters)
        self._result, self._rowcount = result, result.rowcount
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Params]) -> Cursor:
        """Run a statement once per parameter set. ``INSERT ... VALUES (?, ...)`` with positional
        parameters becomes one INSERT of every row, so a send is capped and batched as one
        statement (``max_messages`` counts all its rows, not each row alone)."""
        self._check_open()
        sets = list(seq_of_parameters)
        combined = _one_insert(operation, sets)
        if combined is not None:
            return self.execute(*combined)
        total = 0
        for parameters in sets:
            self.execute(operation, parameters)
            total += max(self._rowcount, 0)
        self._result, self._rowcount = None, total if sets else -1
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows().fetchone()

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._rows().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows().fetchall()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchone, None)

    def setinputsizes(self, sizes: object) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def setoutputsize(self, size: object, column: int | None = None) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def close(self) -> None:
        self._result, self._closed = None, True

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _rows(self) -> Result:
        self._check_open()
        if self._result is None or not self._result.has_rows:
            raise ProgrammingError("No rows to fetch: execute a statement that returns rows first.")
        return self._result

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionClosedError("This cursor is closed; make another with connection.cursor().")
        self.connection._check_open()


def _one_insert(operation: str, sets: list[Params]) -> tuple[str, list[Any]] | None:
    """``INSERT ... VALUES (?, ?)`` run for many positional parameter sets as one statement of
    many rows and its flattened parameters; ``None`` for anything else (named parameters, a
    query as the source, RETURNING, or sets of the wrong length: ``execute`` then names the fault).

    >>> _one_insert("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b")])
    ('INSERT INTO t VALUES ($1, $2), ($3, $4)', [1, 'a', 2, 'b'])
    >>> _one_insert("INSERT INTO t VALUES ($1, $1 || 'x')", [("a",), ("b",)])
    ("INSERT INTO t VALUES ($1, $1 || 'x'), ($2, $2 || 'x')", ['a', 'b'])
    >>> _one_insert("INSERT INTO t VALUES (:a)", [{"a": 1}, {"a": 2}]) is None
    True
    """
    if len(sets) < 2 or not all(isinstance(s, Sequence) and not isinstance(s, str) for s in sets):
        return None
    statements = parse(operation)  # ? becomes $1, $2...: every placeholder is numbered or named
    if len(statements) != 1:
        return None
    insert = statements[0].expression
    values = insert.expression if isinstance(insert, exp.Insert) else None
    if not isinstance(values, exp.Values) or len(values.expressions) != 1 or insert.args.get("returning"):
        return None
    numbers = statements[0].placeholders
    if not numbers or not all(n.isdigit() for n in numbers) or len(list(values.find_all(exp.Placeholder))) != len(numbers):
        return None  # named placeholders, or placeholders outside VALUES
    width = max(int(n) for n in numbers)
    if any(len(s) != width for s in sets):  # type: ignore[arg-type]
        return None
    row = values.expressions[0]
    rows = [row.transform(lambda node, k=k: exp.Placeholder(this=str(int(node.name) + k * width))
                          if isinstance(node, exp.Placeholder) else node) for k in range(len(sets))]
    values.set("expressions", rows)
    return insert.sql("duckdb"), [value for s in sets for value in s]  # type: ignore[union-attr]


__all__ = [
    "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Connection", "Cursor", "DataError", "DatabaseError",
    "Date", "DateFromTicks", "Error", "IntegrityError", "InterfaceError", "InternalError", "NotSupportedError",
    "OperationalError", "ProgrammingError", "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks", "Warning",
    "apilevel", "connect", "paramstyle", "threadsafety",
]
