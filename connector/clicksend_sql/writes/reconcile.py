"""Step (sends only): settle the messages whose answer was lost, from the history itself.

A send is never retried, so when its request fails in a way that may have been acted on (a
dropped connection, a 5xx), each of its rows is looked up in the table's history by what is
unique to this attempt: the CustomString it carried, its recipient (the number, or the list),
a date from just before the statement, and a message id that did not exist before the send
(:func:`messages_before` reads those first, for CustomStrings the caller chose and may reuse;
generated ones are unique by construction). Found: ``ok``, with the message id and price the
history shows. Not found: ``error`` (it was not sent; re-running the statement with
``ON CONFLICT (CustomString) DO NOTHING`` sends it once).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from .outcomes import CUSTOM_STRING, match_messages
from .plan_rows import RunQuery, WriteRows

CLOCK_SLACK = timedelta(minutes=10)  # history dates come from the server's clock, not ours


def messages_before(write: WriteRows, run_query: RunQuery, started: datetime) -> frozenset[str]:
    """The ids of messages already in the history with a CustomString this write reuses."""
    if CUSTOM_STRING not in write.columns or not _settles(write) or not write.rows.num_rows:
        return frozenset()
    strings = [s for s in pc.unique(write.rows.column(CUSTOM_STRING)).to_pylist() if s]
    if not strings:
        return frozenset()
    key = write.table.primary_key[0]
    found = run_query(_history(write, strings, started).select(exp.column(key, quoted=True), append=False))
    return frozenset(str(m) for m in found.column(key).to_pylist())


def reconcile(write: WriteRows, sent_rows: pa.Table, outcome: pa.Table, run_query: RunQuery, started: datetime,
              before: frozenset[str]) -> tuple[pa.Table, dict[int, list[dict[str, Any]]]]:
    """``outcome`` with its ``unknown`` sends settled against the history where that can be
    proven, and the history rows (as SELECT shows them) of each row it settled as sent."""
    unknown = pc.and_(pc.equal(outcome.column("status"), "unknown"), pc.is_valid(outcome.column("custom_string")))
    if not pc.any(unknown).as_py() or not _settles(write):
        return outcome, {}
    rows = outcome.to_pylist()
    waiting = [i for i, r in enumerate(rows) if r["status"] == "unknown" and r["custom_string"] is not None]
    strings = sorted({rows[i]["custom_string"] for i in waiting})
    key = write.table.primary_key[0]
    history = [r for r in run_query(_history(write, strings, started)).to_pylist() if str(r[key]) not in before]
    records = sent_rows.to_pylist()
    echoed = [{"custom_string": h[CUSTOM_STRING], "to": h.get("To"), "list_id": h.get("ListId"), "_row": h} for h in history]
    matched = match_messages(write.table, [records[i] for i in waiting], echoed)
    settled: dict[int, list[dict[str, Any]]] = {}
    for index, found in zip(waiting, matched, strict=True):
        row = rows[index]
        if not found:
            row.update(status="error", messages=0, error=f"not sent: no message with CustomString {row['custom_string']!r} "
                       f"reached {write.table.name} after the request failed ({row['error']})")
            continue
        prices = [m["_row"].get("MessagePrice") for m in found if m["_row"].get("MessagePrice") is not None]
        one = found[0]["_row"] if len(found) == 1 else None
        row.update(status="ok", error=None, key=one[key] if one else None, message_id=one[key] if one else None,
                   price=sum(prices) if prices else None, api_status=one.get("Status") if one else "settled from history",
                   messages=len(found))
        settled[index] = [m["_row"] for m in found]
    return pa.Table.from_pylist(rows, schema=outcome.schema), settled


def _settles(write: WriteRows) -> bool:
    """Whether the table's history can settle a lost send: batched sends carry a CustomString
    per message and the history is dated."""
    insert = write.table.insert
    return write.kind == "INSERT" and insert is not None and insert.batch is not None and bool(write.table.incremental) \
        and CUSTOM_STRING in write.table.column_names


def _history(write: WriteRows, strings: list[str], started: datetime) -> exp.Select:
    """The table's rows dated from just before the statement that carry one of ``strings``."""
    dated = write.table.incremental[0]
    since = exp.cast(exp.Literal.string((started - CLOCK_SLACK).isoformat()), "TIMESTAMPTZ")
    return (
        exp.select("*")
        .from_(exp.to_table(write.table.name))
        .where(exp.GTE(this=exp.column(dated), expression=since))
        .where(exp.column(CUSTOM_STRING).isin(*strings))
    )
