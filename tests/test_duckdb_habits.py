"""The connection behaves like a DuckDB session: discovery, Python objects by name, several
statements, parameters exactly as DuckDB binds them, and structured failure."""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ClickSendSQLError, UnknownTableError

# --- discovery --------------------------------------------------------------------------------

DISCOVERY = {
    "SHOW TABLES": "SELECT count(*) FROM (SHOW TABLES) WHERE name = 'Contacts'",
    "information_schema.tables": "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'clicksend'",
    "information_schema.columns": "SELECT count(*) FROM information_schema.columns WHERE table_name = 'Contacts'",
    "duckdb_views()": "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'clicksend'",
    "duckdb_columns()": "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'SMSHistory'",
    "PRAGMA table_info": "SELECT count(*) FROM pragma_table_info('Contacts')",
    "DESCRIBE": "SELECT count(*) FROM (DESCRIBE Contacts)",
    "DESCRIBE clicksend.": "SELECT count(*) FROM (DESCRIBE clicksend.SMSHistory)",
}


@pytest.mark.parametrize("query", sorted(DISCOVERY))
def test_clicksend_tables_are_found_the_duckdb_way_without_requests(con: Connection, emu: Emulator, query: str) -> None:
    assert con.sql(DISCOVERY[query]).fetchone()[0] >= 1
    assert emu.stats()["total"] == 0


@pytest.mark.parametrize("read", ["SELECT count(*) FROM Contacts", "SELECT * FROM clicksend.SMSHistory",
                                  "SUMMARIZE Contacts"])
def test_reading_a_declaration_through_duckdb_alone_fails_loudly(con: Connection, emu: Emulator, read: str) -> None:
    """DuckDB alone has none of a ClickSend table's rows: reading it there says so instead of answering 0."""
    with pytest.raises(duckdb.Error, match="is a ClickSend table: its rows come from the API, through con.sql"):
        con.duckdb.sql(read).fetchall()
    assert emu.stats()["total"] == 0


def test_show_all_tables_lists_them_under_schema_clicksend(con: Connection) -> None:
    rows = con.sql("SHOW ALL TABLES").arrow().to_pylist()
    assert {r["name"] for r in rows if r["schema"] == "clicksend"} == {t.name for t in con.catalog.tables.values()}


def test_every_table_and_its_columns_are_declared(con: Connection) -> None:
    tables = con.sql("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'clicksend'").fetchone()[0]
    columns = con.sql("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'clicksend'").fetchone()[0]
    assert tables == len(con.catalog.tables)
    assert columns == sum(len(t.columns) for t in con.catalog.tables.values())


def test_table_comments_say_which_filter_a_table_needs(con: Connection) -> None:
    comment = con.sql("SELECT comment FROM duckdb_views() WHERE view_name = 'AvailableNumbers'").fetchone()[0]
    assert "Needs WHERE Country = ..." in comment


def test_main_schema_name_explains_where_clicksend_tables_live(con: Connection) -> None:
    with pytest.raises(UnknownTableError, match=r"Contacts is a ClickSend table in schema clicksend"):
        con.sql("SELECT * FROM main.Contacts")


def test_explain_call_shows_the_request_without_sending(con: Connection, emu: Emulator) -> None:
    result = con.sql("EXPLAIN CALL SendSMS('Acme', 'Hi', '+61411111111')")
    row = result.arrow().to_pylist()[0]
    assert result.kind == "explain" and row["endpoint"] == "POST /v3/sms/send" and row["charges"] is True
    assert emu.stats()["total"] == 0


def test_explain_analyze_is_a_clear_error(con: Connection) -> None:
    with pytest.raises(ClickSendSQLError, match="EXPLAIN ANALYZE is not supported on ClickSend tables") as info:
        con.sql("EXPLAIN ANALYZE SELECT * FROM Contacts")
    assert "Token" not in str(info.value)


