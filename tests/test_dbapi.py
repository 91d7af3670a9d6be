"""PEP 249 (DB-API 2.0): the module, connections, cursors and errors, tested as DB-API drivers
are (each requirement of the PEP in turn), on local DuckDB tables and on ClickSend tables, with
writes judged by the emulator's state and request log."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import clicksend_sql
import clicksend_sql.dbapi as dbapi
from clicksend_sql.emulator import Emulator

from conftest import api_client, ok


@pytest.fixture(scope="module")
def account() -> Iterator[Emulator]:
    """An account of this module's own: some tests add contacts."""
    with Emulator(seed=7, sizes={"contacts": 150, "sms-history": 250}) as emu:
        yield emu


def _connect(account: Emulator, **options: Any) -> dbapi.Connection:
    return dbapi.connect(account.username, account.api_key, base_url=account.base_url, rate_limit=None, **options)


@pytest.fixture()
def db(account: Emulator) -> Iterator[dbapi.Connection]:
    with _connect(account) as connection:
        yield connection


@pytest.fixture()
def cur(db: dbapi.Connection) -> dbapi.Cursor:
    cursor = db.cursor()
    cursor.execute("CREATE TABLE booze (name VARCHAR, price DECIMAL(6,2), made DATE)")
    return cursor


# --- module interface --------------------------------------------------------------------------


def test_module_globals() -> None:
    assert dbapi.apilevel == "2.0"
    assert dbapi.threadsafety in (0, 1, 2, 3)
    assert dbapi.paramstyle in ("qmark", "numeric", "named", "format", "pyformat")


def test_exception_hierarchy_is_pep_249s_under_the_packages_base() -> None:
    assert issubclass(dbapi.Warning, Exception) and issubclass(dbapi.Error, Exception)
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(dbapi, name), dbapi.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        assert issubclass(getattr(dbapi, name), dbapi.DatabaseError)
    assert issubclass(dbapi.Error, clicksend_sql.ClickSendSQLError)


def test_connection_carries_the_exception_classes(db: dbapi.Connection) -> None:
    assert db.ProgrammingError is dbapi.ProgrammingError and db.Error is dbapi.Error


def test_type_constructors_and_objects() -> None:
    assert dbapi.Date(2025, 1, 2) == datetime.date(2025, 1, 2)
    assert dbapi.Timestamp(2025, 1, 2, 3, 4, 5) == datetime.datetime(2025, 1, 2, 3, 4, 5)
    assert dbapi.Time(3, 4, 5) == datetime.time(3, 4, 5)
    assert dbapi.DateFromTicks(0).year in (1969, 1970)
    assert isinstance(dbapi.TimestampFromTicks(0), datetime.datetime) and isinstance(dbapi.TimeFromTicks(0), datetime.time)
    assert dbapi.Binary(b"\x00x") == b"\x00x"
    assert dbapi.ROWID != "VARCHAR"


# --- connections -------------------------------------------------------------------------------


def test_commit_and_rollback_do_nothing_outside_a_transaction(db: dbapi.Connection) -> None:
    db.commit()
    db.rollback()


def test_rollback_undoes_a_local_transaction_and_commit_keeps_one(cur: dbapi.Cursor, db: dbapi.Connection) -> None:
    cur.execute("BEGIN")
    cur.execute("INSERT INTO booze VALUES ('Victoria Bitter', 2.5, '2025-01-01')")
    db.rollback()
    assert cur.execute("SELECT count(*) FROM booze").fetchone() == (0,)
    cur.execute("BEGIN")
    cur.execute("INSERT INTO booze VALUES ('Cooper', 3.0, NULL)")
    db.commit()
    db.rollback()
    assert cur.execute("SELECT name FROM booze").fetchall() == [("Cooper",)]


def test_cursors_of_one_connection_share_its_session(db: dbapi.Connection, cur: dbapi.Cursor) -> None:
    other = db.cursor()
    cur.execute("INSERT INTO booze VALUES ('Boag', 4, NULL)")
    assert other.execute("SELECT name FROM booze").fetchall() == [("Boag",)]


def test_closed_connection_and_cursor_refuse_use(account: Emulator) -> None:
    db = _connect(account)
    cursor = db.cursor()
    cursor.close()
    with pytest.raises(dbapi.InterfaceError, match="cursor is closed"):
        cursor.execute("SELECT 1")
    other = db.cursor()
    db.close()
    db.close()  # twice is harmless
    with pytest.raises(dbapi.InterfaceError, match="closed"):
        other.execute("SELECT 1")
    with pytest.raises(dbapi.InterfaceError):
        db.cursor()


def test_context_managers_close(account: Emulator) -> None:
    with _connect(account) as db, db.cursor() as cursor:
        assert cursor.execute("SELECT 42").fetchone() == (42,)
    assert db.closed


