"""The machinery every kind of statement shares: DuckDB, the catalog, the HTTP client on its own
event loop, per-statement accounting, and DuckDB's errors as the package's own.

A :class:`~clicksend_sql.connection.Connection` owns one Engine; the statement kinds (``query``,
``call``, ``explain``, ``write``) are functions of it, so ``connection.py`` only dispatches.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb
from duckdb import Error as DuckDBError  # the field ``duckdb`` shadows the module in annotations
import pyarrow as pa
from sqlglot import exp

from .catalog import Catalog
from .config import Limits, Settings
from .duckdb_errors import translate
from .errors import CanceledError, ClickSendSQLError, SQLError, UnsupportedStatementError
from .evaluation import DuckDBSession
from .execution import ProgressCallback
from .http import ClickSendClient, Concurrency, RateLimit, RequestStats, statement_counters
from .http.response_cache import ResponseCache, reads_cached
from .parameters import BINDING_ERRORS, ParameterError, Parameters
from .planner import Plan, plan
from .result import StatementStats

T = TypeVar("T")


class Interruption:
    """What lets another thread stop the statement a session runs (:meth:`Engine.interrupt`): a
    flag the statement's waits check, and the I/O-loop tasks it started (every task created under
    it joins, through the loop's task factory), so that they can be cancelled."""

    def __init__(self) -> None:
        self.requested = False
        self._tasks: set[asyncio.Task[Any]] = set()  # changed on the I/O loop only

    def adopt(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_tasks(self) -> None:
        """Cancel every task of the statement (called on the I/O loop)."""
        for task in list(self._tasks):
            task.cancel()


_interruption: contextvars.ContextVar[Interruption | None] = contextvars.ContextVar("interruption", default=None)


def _owned_task(loop: asyncio.AbstractEventLoop, coroutine: Any, *,
                context: contextvars.Context | None = None) -> asyncio.Task[Any]:
    """The I/O loop's task factory: a task created under a statement's Interruption joins it."""
    task: asyncio.Task[Any] = asyncio.Task(coroutine, loop=loop, context=context)
    owner = context.get(_interruption) if context is not None else _interruption.get()
    if owner is not None:
        owner.adopt(task)
    return task


class EventLoopThread:
    """One event loop in a daemon thread, so blocking callers (and notebooks that already run a
    loop) can drive the async client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_task_factory(_owned_task)
        self._thread = threading.Thread(target=self.loop.run_forever, name="clicksend-sql-io", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], counters: tuple[RequestStats, ...] = (),
            interruption: Interruption | None = None) -> T:
        """Run a coroutine on the loop and wait for it; its requests also count in ``counters``,
        and ``interruption`` can cancel it and the tasks it starts."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(_counting(counters, coroutine, interruption), self.loop)
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
    counting: tuple[RequestStats, ...] = ()  # the statements running in this session, outermost first
    use_cache: bool = True  # this session's queries may be answered from the connection's cache
    reading_cached: bool = False  # the running statement's GETs use the cache (a query's, not a write's)
    interruption: Interruption = field(default_factory=Interruption, init=False, repr=False)  # a cursor gets its own
    functions: tuple[str, ...] = ()  # the session's Python functions in DuckDB, removed when it closes

    @property
    def closed(self) -> bool:
        """Closed itself, or (a cursor) its connection's client and I/O thread are."""
        return self.duckdb_closed or self.io.loop.is_closed()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the I/O loop and wait for it; its requests count for this session's
        statements, and its GETs use the cache while :meth:`cached_reads` says so. Once the
        statement is interrupted, each wait ends in CanceledError (after the coroutine ran: closing
        an executor still cancels what it started)."""
        try:
            result = self.io.run(_cached(coroutine) if self.reading_cached else coroutine, self.counting,
                                 self.interruption)
        except (CancelledError, Exception) as exc:
            if self.interruption.requested:
                raise CanceledError("The statement was canceled.") from exc
            raise
        if self.interruption.requested:
            raise CanceledError("The statement was canceled.")
        return result

    @contextmanager
    def cached_reads(self, wanted: bool = True) -> Iterator[None]:
        """A query's reads: answered from the connection's cache when this session and the
        statement allow it (``wanted=False``: a ``/*+ no_cache */`` hint or ``cache=False``)."""
        before = self.reading_cached
        self.reading_cached = wanted and self.use_cache and self.client.cache is not None
        try:
            yield
        finally:
            self.reading_cached = before

    def interrupt(self) -> None:
        """Stop this session's running statement, from another thread: cancel its I/O tasks (its
        ClickSend requests) and DuckDB's work on it; the statement raises CanceledError. Nothing
        happens when no statement runs. Requests already answered stay made (a write may have
        landed)."""
        if not self.counting:
            return
        self.interruption.requested = True
        self.duckdb.interrupt()
        self.io.loop.call_soon_threadsafe(self.interruption.cancel_tasks)

    @contextmanager
    def accounting(self) -> Iterator[StatementStats]:
        """Per-statement accounting: the requests this session's block started become last_stats
        (exactly: another session's requests on the shared client are not counted)."""
        stats = StatementStats()
        outermost = not self.counting
        if outermost:  # a new statement: an earlier one's interruption is over
            self.interruption.requested = False
            _notify(self.progress, "statement_started")
        self.counting = (*self.counting, stats)
        started = time.perf_counter()
        try:
            yield stats
        finally:
            self.counting = tuple(s for s in self.counting if s is not stats)
            stats.elapsed_seconds = time.perf_counter() - started
            self.last_stats = stats
            if outermost:
                _notify(self.progress, "statement_done")

    def in_transaction(self) -> bool:
        """Whether a DuckDB transaction opened with BEGIN is still open in this session."""
        probe = "SELECT txid_current()"  # the same id twice only inside an explicit transaction
        return self.duckdb.execute(probe).fetchall() == self.duckdb.execute(probe).fetchall()

    def refuse_in_transaction(self, what: str) -> None:
        """ClickSend changes cannot be rolled back, so none is made inside an open DuckDB
        transaction (``BEGIN ... ROLLBACK`` would suggest otherwise); checked before any request."""
        if self.in_transaction():
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
        """A DuckDB error as the package's own (DuckDB's own interrupt: CanceledError)."""
        if isinstance(exc, duckdb.InterruptException):
            return CanceledError("The statement was canceled.")
        return translate(exc, self.catalog, generated=generated)

    def evaluated(self, expression: exp.Expr, parameters: Parameters, *, generated: bool = True) -> pa.Table:
        """A generated expression's rows, its placeholders bound by name (a subset of the params)."""
        bound_expression, bound = parameters.evaluation(expression)
        return self.table(bound_expression.sql("duckdb"), bound, generated=generated)

    def close(self) -> None:
        """Close DuckDB and, unless a cursor's, the HTTP connections and the I/O thread."""
        if not self.duckdb_closed:
            for name in self.functions:  # DuckDB would list them to the database's other sessions, dangling
                with suppress(duckdb.Error):  # one that cannot go now (a failed transaction) goes with the database
                    self.duckdb.remove_function(name)
            try:
                self.duckdb.close()
            except duckdb.Error as exc:
                raise self.translated(exc, generated=False) from exc
            self.duckdb_closed = True
        if self.owns_client and not self.io.loop.is_closed():
            self.io.run(self.client.aclose())
            self.io.close()


async def _counting(counters: tuple[RequestStats, ...], coroutine: Coroutine[Any, Any, T],
                    interruption: Interruption | None = None) -> T:
    """``coroutine``, in a task whose requests (and its subtasks') also count in ``counters``, and
    which (with its subtasks) ``interruption`` can cancel."""
    statement_counters.set(counters)
    if interruption is not None:
        _interruption.set(interruption)
        task = asyncio.current_task()
        assert task is not None
        interruption.adopt(task)
    return await coroutine


def _notify(progress: ProgressCallback | None, event: str) -> None:
    """Tell a progress display that has the hook (a notebook's bar: one per statement) where a statement is."""
    hook = getattr(progress, event, None)
    if hook is not None:
        hook()


async def _cached(coroutine: Coroutine[Any, Any, T]) -> T:
    """``coroutine``, in a task whose GETs (and its subtasks') may use the cache."""
    reads_cached.set(True)
    return await coroutine


async def _settle() -> None:
    """Wait for every other task of the I/O loop to finish unwinding (after a cancellation)."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)


async def make_client(
    settings: Settings, rate_limit: RateLimit, concurrency: Concurrency, retries: int, deadline: float,
    cache: ResponseCache[Any] | None = None,
) -> ClickSendClient:
    """Create the client on the I/O loop it will be used from."""
    return ClickSendClient(settings, rate_limit=rate_limit, concurrency=concurrency, retries=retries, deadline=deadline,
                           cache=cache)