def test_explain_shows_what_was_kept_local_for_safety(con: Connection) -> None:
    row = con.sql("EXPLAIN SELECT * FROM SMSHistory TABLESAMPLE 10% WHERE Status = 'Failed'").arrow().to_pylist()[0]
    assert "TABLESAMPLE" in row["kept_local"] and row["pushed"] == ""


# --- Python objects, several statements -------------------------------------------------------


def test_python_objects_are_queried_by_variable_name(local_con: Connection) -> None:
    vip_pandas = pd.DataFrame({"ListId": [1401, 1402]})  # noqa: F841 (read by name in the SQL)
    vip_arrow = pa.table({"ListId": [1401]})  # noqa: F841
    vip_polars = pl.DataFrame({"ListId": [1402]})  # noqa: F841
    total = local_con.sql(
        "SELECT (SELECT count(*) FROM vip_pandas), (SELECT count(*) FROM vip_arrow), (SELECT count(*) FROM vip_polars)"
    ).fetchone()
    assert total == (2, 1, 1)
    joined = local_con.sql("SELECT count(*) FROM ContactLists l JOIN vip_pandas USING (ListId)").fetchone()[0]
    assert joined == 2


def test_a_table_wins_over_a_variable_of_the_same_name(local_con: Connection) -> None:
    local_con.sql("CREATE TABLE shadow AS SELECT 42 AS x")
    shadow = pd.DataFrame({"x": [1]})  # noqa: F841 - DuckDB's rule: the real table is read
    assert local_con.sql("SELECT x FROM shadow").fetchall() == [(42,)]


def test_several_statements_run_in_order_and_each_result_is_kept(local_con: Connection) -> None:
    results = local_con.sql_each("CREATE TABLE t AS SELECT 1 AS x; INSERT INTO t VALUES (2); SELECT sum(x) FROM t; SELECT 7")
    assert [r.fetchall() for r in results[2:]] == [[(3,)], [(7,)]]
    assert local_con.sql("SELECT 1; SELECT 2").fetchall() == [(2,)]


# --- parameters exactly as DuckDB binds them ---------------------------------------------------

VALUES = (
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(width=64)
    | st.text(max_size=10).filter(lambda s: "\x00" not in s)
    | st.decimals(allow_nan=True, places=3) | st.uuids() | st.dates() | st.timedeltas(max_value=timedelta(days=9999))
    | st.datetimes(timezones=st.none() | st.just(UTC)) | st.binary(max_size=8)
    | st.lists(st.integers(-1000, 1000), max_size=3)
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, Decimal) and isinstance(b, Decimal) and a.is_nan() and b.is_nan():
        return True
    return bool(a == b)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(VALUES, min_size=1, max_size=3))
def test_parameters_mean_what_they_mean_to_duckdb(con: Connection, values: list[Any]) -> None:
    """Results go through Arrow on both sides, so the values are compared as Arrow gives them."""
    text = "SELECT " + ", ".join("?" for _ in values)
    try:
        expected: Any = duckdb.connect().sql(text, params=values).to_arrow_table().to_pylist()[0]
    except duckdb.Error:
        with pytest.raises(ClickSendSQLError):
            con.sql(text, values)
        return
    got = con.sql(text, values).arrow().to_pylist()[0]
    assert all(_same(a, b) for a, b in zip(got.values(), expected.values(), strict=True)), (got, expected)


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), Decimal("NaN"), uuid.UUID(int=7), "1401", 1401.0, 1401.5, 10**30,
     datetime(2025, 1, 1, tzinfo=UTC), date(2025, 1, 1)],
)
def test_a_parameter_filters_as_in_duckdb(con: Connection, value: Any) -> None:
    """Pushdown gets the Python value; DuckDB binds it: the rows are DuckDB's own answer."""
    local = duckdb.connect()
    local.register("lists", con.sql("SELECT * FROM ContactLists").arrow())
    try:
        expected: Any = sorted(local.execute("SELECT ListId FROM lists WHERE ListId = ?", [value]).fetchall())
    except duckdb.Error:
        expected = "error"
    try:
        got: Any = sorted(con.sql("SELECT ListId FROM ContactLists WHERE ListId = ?", [value]).fetchall())
    except ClickSendSQLError:
        got = "error"
    assert got == expected


