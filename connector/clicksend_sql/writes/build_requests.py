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
    bodies = [_body(record, body_columns, endpoint, clear=write.kind == "UPDATE") for record in records]
    if endpoint.batch:
        return _batches(endpoint, bodies), rows
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


def _batches(endpoint: Endpoint, bodies: list[dict[str, Any]]) -> list[WriteRequest]:
    """Rows in requests of at most ``batch_size``; rows that differ in a ``shared`` field (MMS
    ``media_file``, fax ``file_url``: said once per request) go to different requests.

    >>> e = Endpoint("POST", "/fax/send", batch="messages", batch_size=2, shared=("file_url",))
    >>> [(r.body["file_url"], r.rows) for r in _batches(e, [{"to": i, "file_url": u} for i, u in enumerate("aaba")])]
    [('a', (0, 1)), ('a', (3,)), ('b', (2,))]
    """
    assert endpoint.batch is not None
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, body in enumerate(bodies):
        groups.setdefault(tuple(orjson.dumps(body.get(f)) for f in endpoint.shared), []).append(index)
    size = max(1, endpoint.batch_size)
    requests = []
    for members in groups.values():
        for start in range(0, len(members), size):
            chunk = members[start:start + size]
            shared = {f: bodies[chunk[0]][f] for f in endpoint.shared if f in bodies[chunk[0]]}
            items = [{k: v for k, v in bodies[i].items() if k not in endpoint.shared} for i in chunk]
            requests.append(WriteRequest(endpoint.method, endpoint.path, {**shared, endpoint.batch: items},
                                         tuple(chunk), retry=False, batch=endpoint.batch))
    return requests


def _with_custom_strings(rows: pa.Table) -> pa.Table:
    """Give every row a CustomString (kept where the caller gave one) to match outcomes by."""
    run = uuid.uuid4().hex[:12]
    generated = [f"csql-{run}-{i + 1}" for i in range(rows.num_rows)]
    if CUSTOM_STRING in rows.column_names:
        given = rows.column(CUSTOM_STRING).to_pylist()
        values = [g if g not in (None, "") else gen for g, gen in zip(given, generated, strict=True)]
        return rows.set_column(rows.schema.get_field_index(CUSTOM_STRING), CUSTOM_STRING, pa.array(values, pa.string()))
    return rows.append_column(CUSTOM_STRING, pa.array(generated, pa.string()))


def _body(record: dict[str, Any], columns: list[Column], endpoint: Endpoint, *, clear: bool) -> dict[str, Any]:
    """A row as the API's JSON: API field names, path variables left to the path. A NULL is left
    out, except that an UPDATE (``clear``) clears a text field with ClickSend's empty value ``""``
    (``validate_rows`` refused NULL for the other types).

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("Contacts")
    >>> _body({"Email": None, "FirstName": "Ann"}, [t.column("Email"), t.column("FirstName")], t.update, clear=True)
    {'email': '', 'first_name': 'Ann'}
    """
    body = {}
    for column in columns:
        value = record.get(column.name)
        if column.path_param in endpoint.path_vars or (value is None and not clear):
            continue
        body[column.write_field or column.field] = "" if value is None else _json_value(value, column)
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
