"""Step (sends only): settle the messages whose answer was lost, from the history itself.

A send is never retried, so when its request fails in a way that may have been acted on (a
dropped connection, a 5xx), each of its messages is looked up in the table's history by the
CustomString it carried, among rows dated from just before the statement. Found: ``ok``, with the
message id and price the history shows. Not found: ``error`` (it was not sent; re-running the
statement with ``ON CONFLICT (CustomString) DO NOTHING`` sends it once).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from .plan_rows import RunQuery, WriteRows

CLOCK_SLACK = timedelta(minutes=10)  # history dates come from the server's clock, not ours


def reconcile(write: WriteRows, outcome: pa.Table, run_query: RunQuery, started: datetime) -> pa.Table:
    """``outcome`` with its ``unknown`` sends settled against the history where that can be proven."""
    unknown = pc.and_(pc.equal(outcome.column("status"), "unknown"), pc.is_valid(outcome.column("custom_string")))
    if not pc.any(unknown).as_py() or not write.table.incremental:
        return outcome
    strings = pc.filter(outcome.column("custom_string"), unknown).to_pylist()
    dated = write.table.incremental[0]
    query = (
        exp.select("CustomString", "MessageId", "MessagePrice", "Status")
        .from_(exp.to_table(write.table.name))
        .where(exp.GTE(this=exp.column(dated), expression=exp.cast(exp.Literal.string((started - CLOCK_SLACK).isoformat()), "TIMESTAMPTZ")))
        .where(exp.column("CustomString").isin(*strings))
    )
    found = {r["CustomString"]: r for r in run_query(query).to_pylist()}
    rows = outcome.to_pylist()
    for row in rows:
        if row["status"] != "unknown" or row["custom_string"] is None:
            continue
        seen = found.get(row["custom_string"])
        if seen is None:
            row.update(status="error", error=f"not sent: no message with CustomString {row['custom_string']!r} "
                       f"reached {write.table.name} after the request failed ({row['error']})")
        else:
            row.update(status="ok", error=None, key=seen["MessageId"], message_id=seen["MessageId"],
                       price=seen["MessagePrice"], api_status=seen["Status"])
    return pa.Table.from_pylist(rows, schema=outcome.schema)