def test_positional_parameters_bind_in_text_order(con: Connection) -> None:
    text = "WITH x AS (SELECT ? AS a) SELECT a, ? FROM x LIMIT ?"
    assert con.sql(text, ["first", "second", 1]).fetchall() == [("first", "second")]


def test_keywords_work_as_named_parameters(con: Connection) -> None:
    assert con.sql("SELECT :from, :to, :select", {"from": 1, "to": 2, "select": 3}).fetchall() == [(1, 2, 3)]


@pytest.mark.parametrize("params", ["ab", b"ab", 5, {1, 2}])
def test_params_of_the_wrong_kind_are_a_clear_error(con: Connection, params: Any) -> None:
    with pytest.raises(ClickSendSQLError, match="params must be a list or tuple"):
        con.sql("SELECT ?", params)


def test_sql_must_be_text(con: Connection) -> None:
    with pytest.raises(ClickSendSQLError, match="must be SQL text"):
        con.sql(None)  # type: ignore[arg-type]


def test_nesting_as_deep_as_duckdb_allows(con: Connection) -> None:
    depth = 200
    assert con.sql("SELECT " + "(" * depth + "1" + ")" * depth + " FROM ContactLists LIMIT 1").fetchall() == [(1,)]
    with pytest.raises(ClickSendSQLError, match="depth limit of 1000"):  # DuckDB's parser says so first
        con.sql("SELECT " + "(" * 1001 + "1" + ")" * 1001)


# --- structured failure -----------------------------------------------------------------------


def test_a_failed_stream_cancels_the_statements_other_requests() -> None:
    with Emulator(seed=0, sizes={"sms-history": 3000}, latency_ms=40, fault_rate=0.3) as emu:
        with clicksend_sql.connect(
            emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None, concurrency=8, retries=0
        ) as con:
            with pytest.raises(ClickSendSQLError):
                con.sql("SELECT * FROM SMSHistory")
            served = emu.stats()["total"]
            time.sleep(0.5)
            assert emu.stats()["total"] <= served + 8  # at most the requests already on the wire
            emu.reset_stats()
            con.sql("SELECT * FROM ContactLists WHERE ListId = 1401")
            assert con.last_stats.requests == emu.stats()["total"]


def test_a_refused_setting_leaves_no_thread_behind(emulator: Emulator) -> None:
    import threading

    before = threading.active_count()
    with pytest.raises(ClickSendSQLError, match="deadline must be a positive number"):
        clicksend_sql.connect(emulator.username, emulator.api_key, base_url=emulator.base_url, deadline=0)
    assert threading.active_count() == before


def test_a_long_statement_prints_nothing_to_stdout(tmp_path: Any) -> None:
    """DuckDB prints its own progress bar to stdout, piped or not, once a statement runs past
    ``progress_bar_time``: a script's redirected output would carry it. The connection's own
    progress goes elsewhere, so stdout holds what the script printed and nothing else."""
    import subprocess
    import sys

    script = (
        "import sys, clicksend_sql\n"
        "con = clicksend_sql.connect(sys.argv[1], sys.argv[2], base_url=sys.argv[3], cache_ttl=0, concurrency=2)\n"
        "con.sql('SET progress_bar_time = 0')  # DuckDB's wait before it shows the bar, 2 s by default\n"
        "print(con.sql('SELECT count(DISTINCT MessageId) FROM SMSHistory').fetchall())\n"
    )
    with Emulator(seed=4, sizes={"sms-history": 600}, latency_ms=100) as slow:
        done = subprocess.run([sys.executable, "-c", script, slow.username, slow.api_key, slow.base_url],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "[(600,)]\n"
