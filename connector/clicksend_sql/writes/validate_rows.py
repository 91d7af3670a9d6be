"""Step: check every input row before anything is sent (a bad row means nothing is sent).

Checks are vectorized over the Arrow input: each finds its first offending row with Arrow
compute, never a per-value Python loop, and the error names that row (1-based, in input order),
the column, the value and what would be accepted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..conversion import arrow_type
from .plan_rows import WriteError, WriteRows, identity_columns


def validate_rows(write: WriteRows) -> WriteRows:
    """Check columns, required values, types and documented limits; return the rows cast to the
    declared types.

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("SMSHistory")
    >>> rows = pa.table({"To": ["+61411111111"], "Body": ["x" * 1225]})
    >>> validate_rows(WriteRows("INSERT", t, ("To", "Body"), rows))
    Traceback (most recent call last):
    ...
    clicksend_sql.writes.plan_rows.WriteError: INSERT INTO SMSHistory row 1: Body is 1225 characters; the API accepts at most 1224.
    """
    table, kind = write.table, write.kind
    for name in write.columns:
        column = table.column(name)
        if column.read_only or (kind == "UPDATE" and column.path_param):
            writable = ", ".join(c.name for c in table.columns if not c.read_only and not c.path_param) or "none"
            raise WriteError(f"{_what(write)}: {name} is read-only; the columns it may set are: {writable}.")
    if kind == "INSERT":
        _check_required(write)
    rows = _cast(write)
    for name in write.columns:
        limit = table.column(name).max_length
        if limit is not None and pa.types.is_string(rows.column(name).type):
            lengths = pc.utf8_length(rows.column(name))
            too_long = pc.greater(lengths, limit)
            if pc.any(too_long).as_py():
                row = _first(too_long)
                raise WriteError(
                    f"{_what(write)} row {row + 1}: {name} is {lengths[row].as_py()} characters; "
                    f"the API accepts at most {limit}."
                )
    if kind in ("UPDATE", "DELETE"):
        for key in identity_columns(table):
            if rows.column(key).null_count:
                raise WriteError(f"{_what(write)} row {_first(rows.column(key).is_null()) + 1}: {key} is NULL.")
    return replace(write, rows=rows)


def _check_required(write: WriteRows) -> None:
    table, rows = write.table, write.rows
    for column in table.columns:
        if not column.required_for_insert:
            continue
        if column.name not in write.columns:
            raise WriteError(f"INSERT INTO {table.name} needs a value for {column.name}; add it to the column list.")
        if rows.column(column.name).null_count:
            row = _first(rows.column(column.name).is_null())
            raise WriteError(f"INSERT INTO {table.name} row {row + 1}: {column.name} is NULL; it is required.")
    for group in table.insert_one_of:
        given = [name for name in group if name in write.columns]
        if not given:
            raise WriteError(f"INSERT INTO {table.name} needs one of {', '.join(group)}; none is in the column list.")
        missing = rows.column(given[0]).is_null()
        for name in given[1:]:
            missing = pc.and_(missing, rows.column(name).is_null())
        if pc.any(missing).as_py():
            raise WriteError(
                f"INSERT INTO {table.name} row {_first(missing) + 1}: one of {', '.join(group)} must have a value."
            )


def _cast(write: WriteRows) -> pa.Table:
    """The rows with each column cast to its declared type; a value that does not fit is an error."""
    rows = write.rows
    for index, name in enumerate(rows.column_names):
        column = write.table.column(name)
        target = arrow_type(column.type)
        values = rows.column(index)
        if values.type == target:
            continue
        try:
            cast = pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            cast = None
        if cast is None:
            bad = _first_uncastable(values, target)
            raise WriteError(
                f"{_what(write)} row {bad[0] + 1}: {name} = {bad[1]!r} is not a {column.type} value."
            )
        rows = rows.set_column(index, pa.field(name, target), cast)
    return rows


def _first_uncastable(values: pa.ChunkedArray, target: pa.DataType) -> tuple[int, Any]:
    """The first value that does not cast (found by bisection over slices, not per value)."""
    low, high = 0, len(values)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(values.slice(low, middle - low), target)
            low = middle
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            high = middle
    return low, values[low].as_py()


def _first(mask: Any) -> int:
    """Index of the first true value of a boolean array."""
    return int(pc.index(mask, True).as_py())


def _what(write: WriteRows) -> str:
    return {"INSERT": f"INSERT INTO {write.table.name}", "UPDATE": f"UPDATE {write.table.name}",
            "DELETE": f"DELETE FROM {write.table.name}"}[write.kind]

