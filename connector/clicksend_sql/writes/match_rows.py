"""Step (upserts only): split INSERT ... ON CONFLICT rows into new rows and updates of existing ones.

Existing rows are read once per parent (each target contact list once), through the SELECT
engine. Both sides are compared on the normalized value the catalog declares (``match_as``:
emails trimmed and lower-cased, phones in E.164 by ``phonenumbers``, read in the row's
``AddressCountry`` or the connection's default country). A given key (``ContactId``) updates that
row. Rows that repeat a match inside the statement collapse to the last one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from .plan_rows import RunQuery, WriteRows, identity_columns

# Names the rows are registered under in the user's DuckDB session while an upsert is matched.
INCOMING, EXISTING, MATCHES = "__clicksend_incoming", "__clicksend_existing", "__clicksend_matches"
_NORMAL = {
    "email": "lower(trim({v}))",
    "phone": "coalesce(e164({v}::VARCHAR, country := {country}), trim({v}::VARCHAR))",
}


def match_rows(
    write: WriteRows, run_query: RunQuery, scratch: Callable[[], duckdb.DuckDBPyConnection]
) -> tuple[list[WriteRows], dict[int, str]]:
    """The INSERT rows (no match) and the UPDATE rows (a match, DO UPDATE), each carrying its
    input rows, and why each other input row sends nothing (a DO NOTHING match, a repeat)."""
    conflict = write.conflict
    assert conflict is not None
    table = write.table
    parent = table.parent.column if table.parent else None
    keys = identity_columns(table)
    con = scratch()
    con.register(INCOMING, write.rows.append_column("__row", pa.array(range(write.rows.num_rows), pa.int64())))
    try:
        existing = _existing(write, run_query, con, parent)
        con.register(EXISTING, existing)
        column = table.column(conflict.column)
        normal = _NORMAL.get(column.match_as or "", "{v}")
        mine = normal.format(v=f'i."{column.name}"', country=_country("i", write.columns))
        theirs = normal.format(v=f'e."{column.name}"', country=_country("e", existing.column_names))
        same_parent = f'i."{parent}" = e."{parent}"' if parent else "true"
        matched = con.sql(
            f"""
            WITH last AS (
                SELECT *, {mine} AS __norm FROM {INCOMING} i
                QUALIFY row_number() OVER (PARTITION BY {f'i."{parent}", ' if parent else ''}__norm ORDER BY __row DESC) = 1
                    OR __norm IS NULL
            )
            SELECT i.__row, any_value(e."{keys[0]}") AS __key
            FROM last i LEFT JOIN {EXISTING} e ON {same_parent} AND i.__norm = {theirs}
            GROUP BY i.__row ORDER BY i.__row
            """
        ).to_arrow_table()
        parts = _split(write, matched, con, keys)
    finally:
        for name in (INCOMING, EXISTING):
            con.unregister(name)
    kept = {r["__row"]: r["__key"] for r in matched.to_pylist()}
    skipped = {
        row: f"a later row of the statement has the same {conflict.column}" if row not in kept
        else f"{conflict.column} matches existing {table.name} {kept[row]} (DO NOTHING)"
        for row in range(write.rows.num_rows)
        if row not in kept or (kept[row] is not None and not conflict.update)
    }
    return parts, skipped


def _country(alias: str, columns: Any) -> str:
    """The row's own country for reading phone numbers, when it has one."""
    return f'{alias}."AddressCountry"' if "AddressCountry" in columns else "NULL"


def _existing(write: WriteRows, run_query: RunQuery, con: duckdb.DuckDBPyConnection, parent: str | None) -> pa.Table:
    """The existing rows of the parents the statement writes to (all rows without a parent)."""
    table = write.table
    select = exp.select("*").from_(exp.to_table(table.name))
    if parent:
        parents = [r[0] for r in con.sql(f'SELECT DISTINCT "{parent}" FROM {INCOMING} WHERE "{parent}" IS NOT NULL').fetchall()]
        if not parents:
            return pa.table({c.name: pa.array([], pa.string()) for c in table.columns})
        select = select.where(exp.column(parent, quoted=True).isin(*parents))
    return run_query(select)


def _split(write: WriteRows, matched: pa.Table, con: duckdb.DuckDBPyConnection, keys: list[str]) -> list[WriteRows]:
    conflict = write.conflict
    assert conflict is not None
    rows = matched.to_pylist()
    new = tuple(r["__row"] for r in rows if r["__key"] is None)
    found = [(r["__row"], r["__key"]) for r in rows if r["__key"] is not None]
    parts = [WriteRows("INSERT", write.table, write.columns, write.rows.take(pa.array(new, pa.int64())), origins=new)]
    if conflict.update and found:
        parts.append(_updates(write, found, con, keys))
    return parts


def _updates(write: WriteRows, found: list[tuple[int, Any]], con: duckdb.DuckDBPyConnection, keys: list[str]) -> WriteRows:
    """UPDATE rows for matches: DO UPDATE SET expressions over ``excluded`` (the new row) and the
    existing row, or every given column when there is no SET list (INSERT OR REPLACE)."""
    conflict = write.conflict
    assert conflict is not None
    table = write.table
    settable = [c for c in write.columns if c not in keys and not table.column(c).read_only]
    assignments = conflict.assignments or tuple((c, exp.column(c, table="excluded", quoted=True)) for c in settable)
    con.register(MATCHES, pa.table({"__row": [r for r, _ in found], "__key": [k for _, k in found]}))
    try:
        values = ", ".join(f'{_sides(value).sql("duckdb")} AS "{name}"' for name, value in assignments)
        identity = ", ".join(f'e."{k}"' for k in keys)
        rows = con.sql(
            f"""
            SELECT m.__row, {identity}, {values}
            FROM {MATCHES} m JOIN {INCOMING} excluded ON excluded.__row = m.__row
            JOIN {EXISTING} e ON e."{keys[0]}" = m.__key ORDER BY m.__row
            """
        ).to_arrow_table()
    finally:
        con.unregister(MATCHES)
    origins = tuple(rows.column("__row").to_pylist())
    columns = tuple(name for name, _ in assignments)
    return WriteRows("UPDATE", table, columns, rows.drop_columns(["__row"]), origins=origins)


def _sides(value: exp.Expr) -> exp.Expr:
    """``excluded.x`` stays the new row; any other column is the existing row's (``e``)."""
    value = value.copy()
    for column in value.find_all(exp.Column):
        if column.table.lower() != "excluded":
            column.set("table", exp.to_identifier("e"))
        column.this.set("quoted", True)
    return value
