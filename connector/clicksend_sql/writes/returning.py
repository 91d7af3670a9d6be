"""Step (``RETURNING`` only): the written rows as the table shows them, instead of outcomes.

INSERT and UPDATE return what ClickSend answered for each row that succeeded (ids, dates,
prices and other server-filled columns, typed like SELECT types them); DELETE returns the
identity columns of the rows it deleted. DuckDB evaluates the ``RETURNING`` list over them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import orjson
import pyarrow as pa
from sqlglot import exp

from ..conversion import bodies_to_arrow
from .plan_rows import WriteRows, identity_columns
from .send_requests import RequestOutcome


def returning(
    statement: exp.Expression,
    write: WriteRows,
    results: Sequence[tuple[WriteRows, list[RequestOutcome]]],
    answered: Callable[[RequestOutcome, str], list[dict[str, Any]]],
    scratch: Callable[[], duckdb.DuckDBPyConnection],
) -> pa.Table:
    """The ``RETURNING`` list evaluated over the rows that were written."""
    clause = statement.args["returning"]
    table = write.table
    if write.kind == "DELETE":
        deleted = [i for part, outcomes in results for o in outcomes if o.status == "ok" for i in o.request.rows]
        rows = write.rows.select(identity_columns(table)).take(pa.array(sorted(deleted), pa.int64()))
    else:
        key = table.column(identity_columns(table)[0]).field
        items = [item for _, outcomes in results for o in outcomes if o.status == "ok" for item in answered(o, key)]
        rows = bodies_to_arrow(table, [orjson.dumps({"data": items})], "array")
    con = scratch()
    con.register("__clicksend_returned", rows)
    try:
        select = exp.select(*[e.copy() for e in clause.expressions]).from_(
            exp.Table(this=exp.to_identifier("__clicksend_returned"), alias=exp.TableAlias(this=exp.to_identifier(table.name)))
        )
        return con.sql(select.sql("duckdb")).to_arrow_table()
    finally:
        con.unregister("__clicksend_returned")
