"""INSERT / UPDATE / DELETE on ClickSend tables: the engine's side of the ``writes`` pipeline
(its reads go through the query engine, its requests through the connection's client)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from . import writes
from .catalog import Table
from .engine import Engine
from .parameters import Parameters
from .query import rows
from .result import Result


def run_write(engine: Engine, statement: exp.Expression, table: Table, parameters: Parameters, *, send: bool) -> Result:
    """The outcome rows of a write (``send=False``, for EXPLAIN and dry_run: its requests)."""
    with engine.accounting() as stats:
        outcome = writes.execute_write(statement, table, _Services(engine, parameters), engine.limits, send=send)
    return Result(outcome, stats, kind="write" if send else "explain")


class _Services:
    """What the write pipeline needs from the engine, for one statement (``writes.Services``)."""

    def __init__(self, engine: Engine, parameters: Parameters) -> None:
        self._engine, self._parameters = engine, parameters

    def query(self, query: exp.Expression) -> pa.Table:
        return rows(self._engine, query, self._parameters)

    def quote(self, path: str, body: Any) -> Decimal:
        response = self._engine.run(self._engine.client.request("POST", path, json=body, retry=True))
        data = response.data if isinstance(response.data, dict) else {}
        return Decimal(str(data.get("total_price") or 0))

    def send(self, requests: list[writes.WriteRequest]) -> list[writes.RequestOutcome]:
        return self._engine.run(writes.send_requests(self._engine.client, requests))

    def scratch(self) -> duckdb.DuckDBPyConnection:
        return self._engine.duckdb
