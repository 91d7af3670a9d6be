"""DuckDB parses first (issue 25): what DuckDB's parser refuses is refused with its message and
position before any planning or request; what only DuckDB can read runs in DuckDB as written;
ClickSend tables and their columns answer under every qualified name DuckDB accepts.
"""

from __future__ import annotations

import pytest

from clicksend_sql import Connection, duckdb_parser
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ClickSendSQLError, SQLError, SQLSyntaxError, UnsupportedStatementError

_STATUS_COUNTS = "SELECT {column}, count(*) FROM {table} GROUP BY 1 ORDER BY 1"


def test_between_symmetric_is_duckdbs_parser_error_and_makes_no_request(con: Connection, emu: Emulator) -> None:
    """sqlglot's simplify reads it as an empty range (0 rows); DuckDB 2 refuses the syntax."""
    with pytest.raises(SQLSyntaxError, match=r'^Syntax error at line 1, column 52: syntax error at or near "SYMMETRIC"$'):
        con.sql("SELECT count(*) FROM SMSHistory WHERE Date BETWEEN SYMMETRIC '2026-12-01' AND '2026-07-01'")
    assert emu.requests() == []


@pytest.mark.parametrize(
    ("sql", "line", "column", "near"),
    [
        ("SELEC * FROM Contacts", 1, 1, "SELEC"),
        ("SELECT 1;\n  SELEC * FROM Contacts", 2, 3, "SELEC"),
        ("SELECT * FROM Contacts WHERE Email LIKE ANY ('a%', 'b%')", 1, 41, "ANY"),
        ("SELECT 'é' AS x FROM ContactLists WHERE", 1, 35, "WHERE"),  # DuckDB counts bytes; the column is in characters
    ],
)
def test_a_refused_statement_gives_duckdbs_message_and_position(
    con: Connection, emu: Emulator, sql: str, line: int, column: int, near: str
) -> None:
    with pytest.raises(SQLSyntaxError) as err:
        con.sql(sql)
    assert str(err.value) == f'Syntax error at line {line}, column {column}: syntax error at or near "{near}"'
    assert emu.requests() == []


def test_a_script_with_one_refused_statement_runs_none_of_it(local_con: Connection) -> None:
    with pytest.raises(SQLSyntaxError, match="line 2"):
        local_con.sql("CREATE TABLE made AS SELECT 1 AS a;\nSELECT a FROM made WHERE a BETWEEN SYMMETRIC 2 AND 0")
    assert local_con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'made'").fetchone() == (0,)


def test_a_statement_duckdb_parses_is_read_by_the_sessions_own_parser(local_con: Connection) -> None:
    """No private DuckDB database is opened for it (15-20 ms of a CLI query); for a refusal one
    is, as DuckDB's position comes as data only where errors_as_json is set, a global setting."""
    duckdb_parser.reserved_words()  # whatever else reads the private parser has read it
    duckdb_parser._parser.cache_clear()
    assert local_con.sql("SELECT 42 AS answer").fetchone() == (42,)
    assert duckdb_parser._parser.cache_info().currsize == 0
    with pytest.raises(SQLSyntaxError, match='line 1, column 11: syntax error at or near "FROM"'):
        local_con.sql("SELECT (1 FROM t")
    assert duckdb_parser._parser.cache_info().currsize == 1
    assert local_con.sql("SELECT current_setting('errors_as_json')").fetchone() == (False,)


def test_placeholders_reach_duckdbs_parser_in_its_own_form(con: Connection) -> None:
    assert con.sql("SELECT count(*) FROM ContactLists WHERE ListId = :id OR ListName = :name",
                   {"id": 1401, "name": "nobody"}).fetchone() == (1,)
    assert con.sql("SELECT ?::INT + $2", [1, 2]).fetchone() == (3,)
    with pytest.raises(SQLError, match="Mixing named and positional parameters"):
        con.sql("SELECT ?, :b", {"b": 1})


