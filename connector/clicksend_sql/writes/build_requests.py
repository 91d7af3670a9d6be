"""Step: the HTTP requests a validated write makes, each knowing which input rows it carries.

One request per row (``POST /lists``, ``PUT /lists/{list_id}``, ``DELETE ...``), except where the
table's insert endpoint takes a list (``batch``): sends go 1,000 messages to a request. Every
message of a send carries a ``custom_string`` (the caller's, or one generated per row) so that
an outcome can always be matched to its row, in the answer or later in the history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa

from ..catalog import Column, Endpoint
from ..execution import fill_path
from .plan_rows import WriteRows

CUSTOM_STRING = "CustomString"


@dataclass(frozen=True)
class WriteRequest:
    """One request: what to send, and the input rows (0-based) it carries, in order."""

    method: str
    path: str
    body: Any
    rows: tuple[int, ...]
    retry: bool  # safe to repeat after a failure that may have been acted on (PUT, DELETE)
    batch: str | None = None  # the body key holding the rows, for batched sends


def build_requests(write: WriteRows) -> tuple[list[WriteRequest], pa.Table]:
    """The requests, and the rows as sent (with generated CustomStrings for batched sends).

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("ContactLists")
    >>> requests, _ = build_requests(WriteRows("DELETE", t, (), pa.table({"ListId": [5, 6]})))
    >>> [(r.method, r.path, r.rows) for r in requests]
    [('DELETE', '/lists/5', (0,)), ('DELETE', '/lists/6', (1,))]
    """
    table, rows = write.table, write.rows
    endpoint = {"INSERT": table.insert, "UPDATE": table.update, "DELETE": table.delete}[write.kind]
    assert endpoint is not None
    if endpoint.batch and CUSTOM_STRING in table.column_names:
        rows = _with_custom_strings(rows)
    body_columns = [table.column(n) for n in rows.column_names if n in write.columns or n == CUSTOM_STRING]
    records = rows.to_pylist()
    bodies = [_body(record, body_columns, endpoint) for record in records]
    if endpoint.batch:
        size = max(1, endpoint.batch_size)
        return [
            WriteRequest(endpoint.method, endpoint.path, {endpoint.batch: bodies[start:start + size]},
                         tuple(range(start, min(start + size, len(bodies)))), retry=False, batch=endpoint.batch)
            for start in range(0, len(bodies), size)
        ], rows
    path_values = {c.path_param: c.name for c in table.columns if c.path_param}
    idempotent = endpoint.method in ("PUT", "PATCH", "DELETE")
    return [
        WriteRequest(
            endpoint.method,
            fill_path(endpoint.path, {var: record[name] for var, name in path_values.items() if var in endpoint.path_vars}),
            body if write.kind != "DELETE" else None,
            (index,),
            retry=idempotent,
        )
        for index, (record, body) in enumerate(zip(records, bodies, strict=True))
    ], rows


def _with_custom_strings(rows: pa.Table) -> pa.Table:
    """Give every row a CustomString (kept where the caller gave one) to match outcomes by."""
    run = uuid.uuid4().hex[:12]
    generated = [f"csql-{run}-{i + 1}" for i in range(rows.num_rows)]
    if CUSTOM_STRING in rows.column_names:
        given = rows.column(CUSTOM_STRING).to_pylist()
        values = [g if g not in (None, "") else gen for g, gen in zip(given, generated, strict=True)]
        return rows.set_column(rows.schema.get_field_index(CUSTOM_STRING), CUSTOM_STRING, pa.array(values, pa.string()))
    return rows.append_column(CUSTOM_STRING, pa.array(generated, pa.string()))


def _body(record: dict[str, Any], columns: list[Column], endpoint: Endpoint) -> dict[str, Any]:
    """A row as the API's JSON: API field names, path variables left to the path, NULLs left out."""
    body = {}
    for column in columns:
        value = record.get(column.name)
        if value is None or column.path_param in endpoint.path_vars:
            continue
        body[column.field] = _json_value(value, column)
    return body


def _json_value(value: Any, column: Column) -> Any:
    """A value as ClickSend takes it: flags as 0/1 (NOTES.md §10), unix seconds, decimal strings."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat() if column.time_format == "iso" else int(value.timestamp())
    if isinstance(value, Decimal):
        return str(value)
    if column.type == "JSON" and isinstance(value, str):
        return orjson.loads(value)
    return value
