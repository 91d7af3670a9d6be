"""A value in WHERE can never change which resource is requested.

Every path variable of the catalog is walked with hostile values; the emulator's request log
shows the exact request lines. A value is sent as exactly one percent-encoded segment of the
declared path; a value no id can have (empty, ``.``, ``..``, a string for a whole-number key, a
number past 64 bits) makes no request at all.
"""

from __future__ import annotations

import pytest

from clicksend_sql import Connection
from clicksend_sql.catalog import load_catalog
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import SQLError
from clicksend_sql.execution import path_segment

CATALOG = load_catalog()
HOSTILE = ["../history", "../../account", "a/b", "x?y=1", "#frag", "%2e%2e", " sp ace", "ü", "a.b", "..%2F"]
NO_ID = ["", ".", ".."]
PATH_COLUMNS = sorted(
    (table.name, column.name, column.type)
    for table in CATALOG.tables.values()
    for column in table.columns
    if column.path_param
)


def _segments(template: str) -> int:
    return len(template.strip("/").split("/"))


@pytest.mark.parametrize(("table", "column", "sql_type"), PATH_COLUMNS)
def test_hostile_values_stay_one_segment_of_the_declared_path(
    con: Connection, emu: Emulator, table: str, column: str, sql_type: str
) -> None:
    declared = CATALOG.table(table)
    parent = CATALOG.table(declared.parent.table) if declared.parent else None  # a fan-out reads its parent too
    templates = [e.path for t in (declared, parent) if t is not None for e in (t.get, t.list) if e is not None]
    emu.reset_stats()
    for value in HOSTILE:
        try:
            con.sql(f'SELECT * FROM {table} WHERE "{column}" = ?', [value])
        except SQLError:
            pass  # DuckDB's conversion error for a whole-number key, or a table that needs another filter
    lines = emu.requests()
    for line in lines:  # a string no key can be is never pushed: DuckDB decides, and the paths stay declared ones
        path = line.split(" ", 1)[1].split("?", 1)[0]
        assert path.startswith("/v3/"), line
        segments = path[len("/v3"):].strip("/").split("/")
        shapes = [t for t in templates if _segments(t) == len(segments)]
        assert shapes, f"{line} is not a path of {table}"  # no value added or removed a segment
        assert not any(v in path for v in HOSTILE if path_segment(v) != v), line  # only ever sent encoded


@pytest.mark.parametrize(("table", "column", "sql_type"), PATH_COLUMNS)
def test_values_no_id_can_have_make_no_request(
    con: Connection, emu: Emulator, table: str, column: str, sql_type: str
) -> None:
    values = NO_ID if sql_type == "VARCHAR" else [10**20, -(10**30), 1401.5]
    for value in values:
        emu.reset_stats()
        result = con.sql(f'SELECT * FROM {table} WHERE "{column}" = ?', [value])
        assert len(result) == 0 and emu.requests() == [], (value, emu.requests())


def test_a_message_id_that_climbs_is_requested_as_one_segment(con: Connection, emu: Emulator) -> None:
    emu.reset_stats()
    assert len(con.sql("SELECT * FROM SMSReceipts WHERE MessageId = '../history'")) == 0
    assert emu.requests() == ["GET /v3/sms/receipts/%2E%2E%2Fhistory"]
    emu.reset_stats()
    con.sql("SELECT * FROM SMSReceipts WHERE MessageId IN ('../../account', 'a b?c#d')")
    assert sorted(emu.requests()) == ["GET /v3/sms/receipts/%2E%2E%2F%2E%2E%2Faccount", "GET /v3/sms/receipts/a%20b%3Fc%23d"]
