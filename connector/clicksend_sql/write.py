"""INSERT / UPDATE / DELETE on ClickSend tables: the engine's side of the ``writes`` pipeline
(its reads go through the query engine, its requests through the connection's client)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from . import writes
from .account_lock import account_lock
from .catalog import Table
from .charges import quoted_price
from .engine import Engine
from .parameters import Parameters
from .query import rows
from .result import Result


def run_write(engine: Engine, statement: exp.Expr, table: Table, parameters: Parameters, *, send: bool) -> Result:
    """The outcome rows of a write (``send=False``, for EXPLAIN and dry_run: its requests)."""
    if send:
        engine.refuse_in_transaction(f"{statement.key.upper()} on ClickSend table {table.name}")
    with engine.accounting() as stats:
        outcome = writes.execute_write(statement, table, Services(engine, parameters), engine.limits, send=send)
    if not send:
        return Result(outcome, stats, kind="explain", rowcount=-1)
    return Result(outcome, stats, kind="write", rowcount=_written(statement, outcome))


def _written(statement: exp.Expr, outcome: pa.Table) -> int:
    """Rows the write changed (DB-API's rowcount): its ``ok`` outcomes, or its RETURNING rows."""
    if statement.args.get("returning") or "status" not in outcome.column_names:
        return outcome.num_rows
    return outcome.column("status").to_pylist().count("ok")


class Services:
    """What the write pipeline (and a charging CALL) needs from the engine, for one statement."""

    def __init__(self, engine: Engine, parameters: Parameters) -> None:
        self._engine, self._parameters = engine, parameters
        self._sizes: dict[int, int] = {}  # list sizes read so far by this statement

    def query(self, query: exp.Expr) -> pa.Table:
        return rows(self._engine, query, self._parameters)

    def quote(self, path: str, body: Any) -> Decimal:
        response = self._engine.run(self._engine.client.request("POST", path, json=body, retry=True))
        return quoted_price(response.data)

    def list_sizes(self, ids: list[int]) -> dict[int, int]:
        """Contacts per list, read once per statement from ContactLists (a list that does not exist
        has none): the list-size limit, the caps and a dry run's count all ask."""
        missing = [i for i in ids if i not in self._sizes]
        if missing:
            select = exp.select("ListId", "ContactsCount").from_("ContactLists").where(exp.column("ListId").isin(*missing))
            self._sizes.update(dict.fromkeys(missing, 0))
            self._sizes.update({r["ListId"]: r["ContactsCount"] or 0 for r in self.query(select).to_pylist()})
        return {i: self._sizes[i] for i in ids}

    def send(self, requests: list[writes.WriteRequest]) -> list[writes.RequestOutcome]:
        return self._engine.run(writes.send_requests(self._engine.client, requests))

    def scratch(self) -> duckdb.DuckDBPyConnection:
        return self._engine.duckdb

    def exclusive(self) -> AbstractContextManager[None]:
        return account_lock(self._engine.settings)