def test_bare_to_and_from_still_work_where_users_write_them(con: Connection, emu: Emulator) -> None:
    """DuckDB reserves To and From; ClickSend names columns so. Quoting what sqlglot reads as
    identifiers makes DuckDB's parser accept these, so they are accepted."""
    assert len(con.sql("SELECT Body, To, h.From FROM SMSHistory h LIMIT 2").fetchall()) == 2
    plan = con.sql("EXPLAIN INSERT INTO SMSHistory (To, From, Body) VALUES ('+61411111111', 'Acme', 'Hi')").fetchall()
    assert plan and not any("/sms/send" in line for line in emu.requests())  # shown, not sent
    with pytest.raises(SQLSyntaxError, match='near "To"'):  # a local statement reaches DuckDB as written
        con.sql("SELECT To FROM range(3) t(To)")


def test_what_only_duckdb_can_read_runs_in_duckdb_unless_it_reads_clicksend(con: Connection, emu: Emulator) -> None:
    """sqlglot cannot read ``lambda x: ...`` outside a function call; DuckDB can."""
    with pytest.raises(SQLError, match="lambda"):  # DuckDB's own binder error, not a syntax error of sqlglot's
        con.sql("SELECT lambda x: x + 1")
    assert con.sql("SELECT list_transform([1, 2], lambda x: x + 1) AS l").fetchall() == [([2, 3],)]
    with pytest.raises(UnsupportedStatementError, match=r"sqlglot.*cannot read it.*reads SMSHistory"):
        con.sql("SELECT lambda x: x + 1, Status FROM clicksend.SMSHistory")
    assert emu.requests() == []


@pytest.mark.parametrize(
    "table", ["SMSHistory", "clicksend.SMSHistory", "clicksend_sql.clicksend.SMSHistory", "clicksend_sql.SMSHistory",
              '"CLICKSEND"."smshistory"']
)
@pytest.mark.parametrize(
    "column",
    ["Status", "SMSHistory.Status", "clicksend.SMSHistory.Status", "clicksend_sql.clicksend.SMSHistory.Status",
     "clicksend_sql.SMSHistory.Status", '"clicksend"."SMSHISTORY"."STATUS"'],
)
def test_qualified_names_at_every_depth_duckdb_accepts(con: Connection, table: str, column: str) -> None:
    """Each answer is the bare statement's: the catalog-qualified table was read from the empty
    declared table (0 rows) before, and a schema-qualified column was a binder error."""
    expected = con.sql(_STATUS_COUNTS.format(column="Status", table="SMSHistory")).fetchall()
    assert expected
    assert con.sql(_STATUS_COUNTS.format(column=column, table=table)).fetchall() == expected


def test_qualified_columns_push_down_and_an_alias_hides_the_table_name(con: Connection, emu: Emulator) -> None:
    sql = "SELECT count(*) FROM clicksend_sql.clicksend.SMSHistory WHERE clicksend.SMSHistory.Status = 'Failed'"
    failed = con.sql(sql).fetchone()[0]
    assert failed == con.sql("SELECT count(*) FILTER (Status = 'Failed') FROM SMSHistory").fetchone()[0]
    assert any("status%3AFailed" in line or "status:Failed" in line for line in emu.requests())
    with pytest.raises(SQLError, match="clicksend.SMSHistory"):  # as in DuckDB: the alias is the name then
        con.sql("SELECT clicksend.SMSHistory.Status FROM SMSHistory h")


@pytest.mark.parametrize("text", ["--", "-- only a comment", "/* nothing */", " ; -- ;"])
def test_a_text_of_comments_only_is_an_empty_statement(con: Connection, text: str) -> None:
    """Found by the statement-text fuzz: DuckDB reads no statement in "--", and sqlglot had kept it as one."""
    with pytest.raises(ClickSendSQLError, match="The statement is empty"):
        con.sql(text)