def test_threads_share_a_connection(db: dbapi.Connection) -> None:
    """threadsafety 2: one connection, a cursor per thread; statements queue on its lock."""
    answers: list[Any] = []

    def work(n: int) -> None:
        answers.append(db.cursor().execute("SELECT count(*) + ? FROM Contacts", [n]).fetchone())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    base = db.cursor().execute("SELECT count(*) FROM Contacts").fetchone()[0]
    assert sorted(answers) == [(base + n,) for n in range(4)]


# --- cursors -----------------------------------------------------------------------------------


def test_description_before_and_after(cur: dbapi.Cursor) -> None:
    assert cur.description is None  # CREATE TABLE returns no rows
    cur.execute("SELECT name, price, made FROM booze")
    names = [d[0] for d in cur.description]
    assert names == ["name", "price", "made"]
    assert all(len(d) == 7 for d in cur.description)
    kinds = [d[1] for d in cur.description]
    assert kinds[0] == dbapi.STRING and kinds[1] == dbapi.NUMBER and kinds[2] == dbapi.DATETIME


def test_rowcount(cur: dbapi.Cursor) -> None:
    assert cur.rowcount == -1  # CREATE TABLE: no row count
    cur.execute("INSERT INTO booze VALUES ('a', 1, NULL), ('b', 2, NULL)")
    assert cur.rowcount == 2 and cur.description is None
    cur.execute("UPDATE booze SET price = 3 WHERE name = 'a'")
    assert cur.rowcount == 1
    cur.execute("SELECT * FROM booze")
    assert cur.rowcount == 2
    cur.execute("DELETE FROM booze")
    assert cur.rowcount == 2


def test_fetch_methods_continue_where_the_last_stopped(cur: dbapi.Cursor) -> None:
    cur.executemany("INSERT INTO booze VALUES (?, ?, ?)", [(f"b{i}", i, None) for i in range(6)])
    cur.execute("SELECT name FROM booze ORDER BY name")
    assert cur.fetchone() == ("b0",)
    assert cur.rownumber == 1
    assert cur.fetchmany() == [("b1",)]  # arraysize 1
    cur.arraysize = 2
    assert cur.fetchmany() == [("b2",), ("b3",)]
    assert cur.fetchmany(5) == [("b4",), ("b5",)]
    assert cur.fetchall() == [] and cur.fetchone() is None and cur.fetchmany() == []
    assert list(cur.execute("SELECT 1 UNION ALL SELECT 2 ORDER BY 1")) == [(1,), (2,)]


def test_fetch_without_rows_is_a_programming_error(cur: dbapi.Cursor, db: dbapi.Connection) -> None:
    with pytest.raises(dbapi.ProgrammingError, match="No rows"):
        db.cursor().fetchone()
    cur.execute("INSERT INTO booze VALUES ('x', 1, NULL)")
    with pytest.raises(dbapi.ProgrammingError, match="No rows"):
        cur.fetchall()


def test_parameters_qmark_numbered_and_named(cur: dbapi.Cursor) -> None:
    cur.execute("INSERT INTO booze VALUES (?, ?, ?)", ("Coopers", Decimal("4.50"), dbapi.Date(2025, 2, 1)))
    assert cur.execute("SELECT price, made FROM booze WHERE name = ?", ["Coopers"]).fetchone() == (
        Decimal("4.50"), datetime.date(2025, 2, 1))
    assert cur.execute("SELECT name FROM booze WHERE price > $1", [4]).fetchall() == [("Coopers",)]
    assert cur.execute("SELECT name FROM booze WHERE price > :p", {"p": 4}).fetchall() == [("Coopers",)]


def test_executemany_one_statement_or_one_per_set(cur: dbapi.Cursor) -> None:
    cur.executemany("INSERT INTO booze VALUES (?, ?, NULL)", [("a", 1), ("b", 2), ("c", 3)])
    assert cur.rowcount == 3
    cur.executemany("INSERT INTO booze VALUES (:n, :p, NULL)", [{"n": "d", "p": 4}, {"n": "e", "p": 5}])
    assert cur.rowcount == 2
    cur.executemany("UPDATE booze SET price = price * 2 WHERE name = ?", [("a",), ("b",)])
    assert cur.rowcount == 2
    cur.executemany("INSERT INTO booze VALUES (?, ?, NULL)", [])
    assert cur.rowcount == -1
    assert cur.execute("SELECT sum(price) FROM booze").fetchone() == (Decimal("18.00"),)


def test_setinputsizes_and_setoutputsize_are_accepted(cur: dbapi.Cursor) -> None:
    cur.setinputsizes([10])
    cur.setoutputsize(10)
    cur.setoutputsize(10, 0)


