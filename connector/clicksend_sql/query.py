"""Reads: a statement that reads ClickSend tables, planned, fetched and run by DuckDB.

The plan points each ClickSend reference at a view; DuckDB binds the statement against empty
stand-ins first (a typo costs no request), the executor fetches every scan concurrently, the
rows are registered as Arrow tables under the views, and DuckDB runs the statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from .conversion import arrow_schema
from .engine import Engine
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
        fetched = engine.run(Executor(engine.client, engine.catalog, engine.progress).run(the_plan.scans))
        for name, rows in fetched.items():
            if isinstance(rows, pa.Table):
                engine.duckdb.register(the_plan.scans[name].view, redact(rows, engine.settings.api_key))
                stats.rows_fetched[the_plan.scans[name].table.name] = rows.num_rows
        if the_plan.count_alias is not None:
            total = next(iter(fetched.values()))
            table = pa.table({the_plan.count_alias: pa.array([int(total)], pa.int64())})
        else:
            table = engine.evaluated(the_plan.statement, parameters)
    return Result(table, stats)


def rows(engine: Engine, query: exp.Expression, parameters: Parameters) -> pa.Table:
    """A query's rows: through the planner when it reads ClickSend tables, else DuckDB alone."""
    if find_tables(query, engine.catalog):
        return run_query(engine, query, parameters).arrow()
    return engine.evaluated(query, parameters)


@contextmanager
def _views(engine: Engine, the_plan: Plan) -> Iterator[None]:
    """Register empty stand-ins for the scans, and drop whatever was registered afterwards."""
    for scan in the_plan.scans.values():
        engine.duckdb.register(scan.view, arrow_schema(scan.table).empty_table())
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


def redact(rows: pa.Table, secret: str) -> pa.Table:
    """Mask the connection's own API key wherever the API echoes it (``GET /account`` does, in
    ``_subaccount``), so it never reaches results, files or the CLI.

    >>> redact(pa.table({"s": ['{"api_key":"K-1"}', None], "n": [1, 2]}), "K-1").to_pylist()
    [{'s': '{"api_key":"****"}', 'n': 1}, {'s': None, 'n': 2}]
    """
    for index, field in enumerate(rows.schema):
        if pa.types.is_string(field.type) and pc.any(pc.match_substring(rows.column(index), secret)).as_py():
            masked = pc.replace_substring(rows.column(index), secret, "****")
            rows = rows.set_column(index, field, masked)
    return rows
