"""Step (``RETURNING`` only): the written rows as the table shows them, instead of outcomes.

Exactly the rows the outcomes say were written: INSERT and UPDATE return what ClickSend answered
for each (ids, dates, prices and other server-filled columns, typed like SELECT types them), or
for a send whose answer was lost and that the history settled, the history's row; DELETE
returns the identity columns of the rows it deleted. A refused message returns nothing. A row
whose outcome stays ``unknown`` makes the statement fail, naming it, since its silence would
read as "not written". DuckDB evaluates the ``RETURNING`` list over the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson
import pyarrow as pa
from sqlglot import exp

from ..conversion import arrow_schema, bodies_to_arrow
from .plan_rows import WriteError, WriteRows, identity_columns


@dataclass(frozen=True)
class Written:
    """One part of a write once sent: its outcomes, and per row the answer or history objects."""

    part: WriteRows
    outcome: pa.Table
    answered: list[list[dict[str, Any]]]  # per row: the answer's objects for it
    settled: dict[int, list[dict[str, Any]]]  # per row settled from the history: its history rows


def returning(statement: exp.Expr, written: Sequence[Written], scratch: Callable[[], duckdb.DuckDBPyConnection]) -> pa.Table:
    """The ``RETURNING`` list evaluated over the rows that were written."""
    clause = statement.args["returning"]
    first = written[0].part
    table = first.table
    outcomes = [(w, i, r) for w in written for i, r in enumerate(w.outcome.select(["row", "status"]).to_pylist())]
    unknown = [r["row"] for _, _, r in outcomes if r["status"] == "unknown"]
    ok = [(w, i) for w, i, r in outcomes if r["status"] == "ok"]
    if unknown:
        raise WriteError(
            f"{first.kind} {table.name} RETURNING: the answer for row(s) {', '.join(map(str, unknown[:20]))} was lost and "
            f"the history does not settle whether they were written; {len(ok)} other row(s) were. Check {table.name} "
            "before running the statement again."
        )
    if first.kind == "DELETE":
        rows = pa.concat_tables([w.part.rows.select(identity_columns(table)).take(pa.array([i for v, i in ok if v is w], pa.int64()))
                                 for w in written])
    else:
        items = [item for w, i in ok if i not in w.settled for item in w.answered[i]]
        answered = bodies_to_arrow(table, [orjson.dumps({"data": items})], "array")
        history = [h for w, i in ok for h in w.settled.get(i, [])]
        rows = pa.concat_tables([answered, pa.Table.from_pylist(history, schema=arrow_schema(table)).select(answered.column_names)])
    con = scratch()
    con.register("__clicksend_returned", rows)
    try:
        select = exp.select(*[e.copy() for e in clause.expressions]).from_(
            exp.Table(this=exp.to_identifier("__clicksend_returned"), alias=exp.TableAlias(this=exp.to_identifier(table.name)))
        )
        return con.sql(select.sql("duckdb")).to_arrow_table()
    finally:
        con.unregister("__clicksend_returned")
