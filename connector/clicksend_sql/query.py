"""Reads: a statement that reads ClickSend tables, planned, fetched and run by DuckDB.

The plan points each ClickSend reference at a view; DuckDB binds the statement against empty
stand-ins first (a typo costs no request), then each view is registered as a stream the
executor fills while DuckDB runs the statement: DuckDB pulls, and the requests follow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb
import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlglot import exp

from .conversion import empty_rows
from .engine import Engine
from .errors import ClickSendSQLError, SQLError
from .execution import Executor
from .parameters import Parameters
from .planner import Plan
from .planner.find_tables import find_tables
from .result import Result, StatementStats


T = TypeVar("T")
STREAM_BUFFER = "1MiB"  # DuckDB fills this much of a streamed result before its first batch (its default: 10 MiB)


def run_query(engine: Engine, statement: exp.Expr, parameters: Parameters, *, cache: bool = False) -> Result:
    """Answer a statement that reads ClickSend tables (SELECT, COPY, CTAS, INSERT into a local table);
    ``cache``: its pages may come from the connection's cache (a user's query, not a write's reads)."""
    with engine.cached_reads(cache), _running(engine, statement, parameters) as (the_plan, executor, stats):
        if the_plan.count_alias is not None:
            return Result(_count(engine, the_plan, executor), stats)
        _start_scans(engine, the_plan, executor)
        with _failures(executor), _one_thread(engine.duckdb):
            table = engine.evaluated(the_plan.statement, parameters)
    return Result(table, stats)


def stream_query(engine: Engine, statement: exp.Expr, parameters: Parameters, rows_per_batch: int, *,
                 cache: bool = False) -> Iterator[pa.Schema | pa.RecordBatch]:
    """A query's rows as DuckDB produces them: first the schema, then batches of at most
    ``rows_per_batch`` rows. The scans, the executor and DuckDB's single thread stay open until
    the generator is exhausted or closed; closing it early cancels the requests still to come,
    and the statement's stats are the connection's ``last_stats`` from then on."""
    with engine.cached_reads(cache), _running(engine, statement, parameters) as (the_plan, executor, _):
        if the_plan.count_alias is not None:
            table = _count(engine, the_plan, executor)
            yield table.schema
            yield from table.to_batches()
            return
        _start_scans(engine, the_plan, executor)
        with _failures(executor), _one_thread(engine.duckdb), _setting(engine.duckdb, "streaming_buffer_size", STREAM_BUFFER):
            reader = _arrow_errors(engine, executor, lambda: engine.reader(the_plan.statement, parameters, rows_per_batch))
            try:
                yield reader.schema
                while True:
                    try:
                        batch = _arrow_errors(engine, executor, reader.read_next_batch)
                    except StopIteration:
                        return
                    yield batch
            finally:
                reader.close()


def _arrow_errors(engine: Engine, executor: Executor, read: Callable[[], T]) -> T:
    """``read()``, with what DuckDB and Arrow raise when a scan's stream fails (an OSError that
    carries the Python traceback) turned into that request's own error, or the package's."""
    try:
        return read()
    except (duckdb.Error, OSError, pa.ArrowException) as exc:
        if executor.error is not None:
            raise executor.error from executor.error.__cause__
        if isinstance(exc, duckdb.Error):
            raise engine.translated(exc) from exc
        raise SQLError(f"Reading the statement's rows failed: {str(exc).splitlines()[0]}") from exc


@contextmanager
def _running(engine: Engine, statement: exp.Expr, parameters: Parameters) -> Iterator[tuple[Plan, Executor, StatementStats]]:
    """A planned statement with its stand-in views bound and its executor open, closed afterwards."""
    the_plan = engine.plan(statement, parameters)
    with engine.accounting() as stats, _views(engine, the_plan):
        query = query_part(the_plan.statement)
        if query is not None:  # DuckDB binds the statement against the empty stand-ins: no request yet
            engine.evaluated(exp.select("*").from_(query.copy().subquery("q")).limit(0), parameters)
        executor = Executor(engine.client, engine.catalog, engine.io.loop, engine.progress)
        try:
            yield the_plan, executor, stats
        finally:
            engine.run(executor.aclose())
            stats.rows_fetched.update(executor.rows_fetched())


