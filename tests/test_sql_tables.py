"""Every catalog table is queryable, and SELECT * returns exactly what the emulator holds.

The oracle is independent of the engine: rows are fetched with plain httpx (walking every page)
and converted here, value by value, with the rules NOTES.md §10 states (unix-second timestamps as
int or numeric string, decimal strings, 0/1 flags), then compared with the engine's rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from clicksend_sql import Connection
from clicksend_sql.catalog import Column, Table, load_catalog
from clicksend_sql.conversion import arrow_type

from conftest import RawApi

CATALOG = load_catalog()
REQUIRED_FILTERS = {"AccountUsage": "Year = 2025 AND Month = 6", "AvailableNumbers": "Country = 'AU'"}
# Paginated tables listed without path variables: the raw walk is the same for all of them.
PAGED = sorted(t.name for t in CATALOG.tables.values() if t.list.shape == "paginator" and not t.list.path_vars)


def _plain(data_type: pa.DataType) -> pa.DataType:
    """DuckDB hands TIMESTAMPTZ back in its session time zone; only the unit is declared."""
    return pa.timestamp(data_type.unit) if pa.types.is_timestamp(data_type) else data_type


@pytest.mark.parametrize("name", sorted(t.name for t in CATALOG.tables.values()))
def test_every_table_is_queryable_with_its_declared_columns(con: Connection, name: str) -> None:
    table = CATALOG.table(name)
    where = f" WHERE {REQUIRED_FILTERS[name]}" if name in REQUIRED_FILTERS else ""
    result = con.sql(f"SELECT * FROM {name}{where}").arrow()
    assert result.column_names == list(table.column_names)
    for field, column in zip(result.schema, table.columns, strict=True):
        assert _plain(field.type) == _plain(arrow_type(column.type)), column.name
        if column.type == "TIMESTAMPTZ":
            assert field.type.tz is not None, column.name
    assert result.num_rows > 0, f"the emulator seeds {name}; an empty answer means rows were lost"
    assert con.last_stats.requests >= 1


def expected_value(value: Any, column: Column) -> Any:
    """What a raw JSON value must become in SQL, per NOTES.md §10."""
    if value is None or (value == "" and column.type != "VARCHAR"):
        return None
    kind = column.type
    if kind == "TIMESTAMPTZ":
        if column.time_format == "iso":
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return datetime.fromtimestamp(int(float(value)), tz=UTC)
    if kind.startswith("DECIMAL"):
        scale = int(kind.rstrip(")").split(",")[1])
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-scale))
    if kind in ("BIGINT", "INTEGER"):
        return int(float(value))
    if kind == "DOUBLE":
        return float(value)
    if kind == "BOOLEAN":
        return bool(int(value)) if isinstance(value, str) else bool(value)
    if kind == "JSON":
        return value if isinstance(value, str) else json.loads(json.dumps(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else (json.dumps(value) if isinstance(value, (dict, list)) else str(value))


def actual_value(value: Any, column: Column) -> Any:
    if column.type == "JSON" and isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def assert_same_rows(con: Connection, table: Table, sql: str, raw_rows: list[dict[str, Any]]) -> None:
    """The engine's rows equal the raw rows converted by the oracle, matched on the primary key."""
    key = table.column(table.primary_key[0])
    got = {row[key.name]: row for row in con.sql(sql).arrow().to_pylist()}
    want = {expected_value(row.get(key.field), key): row for row in raw_rows}
    assert len(got) == len(raw_rows), "duplicate or missing keys"
    assert set(got) == set(want)
    for key_value, raw_row in want.items():
        row = got[key_value]
        for column in table.columns:
            assert actual_value(row[column.name], column) == expected_value(raw_row.get(column.field), column), (
                f"{table.name}[{key_value}].{column.name}: raw {raw_row.get(column.field)!r}"
            )


@pytest.mark.parametrize("name", PAGED)
def test_select_star_equals_the_raw_api(con: Connection, raw: RawApi, name: str) -> None:
    table = CATALOG.table(name)
    rows = raw.rows(table.list.path)
    assert rows, f"the emulator seeds {name}"
    assert_same_rows(con, table, f"SELECT * FROM {name}", rows)


def test_contacts_equal_the_raw_api_over_every_list(con: Connection, raw: RawApi) -> None:
    lists = raw.rows("/lists")
    contacts = [c for lst in lists for c in raw.rows(f"/lists/{lst['list_id']}/contacts")]
    assert len(lists) > 1 and len(contacts) == 600
    assert_same_rows(con, CATALOG.table("Contacts"), "SELECT * FROM Contacts", contacts)


def test_sms_history_types_follow_notes(con: Connection) -> None:
    """Timestamps from unix seconds, decimal prices, integer ids: spot checks on real values."""
    row = con.sql("SELECT Date, MessagePrice, MessageParts, ListId FROM SMSHistory ORDER BY Date LIMIT 1").fetchone()
    assert row is not None
    date, price, parts, _ = row
    assert isinstance(date, datetime) and date.tzinfo is not None
    assert isinstance(price, Decimal) and isinstance(parts, int)


def test_result_formats_agree(con: Connection) -> None:
    result = con.sql("SELECT ListId, ListName FROM ContactLists ORDER BY ListId")
    rows = result.fetchall()
    assert rows == list(result.df().itertuples(index=False, name=None))
    assert rows == list(result.pl().iter_rows())
    assert rows == [tuple(r.values()) for r in result.arrow().to_pylist()]
    html = result._repr_html_()
    assert html.count("<tr>") == len(rows) + 1 and str(rows[0][1]) in html


KEYED = sorted(t.name for t in CATALOG.tables.values() if t.get is not None and t.primary_key)


@pytest.mark.parametrize("name", KEYED)
def test_a_lookup_by_key_returns_the_row_the_listing_has(con: Connection, name: str) -> None:
    """The GET-by-id answer is read in its own shape: every keyed table finds its own rows."""
    table = CATALOG.table(name)
    where = f" WHERE {REQUIRED_FILTERS[name]}" if name in REQUIRED_FILTERS else ""
    listed = con.sql(f"SELECT * FROM {name}{where} LIMIT 1").arrow().to_pylist()
    assert listed, f"the emulator seeds {name}"
    keys = {k: listed[0][k] for k in table.primary_key}
    parents = {c.name: listed[0][c.name] for c in table.columns if c.path_param in table.get.path_vars}
    conditions = " AND ".join(f'"{k}" = ?' for k in {**keys, **parents})
    found = con.sql(f"SELECT * FROM {name} WHERE {conditions}", list({**keys, **parents}.values()))
    assert con.last_stats.requests == 1, "a key lookup is one GET"
    rows = found.arrow().to_pylist()
    assert len(rows) == 1 and all(rows[0][k] == v for k, v in keys.items()), rows
