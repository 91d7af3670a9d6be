"""EXPLAIN of a read: per ClickSend table the endpoint, streams, parameters, what was pushed,
what DuckDB applies locally and why, the expected requests and, for a key list, which way it is
read and why; no request is made."""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from .engine import Engine
from .execution import fill_path
from .parameters import Parameters
from .planner.plan import Scan
from .result import Result

EXPLAIN_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("table", "mode", "endpoint", "streams", "params", "pushed", "local", "kept_local")]
    + [("exact", pa.bool_()), ("limit", pa.int64()), ("expected_requests", pa.string()), ("choice", pa.string()),
       ("duckdb_sql", pa.string()), ("cache", pa.string())]
)


def run_explain(engine: Engine, statement: exp.Expr, parameters: Parameters) -> Result:
    """The plan of a statement that reads ClickSend tables, one row per table."""
    the_plan = engine.plan(statement, parameters)
    rows = [{**row, "duckdb_sql": the_plan.duckdb_sql, "cache": _cache_state(engine, scan)}
            for row, scan in zip(the_plan.explain_rows(), the_plan.scans.values(), strict=True)]
    return Result(pa.Table.from_pylist(rows, schema=EXPLAIN_SCHEMA), kind="explain")


def _cache_state(engine: Engine, scan: Scan) -> str:
    """Whether the table's first page would come from the connection's cache, and for how long pages are kept."""
    cache = engine.client.cache
    if cache is None or not engine.use_cache:
        return "off"
    ages = [cache.age(fill_path(scan.path, stream), scan.params) for stream in scan.streams
            if scan.endpoint is not None and not scan.fan_out]
    age = min((a for a in ages if a is not None), default=None)
    kept = f"pages kept {cache.ttl:g} s"
    return f"hit: fetched {age:.0f} s ago ({kept})" if age is not None else f"miss ({kept})"