def _count(engine: Engine, the_plan: Plan, executor: Executor) -> pa.Table:
    """count(*) from the API's counts."""
    total = engine.run(executor.count(next(iter(the_plan.scans.values()))))
    return pa.table({the_plan.count_alias: pa.array([total], pa.int64())})


def _start_scans(engine: Engine, the_plan: Plan, executor: Executor) -> None:
    """Start every scan's requests and point its view at the stream they fill."""
    sources = engine.run(executor.start(the_plan.scans, readers(the_plan)))
    for name, source in sources.items():
        engine.duckdb.register(the_plan.scans[name].view, source)


@contextmanager
def _failures(executor: Executor) -> Iterator[None]:
    """A request that failed while DuckDB read its rows is the statement's error (and Ctrl-C its interrupt)."""
    try:
        yield
    except ClickSendSQLError:
        if executor.interrupted:
            raise KeyboardInterrupt from None
        if executor.error is not None:
            raise executor.error from executor.error.__cause__
        raise


@contextmanager
def _setting(duckdb: DuckDBPyConnection, name: str, value: str) -> Iterator[None]:
    """DuckDB's setting ``name`` at ``value`` for the block, the session's own value afterwards."""
    (before,) = duckdb.execute(f"SELECT current_setting('{name}')").fetchall()[0]
    duckdb.execute(f"SET {name} = $value", {"value": value})
    try:
        yield
    finally:
        duckdb.execute(f"SET {name} = $value", {"value": before})


@contextmanager
def _one_thread(duckdb: DuckDBPyConnection) -> Iterator[None]:
    """DuckDB runs a statement over streamed scans in the calling thread alone: its Parquet writer
    then buffers one row group, not one per thread (a 1,000,000-row COPY: 142 MB of growth, not
    493), and the scans wait on the network anyway. Test runs that read the Python readers from
    DuckDB's worker threads also hung intermittently, before the HTTP pool leak (see
    ``ClickSendClient._attempt``) was found; which of the two it was is not proven."""
    with _setting(duckdb, "threads", "1"):
        yield


def readers(the_plan: Plan) -> dict[str, int]:
    """How often DuckDB will read each scan: once per reference, and at least twice for one in a
    CTE or a recursive part (DuckDB may read those again), so the rows are kept for every reader.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> from clicksend_sql.planner import Scan
    >>> t = load_catalog().table("Contacts")
    >>> scan = Scan(table=t, view="v")
    >>> readers(Plan(sqlglot.parse_one("SELECT * FROM v a JOIN v b USING (ContactId)"), {"contacts": scan}))
    {'contacts': 2}
    """
    counts = {}
    for name, scan in the_plan.scans.items():
        nodes = [t for t in the_plan.statement.find_all(exp.Table) if t.name == scan.view]
        counts[name] = max(len(nodes), 2 if any(n.find_ancestor(exp.CTE) for n in nodes) else 1)
    return counts


def rows(engine: Engine, query: exp.Expr, parameters: Parameters) -> pa.Table:
    """A query's rows: through the planner when it reads ClickSend tables, else DuckDB alone."""
    if find_tables(query, engine.catalog):
        return run_query(engine, query, parameters).arrow()
    return engine.evaluated(query, parameters)


@contextmanager
def _views(engine: Engine, the_plan: Plan) -> Iterator[None]:
    """Register empty stand-ins for the scans, and drop whatever was registered afterwards."""
    for scan in the_plan.scans.values():
        engine.duckdb.register(scan.view, empty_rows(scan.table))
    try:
        yield
    finally:
        for scan in the_plan.scans.values():
            engine.duckdb.unregister(scan.view)


def query_part(statement: exp.Expr) -> exp.Query | None:
    """The query inside a statement (itself for SELECT; the source of COPY, CTAS, INSERT)."""
    if isinstance(statement, exp.Query):
        return statement
    inner = statement.this if isinstance(statement, exp.Copy) else statement.args.get("expression")
    if isinstance(inner, exp.Subquery):
        inner = inner.this
    return inner if isinstance(inner, exp.Query) else None
