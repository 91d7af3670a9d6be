"""Raw ClickSend response bodies -> Arrow tables with a table's declared schema.

This is the hot path of every scan, so it does no per-value Python work when it can avoid it:
page bodies go straight to Arrow's multi-threaded JSON reader, and every column is then cast
with Arrow compute to its declared SQL type. ClickSend is loose with JSON types (a timestamp is
an int on one endpoint and a numeric string on the next, ``NOTES.md`` §10), so casts accept
both. A batch whose bodies mix types within one field (which the JSON reader refuses) falls
back to a slower path that normalises values in Python.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import cache
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from .catalog import Column, Table
from .errors import DataError, InvalidResponseError
from .http.responses import NOT_A_PAGE, not_the_page

_DECIMAL_RE = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_OBJECT_START = re.compile(rb"[ \t\r\n]*\{")


class ConversionError(DataError):
    """A value could not be converted to its column's declared type."""


class WrongPage(Exception):
    """Body ``index`` of a page walk's bodies is not the page asked for (``why``, as
    :func:`~.http.responses.not_the_page` says); the reader names the request."""

    def __init__(self, index: int, why: str) -> None:
        super().__init__(why)
        self.index, self.why = index, why


@cache
def arrow_type(sql_type: str) -> pa.DataType:
    """The Arrow type DuckDB reads back as ``sql_type``.

    >>> arrow_type("TIMESTAMPTZ"), arrow_type("DECIMAL(18,6)")
    (TimestampType(timestamp[us, tz=UTC]), Decimal128Type(decimal128(18, 6)))
    """
    simple = {
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "DOUBLE": pa.float64(),
        "VARCHAR": pa.string(),
        "JSON": pa.string(),
        "BOOLEAN": pa.bool_(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "DATE": pa.date32(),
    }
    if sql_type in simple:
        return simple[sql_type]
    match = _DECIMAL_RE.fullmatch(sql_type)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    raise ConversionError(f"Unsupported column type {sql_type!r}")


def arrow_schema(table: Table) -> pa.Schema:
    """The declared schema of ``table`` as Arrow sees it."""
    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.columns])


def rows_path(shape: str, rows_key: str | None) -> tuple[str, ...]:
    """Where the row array (or single row object) sits inside a response body.

    >>> rows_path("paginator", None), rows_path("cursor_no_envelope", "own_numbers")
    (('data', 'data'), ('own_numbers',))
    """
    return {
        "paginator": ("data", "data"),
        "cursor": ("data", "data"),
        "cursor_no_envelope": (rows_key or "data",),
        "array": ("data",),
        "object": ("data",),
        "object_no_envelope": (),
    }[shape]


def empty_rows(table: Table) -> pa.Table:
    """A table's typed, empty rows (``Schema.empty_table`` would import pandas: ~0.2 s of start-up)."""
    return pa.Table.from_batches([], arrow_schema(table))


def bodies_to_arrow(
    table: Table, bodies: Sequence[bytes], shape: str, rows_key: str | None = None, *,
    pages: Sequence[int | None] = (),
) -> pa.Table:
    """Convert response bodies (pages, or single-object answers) to one typed Arrow table.
    ``pages``: the page numbers of a ``paginator`` walk's bodies (None: unchecked), each checked to
    be that page while it is parsed anyway (:class:`WrongPage` when one is not).

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("ContactLists")
    >>> page = b'{"data":{"total":1,"data":[{"list_id":7,"list_name":"VIP","_import_in_progress":0}]}}'
    >>> bodies_to_arrow(t, [page], "paginator").select(["ListId", "ListName", "ImportInProgress"]).to_pylist()
    [{'ListId': 7, 'ListName': 'VIP', 'ImportInProgress': False}]
    """
    if not bodies:
        return empty_rows(table)
    path = rows_path(shape, rows_key)
    single = shape in ("object", "object_no_envelope")
    try:
        if all(c.field == "." for c in table.columns) or table.columns[0].field == ".":
            raw = _scalar_rows(bodies, path, pages)
        else:
            try:
                raw = _read_fast(bodies, path, single, pages)
            except (pa.ArrowException, KeyError):
                raw = _read_slow(bodies, path, single, pages)
        return _typed(table, raw)
    except (ValueError, pa.ArrowException) as exc:  # orjson.JSONDecodeError is a ValueError
        endpoint = table.get if single and table.get is not None else table.list
        raise InvalidResponseError(
            f"A ClickSend answer for table {table.name} ({endpoint.method} {endpoint.path}) is not the JSON "
            f"ClickSend sends ({exc}); a proxy or gateway may have answered instead.",
            status=None,
            method=endpoint.method,
            path=endpoint.path,
        ) from exc


# --- reading ---------------------------------------------------------------------------------

# The JSON reader's large, short-lived buffers come from the system allocator: mimalloc (pyarrow's
# default) kept them resident (a 300,000-row COPY grew 141 MB with it, 129 MB without).
_PARSING_POOL = pa.system_memory_pool()


