"""Step: one outcome row per input row, in input order.

``status`` is ``ok``, ``error`` or ``unknown``; for sends, each message's own status in the
answer decides (a batch can be accepted with some messages refused), with its message id,
price and the API's status text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa

from ..catalog import Table
from .plan_rows import WriteRows, identity_columns
from .send_requests import RequestOutcome

OUTCOME_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("key", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("message_id", pa.string()),
        ("custom_string", pa.string()),
        ("price", pa.decimal128(18, 6)),
        ("api_status", pa.string()),
    ]
)
_SENT = ("SUCCESS", "QUEUED", "SCHEDULED")


def outcomes(write: WriteRows, sent_rows: pa.Table, results: list[RequestOutcome]) -> pa.Table:
    """The outcome table of a write statement."""
    records = sent_rows.to_pylist()
    rows: list[dict[str, Any]] = [{} for _ in records]
    origins = write.origins or tuple(range(len(records)))
    key_field = write.table.column(identity_columns(write.table)[0]).field
    for result in results:
        answered = answered_rows(result, key_field)
        for position, index in enumerate(result.request.rows):
            item = answered[position] if position < len(answered) else None
            rows[index] = _outcome(write.table, write, records[index], origins[index], result, item)
    return pa.Table.from_pylist(rows, schema=OUTCOME_SCHEMA)


def merge(parts: list[pa.Table], skipped: dict[int, str]) -> pa.Table:
    """One outcome per input row, in input order: the parts' outcomes, and ``skipped`` with its
    reason for each row no request carried (an upsert's DO NOTHING match, a repeated row).

    >>> part = pa.Table.from_pylist([{"row": 2, "status": "ok"}], schema=OUTCOME_SCHEMA)
    >>> merge([part], {0: "it exists"}).select(["row", "status", "error"]).to_pylist()
    [{'row': 1, 'status': 'skipped', 'error': 'it exists'}, {'row': 2, 'status': 'ok', 'error': None}]
    """
    done = pa.concat_tables(parts) if parts else OUTCOME_SCHEMA.empty_table()
    skipped = [{"row": n + 1, "status": "skipped", "error": why} for n, why in sorted(skipped.items())]
    merged = pa.concat_tables([done, pa.Table.from_pylist(skipped, schema=OUTCOME_SCHEMA)])
    return merged.sort_by("row")


def answered_rows(result: RequestOutcome, key_field: str) -> list[dict[str, Any]]:
    """The per-row objects of an answer: the batch's list (``messages``), or the one object."""
    if result.response is None:
        return []
    data = result.response.data
    batch = result.request.batch
    if batch and isinstance(data, dict) and isinstance(data.get(batch), list):
        return [m if isinstance(m, dict) else {} for m in data[batch]]
    while isinstance(data, dict) and key_field not in data and isinstance(data.get("data"), (dict, list)):
        data = data["data"]  # the created object inside a send summary (email campaigns) or a paginator
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    return [data] if isinstance(data, dict) else []


def _outcome(
    table: Table, write: WriteRows, record: dict[str, Any], index: int, result: RequestOutcome, item: dict[str, Any] | None
) -> dict[str, Any]:
    item = item or {}
    status, error = result.status, result.error
    api_status = item.get("status") if result.request.batch else None
    if result.request.batch and status == "ok":
        if not item:
            status, error = "unknown", "the answer did not list this message"
        elif str(api_status or "").upper() not in _SENT:
            status, error = "error", f"ClickSend refused this message: {api_status}"
    key_fields = {c.name: c.field for c in table.columns}
    key = [record.get(k) if record.get(k) is not None else item.get(key_fields[k]) for k in identity_columns(table)[:1]]
    price = item.get("message_price", item.get("post_price"))  # letters and postcards say post_price
    return {
        "row": index + 1,
        "key": None if key[0] is None else str(key[0]),
        "status": status,
        "error": error,
        "message_id": item.get("message_id") if result.request.batch else None,
        "custom_string": record.get("CustomString") if result.request.batch else None,
        "price": None if price in (None, "") else Decimal(str(price)),
        "api_status": api_status,
    }
