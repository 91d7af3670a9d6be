"""The machinery every kind of statement shares: DuckDB, the catalog, the HTTP client on its own
event loop, per-statement accounting, and DuckDB's errors as the package's own.

A :class:`~clicksend_sql.connection.Connection` owns one Engine; the statement kinds (``query``,
``call``, ``explain``, ``write``) are functions of it, so ``connection.py`` only dispatches.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import duckdb
from duckdb import Error as DuckDBError  # the field ``duckdb`` shadows the module in annotations
import pyarrow as pa
from sqlglot import exp

from .catalog import Catalog
from .config import Limits, Settings
from .duckdb_errors import translate
from .errors import ClickSendSQLError, SQLError, UnsupportedStatementError
from .evaluation import DuckDBSession
from .execution import ProgressCallback
from .http import ClickSendClient
from .parameters import BINDING_ERRORS, ParameterError, Parameters
from .planner import Plan, plan
from .result import StatementStats

T = TypeVar("T")


class EventLoopThread:
    """One event loop in a daemon thread, so blocking callers (and notebooks that already run a
    loop) can drive the async client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="clicksend-sql-io", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()  # the statement's task group cancels its requests...
            asyncio.run_coroutine_threadsafe(_settle(), self.loop).result(timeout=10)  # ...let them unwind
            raise

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


@dataclass
class Engine:
    """Shared state and services of one connection's statements."""

    settings: Settings
    catalog: Catalog
    duckdb: duckdb.DuckDBPyConnection
    io: EventLoopThread
    client: ClickSendClient
    progress: ProgressCallback | None = None
    pushdown: bool = True  # False: fetch whole tables and let DuckDB do everything
    dry_run: bool = False  # True: writes show their requests and price instead of sending
    limits: Limits = field(default_factory=Limits)  # sends over these caps are refused before sending
    last_stats: StatementStats = field(default_factory=StatementStats)
    owns_client: bool = True  # False for a cursor: it shares its connection's client and I/O thread
    duckdb_closed: bool = False
    streaming: bool = False  # a stream of this session is open: DuckDB holds its pending result

    @property
    def closed(self) -> bool:
        """Closed itself, or (a cursor) its connection's client and I/O thread are."""
        return self.duckdb_closed or self.io.loop.is_closed()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the I/O loop and wait for it."""
        return self.io.run(coroutine)

    @contextmanager
    def accounting(self) -> Iterator[StatementStats]:
        """Per-statement accounting: what the client spent while the block ran becomes last_stats."""
        stats = StatementStats()
        before, started = self.client.stats.snapshot(), time.perf_counter()
        try:
            yield stats
        finally:
            spent = self.client.stats - before
            for counter in fields(spent):
                setattr(stats, counter.name, getattr(spent, counter.name))
            stats.elapsed_seconds = time.perf_counter() - started
            self.last_stats = stats

    def refuse_in_transaction(self, what: str) -> None:
        """ClickSend changes cannot be rolled back, so none is made inside an open DuckDB
        transaction (``BEGIN ... ROLLBACK`` would suggest otherwise); checked before any request."""
        probe = "SELECT txid_current()"  # the same id twice only inside an explicit transaction
        if self.duckdb.execute(probe).fetchall() == self.duckdb.execute(probe).fetchall():
            raise UnsupportedStatementError(
                f"{what} inside a transaction is refused: ClickSend changes are not transactional, so a ROLLBACK "
                "could not undo it. COMMIT or ROLLBACK first, then run it on its own. Nothing was sent."
            )

    def plan(self, statement: exp.Expr, parameters: Parameters) -> Plan:
        return plan(statement, self.catalog, DuckDBSession(self.duckdb, parameters, pushdown=self.pushdown))

    def table(self, sql: str, params: Any, *, generated: bool) -> pa.Table:
        """Run SQL in DuckDB with DuckDB's own parameter binding; every failure becomes ours."""
        try:
            relation = self.duckdb.sql(sql, params=params) if params else self.duckdb.sql(sql)
            return relation.to_arrow_table() if relation is not None else pa.table({})
        except duckdb.Error as exc:
            raise self.translated(exc, generated=generated) from exc
        except RecursionError:
            raise SQLError("The statement nests too deeply for DuckDB; simplify it.") from None
        except BINDING_ERRORS as exc:
            raise ParameterError(
                f"A parameter could not be bound ({type(exc).__name__}: {exc}). DuckDB binds None, bool, int, float, "
                "Decimal, str, bytes, date/time/datetime/timedelta, UUID, lists, dicts and numpy scalars."
            ) from exc

    def reader(self, expression: exp.Expr, parameters: Parameters, rows_per_batch: int) -> pa.RecordBatchReader:
        """A generated query's rows as DuckDB streams them (errors while reading: :meth:`translated`)."""
        bound_expression, bound = parameters.evaluation(expression)
        try:
            return self.duckdb.sql(bound_expression.sql("duckdb"), params=bound).arrow(rows_per_batch)
        except duckdb.Error as exc:
            raise self.translated(exc) from exc

    def translated(self, exc: DuckDBError, *, generated: bool = True) -> SQLError | ClickSendSQLError:
        """A DuckDB error as the package's own."""
        return translate(exc, self.catalog, generated=generated)

    def evaluated(self, expression: exp.Expr, parameters: Parameters, *, generated: bool = True) -> pa.Table:
        """A generated expression's rows, its placeholders bound by name (a subset of the params)."""
        bound_expression, bound = parameters.evaluation(expression)
        return self.table(bound_expression.sql("duckdb"), bound, generated=generated)

    def close(self) -> None:
        """Close DuckDB and, unless a cursor's, the HTTP connections and the I/O thread."""
        if not self.duckdb_closed:
            try:
                self.duckdb.close()
            except duckdb.Error as exc:
                raise self.translated(exc, generated=False) from exc
            self.duckdb_closed = True
        if self.owns_client and not self.io.loop.is_closed():
            self.io.run(self.client.aclose())
            self.io.close()


async def _settle() -> None:
    """Wait for every other task of the I/O loop to finish unwinding (after a cancellation)."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)


async def make_client(
    settings: Settings, rate_limit: float | None, concurrency: int, retries: int, deadline: float
) -> ClickSendClient:
    """Create the client on the I/O loop it will be used from."""
    return ClickSendClient(settings, rate_limit=rate_limit, concurrency=concurrency, retries=retries, deadline=deadline)