def _read_fast(
    bodies: Sequence[bytes], path: tuple[str, ...], single: bool, pages: Sequence[int | None]
) -> dict[str, pa.Array]:
    """Arrow's JSON reader over all bodies at once (one body per line), then unnest ``path``.

    Only bodies that open a JSON object are given to it: pyarrow's reader crashes the process
    (SIGSEGV, pyarrow 26) on input that starts with ``null``, which any server can send.
    """
    if not all(_OBJECT_START.match(b) for b in bodies):
        raise pa.ArrowInvalid("a body is not a JSON object")
    buffer = b"\n".join(b.replace(b"\n", b" ") if b"\n" in b else b for b in bodies)
    # One thread: conversions already run in worker threads, and Arrow's own pool cost about
    # 0.9 ms a call in hand-offs (of 1.9) on pages of 100 rows.
    read = pj.ReadOptions(block_size=1 << 24, use_threads=False)
    parsed = pj.read_json(io.BytesIO(buffer), read_options=read, memory_pool=_PARSING_POOL)
    if not path:
        return {name: parsed.column(name).combine_chunks() for name in parsed.column_names}
    node: pa.Array = parsed.column(path[0]).combine_chunks(memory_pool=_PARSING_POOL)
    if any(page is not None for page in pages):
        _check_pages(node, pages)
    for key in path[1:]:
        node = pc.struct_field(node, key)
    if not single:
        if pa.types.is_null(node.type):
            return {}
        if pa.types.is_struct(node.type) and node.type.get_field_index("data") >= 0:
            node = pc.struct_field(node, "data")  # documented as a bare array, answered as a paginator
        node = pc.list_flatten(node)
    if not pa.types.is_struct(node.type):
        raise pa.ArrowInvalid("rows are not objects")
    return {node.type.field(i).name: node.field(i) for i in range(node.type.num_fields)}


def _check_pages(envelopes: pa.Array, pages: Sequence[int | None]) -> None:
    """Each page's ``data``: the page asked for, holding a list of rows. A ``data`` that is not an
    object with ``current_page`` fails here (an Arrow error or KeyError): the slow path says which."""
    current = pc.struct_field(envelopes, "current_page").to_pylist()
    rows = pc.struct_field(envelopes, "data")
    listed = rows.is_valid().to_pylist() if pa.types.is_list(rows.type) else [False] * len(rows)
    for index, (value, has_rows, page) in enumerate(zip(current, listed, pages, strict=True)):
        if page is not None and (why := not_the_page(value, page, has_rows=has_rows)):
            raise WrongPage(index, why)


def _dig(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _parsed_rows(
    bodies: Sequence[bytes], path: tuple[str, ...], single: bool, pages: Sequence[int | None]
) -> list[Any]:
    """The rows at ``path`` of every body; a body that is not an object holding ``path`` is not
    an answer of this endpoint (a proxy's ``{}`` or ``null`` must not read as no rows)."""
    rows: list[Any] = []
    for index, body in enumerate(bodies):
        page = pages[index] if pages else None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if page is None:
                raise
            raise WrongPage(index, f"is not JSON ({exc})") from None
        if not isinstance(document, dict) or (path and path[0] not in document):
            if page is not None:
                raise WrongPage(index, NOT_A_PAGE)
            raise ValueError(f"a body is {type(document).__name__}, not an object holding {'.'.join(path) or 'a row'}")
        if page is not None and (why := not_the_page(_dig(document, ("data", "current_page")), page,
                                                     has_rows=isinstance(_dig(document, ("data", "data")), list))):
            raise WrongPage(index, why)
        found = _dig(document, path)
        if not single and isinstance(found, dict) and isinstance(found.get("data"), list):
            found = found["data"]  # documented as a bare array, answered as a paginator
        if isinstance(found, list):
            rows.extend(found)
        elif found is not None:
            rows.append(found)
    return rows


def _read_slow(
    bodies: Sequence[bytes], path: tuple[str, ...], single: bool, pages: Sequence[int | None]
) -> dict[str, pa.Array]:
    """Parse in Python and build columns, normalising fields whose JSON type varies."""
    rows = [r for r in _parsed_rows(bodies, path, single, pages) if isinstance(r, dict)]
    fields: dict[str, None] = {}
    for row in rows:
        fields.update(dict.fromkeys(row))
    return {name: tolerant_array([row.get(name) for row in rows]) for name in fields}


def _scalar_rows(bodies: Sequence[bytes], path: tuple[str, ...], pages: Sequence[int | None]) -> dict[str, pa.Array]:
    """Rows that are bare scalars (``/timezones`` returns a list of strings)."""
    return {".": tolerant_array(_parsed_rows(bodies, path, False, pages))}


def tolerant_array(values: list[Any]) -> pa.Array:
    """An Arrow array from JSON values whose types may differ: mixed scalars become text.

    >>> tolerant_array([1, "2", None]).to_pylist()
    ['1', '2', None]
    """
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # OverflowError: an int beyond 64 bits
        return pa.array([_as_text(v) for v in values], type=pa.string())


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


# --- typing ----------------------------------------------------------------------------------


def _typed(table: Table, raw: dict[str, pa.Array]) -> pa.Table:
    length = max((len(a) for a in raw.values()), default=0)
    arrays = []
    for column in table.columns:
        target = arrow_type(column.type)
        values = [cast_column(raw[f], column, target, table.name) for f in (column.field, column.or_field) if f in raw]
        if not values:
            arrays.append(pa.nulls(length, type=target))
        else:
            arrays.append(values[0] if len(values) == 1 else pc.coalesce(*values))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table))


