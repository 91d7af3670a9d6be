"""DuckDB's relational API, as DuckDB users type it (issue 24 §1): ``con.table(...)`` builds one
SELECT that the planner pushes down like the same SQL (judged by the emulator's request log), and
a Result answers the read-only relation methods over its rows; an unknown attribute says what exists."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import SQLError, UnknownTableError

FAILED = "Status = 'Failed'"


def test_a_chain_pushes_down_like_its_sql(con: Connection, emu: Emulator) -> None:
    chain = con.table("SMSHistory").filter(FAILED).order("Date DESC").limit(5)
    assert chain.sql_query() == "SELECT * FROM SMSHistory WHERE Status = 'Failed' ORDER BY Date DESC LIMIT 5"
    emu.reset_stats()
    rows = chain.fetchall()
    by_chain = emu.requests()
    emu.reset_stats()
    by_sql = con.sql(chain.sql_query()).fetchall()
    assert rows == by_sql and len(rows) == 5 and by_chain == emu.requests()
    assert all("status%3AFailed" in r or "status:Failed" in r for r in by_chain)  # the filter reached ClickSend


def test_columns_and_types_make_no_request(con: Connection, emu: Emulator) -> None:
    relation = con.table("Contacts").project("ContactId", "Email")
    emu.reset_stats()
    assert relation.columns == ["ContactId", "Email"] and relation.types == ["BIGINT", "VARCHAR"]
    assert emu.requests() == []


def test_steps_after_a_limit_read_it_as_a_subquery(con: Connection) -> None:
    relation = con.table("ContactLists").order("ListId").limit(3).filter("ListId > 0").order("ListId DESC")
    expected = con.sql("SELECT * FROM (SELECT * FROM ContactLists ORDER BY ListId LIMIT 3) ORDER BY ListId DESC")
    assert relation.fetchall() == expected.fetchall()


def test_aggregate_count_distinct(con: Connection) -> None:
    counts = con.table("Contacts").aggregate("ListId, count(*) AS n", "ListId").order("ListId").fetchall()
    assert counts == con.sql("SELECT ListId, count(*) AS n FROM Contacts GROUP BY ListId ORDER BY ListId").fetchall()
    assert con.table("Contacts").count().fetchall() == con.sql("SELECT count(*) FROM Contacts").fetchall()
    statuses = sorted(con.table("SMSHistory").project("Status").distinct().fetchall())
    assert statuses == sorted(con.sql("SELECT DISTINCT Status FROM SMSHistory").fetchall())


def test_results_have_the_read_only_relation_methods(con: Connection, tmp_path: Path) -> None:
    result = con.sql("SELECT ListId, ListName, ContactsCount FROM ContactLists")
    assert result.shape == (len(result), 3) and [str(t) for t in result.types] == ["BIGINT", "VARCHAR", "BIGINT"]
    assert result.dtypes == result.types and result.fetchdf().shape == result.shape
    big = result.filter("ContactsCount > 50").project("ListName").order("ListName").limit(2)
    expected = con.sql("SELECT ListName FROM ContactLists WHERE ContactsCount > 50 ORDER BY ListName LIMIT 2")
    assert big.fetchall() == expected.fetchall()
    assert result.aggregate("sum(ContactsCount)").fetchone() == con.sql("SELECT sum(ContactsCount) FROM ContactLists").fetchone()
    result.to_csv(str(tmp_path / "lists.csv"))
    result.to_parquet(str(tmp_path / "lists.parquet"))
    assert duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'lists.csv'}'").fetchall() == [(len(result),)]
    assert duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'lists.parquet'}'").fetchall() == [(len(result),)]


def test_an_unknown_attribute_says_what_exists(con: Connection) -> None:
    with pytest.raises(AttributeError, match="Did you mean fetchdf.*It has: aggregate"):
        con.sql("SELECT 1").fetch_df()  # noqa: B018
    with pytest.raises(AttributeError, match="relation has no 'filtr'. Did you mean filter"):
        con.table("Contacts").filtr  # noqa: B018


def test_bad_input_is_named(con: Connection) -> None:
    with pytest.raises(UnknownTableError, match="Contactz"):
        con.table("Contactz")
    with pytest.raises(SQLError, match=r"filter\('Status ='\) is not an SQL expression"):
        con.table("SMSHistory").filter("Status =")
    with pytest.raises(SQLError, match="filter"):
        con.sql("SELECT 1 AS a").filter("nope > 1")


def test_a_relation_has_no_fetchone_as_in_duckdb_2(con: Connection) -> None:
    relation = con.table("ContactLists")
    with pytest.raises(AttributeError, match=r"use .execute\(\).fetchone\(\)"):
        relation.fetchone()
    assert relation.execute().fetchone() is not None
