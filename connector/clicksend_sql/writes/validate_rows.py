"""Step: check every input row before anything is sent (a bad row means nothing is sent, or with
``invalid_rows="skip"`` that the row is reported ``skipped`` and the others are sent).

Checks are vectorized over the Arrow input: each finds its first offending row with Arrow
compute, never a per-value Python loop, and the error names that row (1-based, in input order),
the column, the value and what would be accepted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..config import Limits
from ..conversion import arrow_type
from .plan_rows import WriteError, WriteRows, identity_columns


def validate_rows(write: WriteRows, limits: Limits = Limits()) -> tuple[WriteRows, dict[int, str]]:
    """Check columns, required values, types and documented limits; return the rows cast to the
    declared types, and (``limits.invalid_rows == "skip"``) the rows left out, with why.

    Statement-level problems (an unknown or read-only column, a missing required column, a value
    of the wrong type) always fail the statement. Row-level ones (a NULL where a value is needed,
    a text over the API's length, a recipient that cannot be a phone number) fail it too unless
    ``invalid_rows="skip"``.

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("SMSHistory")
    >>> rows = pa.table({"To": ["+61411111111", "12"], "Body": ["x" * 1225, "Hi"]})
    >>> validate_rows(WriteRows("INSERT", t, ("To", "Body"), rows))
    Traceback (most recent call last):
    ...
    clicksend_sql.writes.plan_rows.WriteError: INSERT INTO SMSHistory row 1: Body is 1225 characters; the API accepts at most 1224.
    >>> kept, skipped = validate_rows(WriteRows("INSERT", t, ("To", "Body"), rows), Limits(invalid_rows="skip"))
    >>> kept.rows.num_rows, skipped
    (0, {0: 'Body is 1225 characters; the API accepts at most 1224.', 1: "To = '12' cannot be a phone number: it has 2 digits; a phone number has 3 to 17."})
    """
    table, kind = write.table, write.kind
    for name in write.columns:
        column = table.column(name)
        if column.read_only or (kind == "UPDATE" and column.path_param):
            writable = ", ".join(c.name for c in table.columns if not c.read_only and not c.path_param) or "none"
            raise WriteError(f"{_what(write)}: {name} is read-only; the columns it may set are: {writable}.")
    if kind == "INSERT":
        _check_required_columns(write)
    if kind == "UPDATE":
        _check_clearable(write)
    rows = _cast(write)
    problems = row_problems(replace(write, rows=rows), limits.default_country)
    if problems and limits.invalid_rows == "error":
        row = min(problems)
        raise WriteError(f"{_what(write)} row {write.origin(row) + 1}: {problems[row]}")
    if not problems:
        return replace(write, rows=rows), {}
    kept = [i for i in range(rows.num_rows) if i not in problems]
    origins = tuple(write.origin(i) for i in kept)
    skipped = {write.origin(i): why for i, why in sorted(problems.items())}
    return replace(write, rows=rows.take(pa.array(kept, pa.int64())), origins=origins), skipped


def row_problems(write: WriteRows, default_country: str | None) -> dict[int, str]:
    """Every row (0-based) that breaks a per-row rule, with the first rule it breaks."""
    table, rows = write.table, write.rows
    problems: dict[int, str] = {}

    def note(mask: Any, why: Any) -> None:
        for index in pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist():
            problems.setdefault(index, why(index))

    if write.kind == "INSERT":
        for column in table.columns:
            if column.required_for_insert and column.name in rows.column_names:
                note(rows.column(column.name).is_null(), lambda _, n=column.name: f"{n} is NULL; it is required.")
        for group in table.insert_one_of:
            given = [name for name in group if name in write.columns]
            if not given:  # a statement without any of them was refused already; a CALL may not map to one
                continue
            missing = rows.column(given[0]).is_null()
            for name in given[1:]:
                missing = pc.and_(missing, rows.column(name).is_null())
            note(missing, lambda _, g=group: f"one of {', '.join(g)} must have a value.")
    for name in write.columns:
        column, values = table.column(name), rows.column(name)
        if column.max_length is not None and pa.types.is_string(values.type):
            lengths = pc.utf8_length(values)
            note(pc.greater(lengths, column.max_length),
                 lambda i, n=name, ls=lengths, m=column.max_length: f"{n} is {ls[i].as_py()} characters; the API accepts at most {m}.")
        if column.recipient == "phone" and pa.types.is_string(values.type):
            from ..phones import impossible  # phonenumbers loads only for a send (start-up)

            why = {v: impossible(v, default_country) for v in pc.unique(values).to_pylist() if v is not None}
            bad = pa.array([v for v, reason in why.items() if reason is not None], pa.string())
            note(pc.is_in(values, value_set=bad),
                 lambda i, n=name, vs=values, w=why: f"{n} = {vs[i].as_py()!r} cannot be a phone number: {w[vs[i].as_py()]}.")
    if write.kind in ("UPDATE", "DELETE"):
        for key in identity_columns(table):
            note(rows.column(key).is_null(), lambda _, k=key: f"{k} is NULL.")
    return problems


def _check_required_columns(write: WriteRows) -> None:
    table = write.table
    for column in table.columns:
        if column.required_for_insert and column.name not in write.columns:
            raise WriteError(f"INSERT INTO {table.name} needs a value for {column.name}; add it to the column list.")
    for group in table.insert_one_of:
        if not any(name in write.columns for name in group):
            raise WriteError(f"INSERT INTO {table.name} needs one of {', '.join(group)}; none is in the column list.")


def _check_clearable(write: WriteRows) -> None:
    """``SET column = NULL`` clears a text field (ClickSend's empty value is ``""``); other types
    have no empty value the API takes, so a NULL there is refused before any request."""
    for name in write.columns:
        column = write.table.column(name)
        values = write.rows.column(name)
        if column.type != "VARCHAR" and values.null_count:
            row = _first(values.is_null())
            origin = write.origin(row)
            raise WriteError(
                f"UPDATE {write.table.name} row {origin + 1}: {name} = NULL cannot be written; ClickSend clears only "
                f"text fields (to ''), and {name} is {column.type}. Set a value, or leave {name} out of SET."
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
            origin = write.origin(bad[0])
            raise WriteError(
                f"{_what(write)} row {origin + 1}: {name} = {bad[1]!r} is not a {column.type} value."
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

