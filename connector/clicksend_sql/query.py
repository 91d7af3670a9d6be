"""Reads: a statement that reads ClickSend tables, planned, fetched and run by DuckDB.

The plan points each ClickSend reference at a view; DuckDB binds the statement against empty
stand-ins first (a typo costs no request), then each view is registered as a stream the
executor fills while DuckDB runs the statement: DuckDB pulls, and the requests follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlglot import exp

from .conversion import empty_rows
from .engine import Engine
from .errors import ClickSendSQLError
from .execution import Executor
from .parameters import Parameters
from .planner import Plan
from .planner.find_tables import find_tables
from .result import Result


def run_query(engine: Engine, statement: exp.Expression, parameters: Parameters) -> Result:
    """Answer a statement that reads ClickSend tables (SELECT, COPY, CTAS, INSERT into a local table)."""
    the_plan = engine.plan(statement, parameters)
    with engine.accounting() as stats, _views(engine, the_plan):
        query = query_part(the_plan.statement)
        if query is not None:  # DuckDB binds the statement against the empty stand-ins: no request yet
            engine.evaluated(exp.select("*").from_(query.copy().subquery("q")).limit(0), parameters)
        executor = Executor(engine.client, engine.catalog, engine.io.loop, engine.progress)
        try:
            table = _run(engine, the_plan, parameters, executor)
        finally:
            engine.run(executor.aclose())
            stats.rows_fetched.update(executor.rows_fetched())
    return Result(table, stats)


def _run(engine: Engine, the_plan: Plan, parameters: Parameters, executor: Executor) -> pa.Table:
    """count(*) from the API's counts, or DuckDB running the statement over the streamed scans."""
    if the_plan.count_alias is not None:
        total = engine.run(executor.count(next(iter(the_plan.scans.values()))))
        return pa.table({the_plan.count_alias: pa.array([total], pa.int64())})
    sources = engine.run(executor.start(the_plan.scans, readers(the_plan)))
    for name, source in sources.items():
        engine.duckdb.register(the_plan.scans[name].view, source)
    try:
        with _one_thread(engine.duckdb):
            return engine.evaluated(the_plan.statement, parameters)
    except ClickSendSQLError:
        if executor.interrupted:
            raise KeyboardInterrupt from None
        if executor.error is not None:  # a request failed while DuckDB read its rows: that is the error
            raise executor.error from executor.error.__cause__
        raise


@contextmanager
def _one_thread(duckdb: DuckDBPyConnection) -> Iterator[None]:
    """DuckDB runs a statement over streamed scans in the calling thread alone: its Parquet writer
    then buffers one row group, not one per thread (a 1,000,000-row COPY: 142 MB of growth, not
    493), and the scans wait on the network anyway. Test runs that read the Python readers from
    DuckDB's worker threads also hung intermittently, before the HTTP pool leak (see
    ``ClickSendClient._attempt``) was found; which of the two it was is not proven."""
    (threads,) = duckdb.execute("SELECT current_setting('threads')").fetchall()[0]
    duckdb.execute("SET threads = 1")
    try:
        yield
    finally:
        duckdb.execute(f"SET threads = {int(threads)}")


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


def rows(engine: Engine, query: exp.Expression, parameters: Parameters) -> pa.Table:
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


def query_part(statement: exp.Expression) -> exp.Expression | None:
    """The query inside a statement (itself for SELECT; the source of COPY, CTAS, INSERT)."""
    if isinstance(statement, exp.Query):
        return statement
    inner = statement.this if isinstance(statement, exp.Copy) else statement.args.get("expression")
    if isinstance(inner, exp.Subquery):
        inner = inner.this
    return inner if isinstance(inner, exp.Query) else None
