"""EXPLAIN of a read: per ClickSend table the endpoint, streams, parameters, what was pushed,
what DuckDB applies locally and why, and the expected requests; no request is made."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .engine import Engine
from .parameters import Parameters
from .result import Result

EXPLAIN_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("table", "mode", "endpoint", "streams", "params", "pushed", "local", "kept_local")]
    + [("exact", pa.bool_()), ("limit", pa.int64()), ("expected_requests", pa.string()), ("duckdb_sql", pa.string())]
)


def run_explain(engine: Engine, statement: exp.Expr, parameters: Parameters) -> Result:
    """The plan of a statement that reads ClickSend tables, one row per table."""
    the_plan = engine.plan(statement, parameters)
    rows = [{**row, "duckdb_sql": the_plan.duckdb_sql} for row in the_plan.explain_rows()]
    return Result(pa.Table.from_pylist(rows, schema=EXPLAIN_SCHEMA), kind="explain")