def test_no_df_so_jupysql_never_refetches(db: dbapi.Connection) -> None:
    """JupySQL re-runs a statement through ``df()`` when the driver's connection has one."""
    assert not hasattr(db, "df") and not hasattr(db.cursor(), "df")


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sql", "error", "text"), [
    ("SELEC * FROM Contacts", dbapi.ProgrammingError, "SELEC"),
    ("SELECT nope FROM Contacts", dbapi.ProgrammingError, "nope"),
    ("SELECT * FROM Contactz", dbapi.ProgrammingError, "Contacts"),
    ("SELECT 'x'::INTEGER", dbapi.DataError, "x"),
    ("SELECT 300::TINYINT", dbapi.DataError, "TINYINT"),
    ("DELETE FROM SMSHistory", dbapi.NotSupportedError, "SMSHistory"),
])
def test_errors_carry_their_pep_249_class(db: dbapi.Connection, sql: str, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        db.cursor().execute(sql)


def test_a_constraint_is_an_integrity_error(cur: dbapi.Cursor) -> None:
    cur.execute("CREATE TABLE keyed (k INTEGER PRIMARY KEY)")
    cur.execute("INSERT INTO keyed VALUES (1)")
    with pytest.raises(dbapi.IntegrityError):
        cur.execute("INSERT INTO keyed VALUES (1)")


def test_an_unreachable_server_is_an_operational_error() -> None:
    with dbapi.connect("me", "key", base_url="http://127.0.0.1:9/v3", retries=0, deadline=2) as db:
        with pytest.raises(dbapi.OperationalError):
            db.cursor().execute("SELECT * FROM ContactLists")


def test_refused_credentials_are_an_operational_error(account: Emulator) -> None:
    with dbapi.connect(account.username, "wrong-key", base_url=account.base_url) as db:
        with pytest.raises(dbapi.OperationalError) as failure:
            db.cursor().execute("SELECT * FROM ContactLists")
    assert "wrong-key" not in str(failure.value)


# --- ClickSend tables --------------------------------------------------------------------------


def test_a_clicksend_query_pushes_down_like_con_sql(db: dbapi.Connection, account: Emulator) -> None:
    account.reset_stats()
    cursor = db.cursor().execute("SELECT ContactId, FirstName FROM Contacts WHERE ListId = ?", [1401])
    rows = cursor.fetchall()
    assert cursor.rowcount == len(rows) > 0
    assert all(r.startswith("GET /v3/lists/1401/contacts") for r in account.requests())
    with api_client(account) as client:
        expected = ok(client.get("/lists/1401/contacts", params={"limit": 100}))["total"]
    assert len(rows) == expected


def test_an_insert_reports_its_rowcount_and_lands(db: dbapi.Connection, account: Emulator) -> None:
    cursor = db.cursor()
    cursor.executemany("INSERT INTO Contacts (ListId, PhoneNumber, FirstName) VALUES (?, ?, ?)",
                       [(1402, "+61411100201", "Dbapi1"), (1402, "+61411100202", "Dbapi2")])
    assert cursor.rowcount == 2
    assert [r[2] for r in cursor.fetchall()] == ["ok", "ok"]  # the outcome rows
    with api_client(account) as client:
        names = [c["first_name"] for c in ok(client.get("/lists/1402/contacts", params={"limit": 100,
                                                                                        "page": 1}))["data"]]
        pages = ok(client.get("/lists/1402/contacts", params={"limit": 100}))["last_page"]
        for page in range(2, pages + 1):
            names += [c["first_name"] for c in ok(client.get("/lists/1402/contacts",
                                                             params={"limit": 100, "page": page}))["data"]]
    assert {"Dbapi1", "Dbapi2"} <= set(names)


def test_executemany_of_sends_is_capped_as_one_statement(account: Emulator) -> None:
    """Three one-message rows under max_messages=2: refused whole, nothing sent (not three statements of one)."""
    account.reset_stats()
    with _connect(account, max_messages=2) as db:
        with pytest.raises(dbapi.ProgrammingError, match="max_messages"):
            db.cursor().executemany("INSERT INTO SMSHistory (\"To\", Body, \"From\") VALUES (?, ?, 'Acme')",
                                    [("+61411111111", "hi"), ("+61411111112", "hi"), ("+61411111113", "hi")])
    assert not [r for r in account.requests() if r.startswith("POST")]


def test_a_failed_write_row_is_not_counted(db: dbapi.Connection, account: Emulator) -> None:
    cursor = db.cursor().execute("UPDATE Contacts SET FirstName = 'Nobody' WHERE ListId = 1402 AND ContactId = -5")
    assert cursor.rowcount == 0


def test_set_answers_no_rows(db: dbapi.Connection) -> None:
    """DuckDB answers SET with a ``Success`` column; to DB-API (and PostgreSQL clients) it has no rows."""
    cursor = db.cursor().execute("SET threads = 2")
    assert cursor.description is None and cursor.rowcount == -1