def cast_column(values: pa.Array, column: Column, target: pa.DataType, table_name: str = "") -> pa.Array:
    """Cast one raw JSON-typed column to its declared Arrow type, tolerating ClickSend's variations.

    >>> from clicksend_sql.catalog import Column
    >>> col = Column(name="Date", field="date", type="TIMESTAMPTZ")
    >>> [v and v.isoformat() for v in cast_column(pa.array(["1700000000", "", None]), col, arrow_type("TIMESTAMPTZ")).to_pylist()]
    ['2023-11-14T22:13:20+00:00', None, None]
    """
    try:
        return _cast(values, column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError) as exc:
        where = f"{table_name}.{column.name}" if table_name else column.name
        raise ConversionError(
            f"Column {where} (API field {column.field!r}) holds values that are not {column.type}: {exc}"
        ) from None


def _cast(values: pa.Array, column: Column, target: pa.DataType) -> pa.Array:
    source = values.type
    if source == target and not pa.types.is_timestamp(target):
        return values
    if pa.types.is_null(source):
        return pa.nulls(len(values), type=target)
    if pa.types.is_nested(source):
        text = pa.array([_as_text(v) for v in values.to_pylist()], type=pa.string())
        return text if pa.types.is_string(target) else _cast(text, column, target)
    if pa.types.is_string(target):
        return values if pa.types.is_string(source) else pc.cast(_numeric_text(values), pa.string())
    if pa.types.is_string(source) or pa.types.is_large_string(source):
        values = _blank_to_null(values)
    if pa.types.is_timestamp(target):
        return _to_timestamp(values, column, target)
    if pa.types.is_boolean(target):
        return pc.cast(values, pa.bool_())  # not ``!= 0``: see _blank_to_null
    if pa.types.is_decimal(target) and pa.types.is_integer(source):
        return pc.cast(pc.cast(values, pa.decimal128(38, target.scale)), target)
    if pa.types.is_integer(target) and pa.types.is_string(source):
        return pc.cast(pc.cast(values, pa.float64()), target) if _has_fraction_text(values) else pc.cast(values, target)
    return pc.cast(values, target)


def _numeric_text(values: pa.Array) -> pa.Array:
    """Booleans become ``"1"``/``"0"`` (ClickSend's flag spelling) rather than ``"true"``."""
    if pa.types.is_boolean(values.type):
        return pc.cast(pc.cast(values, pa.int8()), pa.string())
    return values


def _blank_to_null(values: pa.Array) -> pa.Array:
    # no Python scalars (``== ""``, ``pa.scalar(None)``): they make pyarrow import pandas (~0.2 s)
    blank = pc.invert(pc.cast(pc.utf8_length(pc.utf8_trim_whitespace(values)), pa.bool_()))
    return pc.if_else(blank, pa.nulls(len(values), values.type), values)


def _has_fraction_text(values: pa.Array) -> bool:
    return bool(pc.any(pc.match_substring(values, ".")).as_py())


_FIRST_SECOND, _LAST_SECOND = -62_135_596_800, 253_402_300_799  # 0001-01-01 and 9999-12-31 23:59:59 UTC


def _to_timestamp(values: pa.Array, column: Column, target: pa.DataType) -> pa.Array:
    source = values.type
    if column.time_format == "iso" and pa.types.is_string(source):
        try:
            return pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.array([_parse_iso(v) for v in values.to_pylist()], type=target)
    if pa.types.is_string(source):
        values = pc.cast(pc.cast(values, pa.float64()), pa.int64())
    elif pa.types.is_floating(source):
        values = pc.cast(values, pa.int64(), safe=False)
    seconds = pc.cast(values, pa.int64())
    low, high = pc.min_max(seconds).values()
    if (low.is_valid and low.as_py() < _FIRST_SECOND) or (high.is_valid and high.as_py() > _LAST_SECOND):
        raise ValueError("a unix time outside the years 1 to 9999")
    return pc.cast(seconds, pa.timestamp("s")).cast(target)  # not ``* 1_000_000``: see _blank_to_null


def _parse_iso(text: str | None) -> datetime | None:
    if text is None:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
