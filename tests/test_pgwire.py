"""The PostgreSQL-protocol server, through real clients: psycopg 3 (simple and extended
protocol, text and binary), SQLAlchemy's postgresql+psycopg dialect, pandas and psql.

One ``clicksend-sql serve`` runs per module in a child process (psycopg's ``cancel()`` blocks in
libpq holding the GIL, so a server in this process could not answer it), over an emulator in
this process whose request log and state judge what the statements did.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import clicksend_sql
import httpx
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from clicksend_sql.cli import main
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ConfigurationError
from clicksend_sql.pgwire import Server
from conftest import api_client, ok

PASSWORD = "s3cret-for-tests"
CONTACTS = "GET /v3/lists/{list_id}/contacts"
HISTORY_PAGES = 30  # SMSHistory's rows / 100


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """The module's own account: one test adds a contact to it."""
    with Emulator(seed=3, sizes={"sms-history": 100 * HISTORY_PAGES, "contacts": 300}) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def served(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``clicksend-sql serve`` on a free loopback port, 20 requests a second at most (a full
    SMSHistory scan takes 1.5 s: time to cancel it); stopped with Ctrl-C at the end."""
    log = tmp_path_factory.mktemp("pgwire") / "serve.log"
    env = {**os.environ, "CLICKSEND_SQL_PASSWORD": PASSWORD, "CLICKSEND_USERNAME": emu.username,
           "CLICKSEND_API_KEY": emu.api_key, "PYTHONPATH": str(Path(clicksend_sql.__file__).parents[1])}
    command = [sys.executable, "-c", "from clicksend_sql.cli import run; run()", "serve", "--port", "0",
               "--base-url", emu.base_url, "--rate-limit", "20", "--concurrency", "2"]
    with log.open("w") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        port = _port_from(log, child)
        yield {"host": "127.0.0.1", "port": port, "user": "analyst", "dbname": "clicksend", "password": PASSWORD}
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 0, log.read_text()
        assert "Stopped." in log.read_text() and emu.api_key not in log.read_text()
    finally:
        child.kill()


def _port_from(log: Path, child: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("Serving PostgreSQL clients on "):
                return int(line.split(";")[0].rsplit(":", 1)[1])
        assert child.poll() is None, log.read_text()
        time.sleep(0.05)
    raise AssertionError(f"the server did not start: {log.read_text()}")


@pytest.fixture()
def db(served: dict[str, Any], emu: Emulator) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit psycopg connection; the emulator's counters start at zero."""
    with psycopg.connect(**served, autocommit=True) as connection:
        emu.reset_stats()
        yield connection


def dsn(served: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in served.items())


# --- protocol ----------------------------------------------------------------------------------


def test_simple_query_runs_each_statement(db: psycopg.Connection[Any]) -> None:
    cursor = db.cursor()
    cursor.execute("SELECT 1 AS a; SELECT 'x' AS b, 2 AS c")
    assert cursor.fetchall() == [(1,)]
    assert cursor.nextset() and cursor.fetchall() == [("x", 2)]


VALUES = [5, 2**40, "text", 1.5, None, True, Decimal("12.50"), dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5, 600),
          dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), b"\x00\xffab"]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_parameters_and_results_of_each_type(db: psycopg.Connection[Any], binary: bool) -> None:
    """Extended protocol: every parameter comes back as itself, in text and in binary format."""
    cursor = db.cursor(binary=binary)
    cursor.execute("SELECT " + ", ".join(["%s"] * len(VALUES)), VALUES)
    assert cursor.fetchall() == [tuple(VALUES)]
    oids = [d.type_code for d in cursor.description]
    assert oids == [23, 20, 25, 701, 25, 16, 1700, 1082, 1114, 1184, 17]


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_duckdb_types_on_the_wire(db: psycopg.Connection[Any], binary: bool) -> None:
    row = db.cursor(binary=binary).execute(
        "SELECT 1::SMALLINT, 2::INTEGER, 3::BIGINT, 1.25::REAL, 2.5::DOUBLE, 'inf'::DOUBLE, 12.345::DECIMAL(10,3), "
        "'2024-02-29'::DATE, '2024-02-29 13:14:15.25'::TIMESTAMP, '2024-02-29 13:14:15+00'::TIMESTAMPTZ, "
        "'\\x01'::BLOB, '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID, '{\"a\": 1}'::JSON, INTERVAL 3 DAY, "
        "'12:30:00'::TIME, false").fetchone()
    assert row == (1, 2, 3, 1.25, 2.5, float("inf"), Decimal("12.345"), dt.date(2024, 2, 29),
                   dt.datetime(2024, 2, 29, 13, 14, 15, 250000), dt.datetime(2024, 2, 29, 13, 14, 15, tzinfo=dt.UTC),
                   b"\x01", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", '{"a": 1}', dt.timedelta(days=3), dt.time(12, 30), False)


def test_named_statements_and_describe(db: psycopg.Connection[Any]) -> None:
    """A prepared (named) statement run twice, and Describe of a statement before any Bind."""
    for n in (1, 2):
        assert db.execute("SELECT %s::INTEGER + 1", [n], prepare=True).fetchone() == (n + 1,)
    pgconn = db.pgconn
    pgconn.prepare(b"described", b"SELECT ContactId, FirstName FROM Contacts WHERE ListId = $1", [20])
    described = pgconn.describe_prepared(b"described")
    assert (described.nfields, described.nparams) == (2, 1)
    assert [described.ftype(0), described.ftype(1), described.param_type(0)] == [20, 25, 20]


def test_twenty_thousand_rows_stream(db: psycopg.Connection[Any]) -> None:
    started = time.monotonic()
    cursor = db.cursor(binary=True)
    cursor.execute("SELECT i, i * 1.5 AS d, 'row ' || i AS s FROM range(20000) t(i)")
    rows = cursor.fetchall()
    assert len(rows) == 20000 and rows[-1] == (19999, 29998.5, "row 19999") and cursor.statusmessage == "SELECT 20000"
    assert time.monotonic() - started < 5


# --- ClickSend tables --------------------------------------------------------------------------


def test_clicksend_query_is_pushed_down(db: psycopg.Connection[Any], emu: Emulator) -> None:
    lists = db.execute("SELECT ListId, ContactsCount FROM ContactLists ORDER BY ContactsCount").fetchall()
    list_id, size = lists[0]
    emu.reset_stats()
    rows = db.execute("SELECT ContactId FROM Contacts WHERE ListId = %s", [list_id]).fetchall()
    assert len(rows) == size
    assert emu.stats()["by_operation"] == {CONTACTS: max(1, -(-size // 100))}
    assert all(f"/lists/{list_id}/contacts" in line for line in emu.requests())


def test_join_with_a_local_table(db: psycopg.Connection[Any]) -> None:
    db.execute("CREATE TABLE wanted AS SELECT ListId, 'mine' AS owner FROM (SELECT ListId FROM ContactLists LIMIT 2)")
    rows = db.execute("SELECT w.owner, count(*) FROM Contacts c JOIN wanted w USING (ListId) GROUP BY 1").fetchall()
    assert rows and rows[0][0] == "mine" and rows[0][1] > 0


def test_insert_into_contacts_lands_in_the_account(db: psycopg.Connection[Any], emu: Emulator) -> None:
    list_id = db.execute("SELECT min(ListId) FROM ContactLists").fetchone()[0]
    cursor = db.execute("INSERT INTO Contacts (ListId, PhoneNumber, FirstName) VALUES (%s, %s, %s)",
                        [list_id, "+61411222333", "Pgwire"])
    assert cursor.statusmessage == "INSERT 0 1"
    outcome = cursor.fetchall()
    assert [r[2] for r in outcome] == ["ok"]  # the write's outcome rows: row, key, status, ...
    with api_client(emu) as client:
        contact = ok(client.get(f"/lists/{list_id}/contacts/{outcome[0][1]}"))
    assert (contact["first_name"], contact["phone_number"]) == ("Pgwire", "+61411222333")


def test_insert_returning_answers_the_rows_written(db: psycopg.Connection[Any], emu: Emulator) -> None:
    list_id = db.execute("SELECT min(ListId) FROM ContactLists").fetchone()[0]
    cursor = db.execute("INSERT INTO Contacts (ListId, PhoneNumber, FirstName) VALUES (%s, %s, %s) "
                        "RETURNING ContactId, FirstName", [list_id, "+61411222334", "Returned"])
    assert cursor.statusmessage == "INSERT 0 1"
    (contact_id, name), = cursor.fetchall()
    with api_client(emu) as client:
        assert ok(client.get(f"/lists/{list_id}/contacts/{contact_id}"))["first_name"] == name == "Returned"


@pytest.mark.parametrize(("statement", "code"), [
    ("SELECT * FROM NoSuchTable", "42P01"),
    ("SELECT NoSuchColumn FROM Contacts", "42703"),
    ("SELEC 1", "42601"),
    ("DELETE FROM SMSHistory", "0A000"),
    ("SELECT * FROM AccountUsage", "0A000"),
    ("COPY Contacts TO STDOUT", "0A000"),
])
def test_errors_carry_a_sqlstate(db: psycopg.Connection[Any], statement: str, code: str) -> None:
    with pytest.raises(psycopg.Error) as failure:
        db.execute(statement)
    assert failure.value.sqlstate == code
    assert db.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_cancel_stops_the_clicksend_requests(db: psycopg.Connection[Any], emu: Emulator) -> None:
    failure: list[BaseException] = []

    def scan() -> None:
        try:
            db.execute("SELECT count(DISTINCT Body) FROM SMSHistory").fetchall()
        except psycopg.Error as exc:
            failure.append(exc)

    thread = threading.Thread(target=scan)
    thread.start()
    _wait_for_requests(emu, 3)
    db.cancel()
    thread.join(10)
    assert isinstance(failure[0], psycopg.errors.QueryCanceled)
    _assert_requests_stopped(emu)
    assert db.execute("SELECT count(*) FROM ContactLists").fetchone()[0] > 0


def test_a_client_that_disconnects_mid_scan_stops_the_requests(served: dict[str, Any], emu: Emulator) -> None:
    connection = psycopg.connect(**served, autocommit=True)
    emu.reset_stats()
    thread = threading.Thread(target=lambda: _quietly(lambda: connection.execute("SELECT * FROM SMSHistory").fetchall()))
    thread.start()
    _wait_for_requests(emu, 3)
    socket.socket(fileno=os.dup(connection.fileno())).shutdown(socket.SHUT_RDWR)
    thread.join(10)
    _assert_requests_stopped(emu)
    connection.close()


def _wait_for_requests(emu: Emulator, count: int) -> None:
    deadline = time.monotonic() + 10
    while emu.stats()["total"] < count:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _assert_requests_stopped(emu: Emulator) -> None:
    time.sleep(0.3)
    served = emu.stats()["total"]
    time.sleep(0.4)
    assert emu.stats()["total"] == served < HISTORY_PAGES


def _quietly(run: Any) -> None:
    try:
        run()
    except psycopg.Error:
        pass


# --- sessions: transactions, settings, catalog ---------------------------------------------------


def test_transactions_reach_duckdb(served: dict[str, Any]) -> None:
    with psycopg.connect(**served) as connection:  # psycopg opens a transaction per statement batch
        connection.execute("CREATE TABLE kept (a INTEGER)")
        connection.commit()
        connection.execute("INSERT INTO kept VALUES (1), (2)")
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        connection.rollback()
        assert connection.execute("SELECT count(*) FROM kept").fetchone() == (0,)
        with pytest.raises(psycopg.errors.UndefinedTable):
            connection.execute("SELECT * FROM missing")
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            connection.execute("SELECT 1")
        connection.rollback()
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="transaction"):  # ClickSend writes are not transactional
            connection.execute("DELETE FROM Contacts WHERE ListId = 1 AND ContactId = 1")
        connection.rollback()
        connection.execute("INSERT INTO kept VALUES (3)")
        connection.commit()
        assert connection.execute("SELECT a FROM kept").fetchall() == [(3,)]


def test_set_show_and_parameters(db: psycopg.Connection[Any]) -> None:
    assert db.info.parameter_status("server_version") == "15.0"
    assert db.info.parameter_status("integer_datetimes") == "on"
    db.execute("SET extra_float_digits = 3")
    db.execute("SET application_name = 'reporting'")
    assert db.info.parameter_status("application_name") == "reporting"
    db.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL read committed")
    assert db.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # not a COMMIT, nor a BEGIN
    assert db.execute("SHOW extra_float_digits").fetchone() == ("3",)
    assert db.execute("SHOW transaction isolation level").fetchone() == ("repeatable read",)
    assert db.execute("SHOW server_version").fetchone() == ("15.0",)
    version, schema = db.execute("SELECT version(), current_schema()").fetchone()
    assert version.startswith("PostgreSQL 15.0") and schema == "main"


def test_sqlalchemy_reflects_and_pandas_reads(served: dict[str, Any]) -> None:
    url = f"postgresql+psycopg://{served['user']}:{PASSWORD}@127.0.0.1:{served['port']}/clicksend"
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        assert {"Contacts", "SMSHistory"} <= set(inspector.get_table_names())
        columns = {c["name"]: c for c in inspector.get_columns("Contacts")}
        assert isinstance(columns["ContactId"]["type"], sa.BIGINT) and columns["ListId"]["comment"]
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM ContactLists")).scalar() > 0
        frame = pd.read_sql("SELECT ListId, ListName FROM ContactLists ORDER BY ListId", engine)
        assert list(frame.columns) == ["ListId", "ListName"] and len(frame) > 0
    finally:
        engine.dispose()


def _psql() -> str | None:
    bundled = None
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    except ImportError:
        pass
    return shutil.which("psql", path="/usr/bin") or shutil.which("psql") or (str(bundled) if bundled and bundled.exists() else None)


@pytest.mark.skipif(_psql() is None, reason="no psql client")
def test_psql_meta_commands_and_a_join(served: dict[str, Any]) -> None:
    psql = _psql()
    assert psql is not None
    script = ("\\dt\n\\d Contacts\n\\l\n"
              "SELECT l.ListName, count(*) AS n FROM Contacts c JOIN ContactLists l USING (ListId) GROUP BY 1 ORDER BY 1 LIMIT 1;\n")
    done = subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", dsn({k: v for k, v in served.items() if k != "password"})],
                          input=script, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PGPASSWORD": PASSWORD, "PGCONNECT_TIMEOUT": "10"})
    assert done.returncode == 0, done.stderr
    assert " clicksend | Contacts " in done.stdout  # \dt
    assert 'Table "clicksend.Contacts"' in done.stdout and "ContactId" in done.stdout and "bigint" in done.stdout
    assert "List of databases" in done.stdout
    assert "listname" in done.stdout.lower() and "(1 row)" in done.stdout


# --- who may connect ---------------------------------------------------------------------------


def test_a_wrong_password_is_refused(served: dict[str, Any]) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(**{**served, "password": "wrong"})


def test_listening_beyond_loopback_is_refused(emulator: Emulator) -> None:
    with clicksend_sql.connect(emulator.username, emulator.api_key, base_url=emulator.base_url) as con, \
            pytest.raises(ConfigurationError, match="--allow-remote"):
        Server(con, PASSWORD, host="0.0.0.0", port=0)
    result = CliRunner().invoke(main, ["serve", "--demo", "--host", "0.0.0.0"], env={"CLICKSEND_SQL_PASSWORD": PASSWORD})
    assert result.exit_code == 1 and "not a loopback address" in result.output


def test_serve_needs_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLICKSEND_SQL_PASSWORD", raising=False)
    result = CliRunner().invoke(main, ["serve", "--demo"])
    assert result.exit_code == 1 and "CLICKSEND_SQL_PASSWORD" in result.output


def test_secrets_stay_hidden_and_other_protocols_are_turned_away(emulator: Emulator) -> None:
    with clicksend_sql.connect(emulator.username, emulator.api_key, base_url=emulator.base_url) as con:
        server = Server(con, PASSWORD, port=0)
        assert emulator.api_key not in repr(server) and PASSWORD not in repr(server._password)
        # an HTTP request is no start-up packet: a protocol error, then the connection is closed
        with server, httpx.Client() as client, pytest.raises(httpx.HTTPError):
            client.get(f"http://127.0.0.1:{server.port}/", timeout=5)
