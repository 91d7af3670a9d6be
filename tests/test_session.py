"""A connection is a safe session (issue 19 §1, §2, §4): statements one at a time across threads,
cursors for concurrency, a clear error after close, DuckDB's errors as the package's own, the
caller's parse tree untouched by planning, and a streaming read that holds few rows at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot

import clicksend_sql
from clicksend_sql import Connection, execution
from clicksend_sql.catalog import load_catalog
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ClickSendSQLError, ConnectionClosedError, UnknownColumnError
from clicksend_sql.evaluation import DuckDBSession
from clicksend_sql.parameters import Parameters
from clicksend_sql.planner import plan

from conftest import open_connection


def _threads(target: object, count: int) -> list[BaseException]:
    """Run ``target(i)`` in ``count`` threads at once; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait()
        try:
            target(i)  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001  (collected for the assertion)
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_threads_sharing_a_connection_take_turns(local_con: Connection) -> None:
    expected = local_con.sql("SELECT count(*) FROM ContactLists").fetchone()
    answers: list[object] = []
    errors = _threads(lambda i: answers.extend(local_con.sql("SELECT count(*) FROM ContactLists").fetchone()
                                               for _ in range(5)), 4)
    assert errors == [] and answers == [expected] * 20


def test_cursors_are_sessions_of_their_own(local_con: Connection) -> None:
    local_con.sql("CREATE TABLE mine AS SELECT 42 AS answer")
    cursors = [local_con.cursor() for _ in range(3)]
    answers: list[object] = []

    def read(i: int) -> None:
        cursor = cursors[i]
        answers.append((cursor.sql("SELECT e164('0411 111 111', 'AU')").fetchone(),
                        cursor.sql("SELECT count(*) FROM sys_tables WHERE TableName = 'Contacts'").fetchone(),
                        cursor.sql("SELECT answer FROM mine").fetchone(),
                        cursor.sql("SELECT count(*) FROM ContactLists").fetchone()))

    assert _threads(read, 3) == []
    lists = local_con.sql("SELECT count(*) FROM ContactLists").fetchone()
    assert answers == [(("+61411111111",), (1,), (42,), lists)] * 3
    cursors[0].close()
    assert local_con.sql("SELECT answer FROM mine").fetchone() == (42,)  # closing a cursor leaves its connection open
    with pytest.raises(ConnectionClosedError):
        cursors[0].sql("SELECT 1")


def test_e164_outlives_the_other_sessions_of_its_database(emulator: Emulator, tmp_path: Path) -> None:
    """Found in review: each session's e164 called the Python function of the first connection to
    a database file, freed once that connection closed (a crash, or another object's error)."""
    path = str(tmp_path / "shared.duckdb")
    options = {"base_url": emulator.base_url, "database": path}
    with clicksend_sql.connect(emulator.username, emulator.api_key, **options) as first:
        second = clicksend_sql.connect(emulator.username, emulator.api_key, **options)
        cursor = first.cursor()
    try:
        for session in (second, second.cursor()):
            number, error = session.sql("SELECT e164('0411 111 111', 'AU'), e164_error('12', 'AU')").fetchone()
            assert number == "+61411111111" and isinstance(error, str) and error
        for _ in range(3):
            second.cursor().close()
        # only the open sessions' functions are listed: a closed one's would call freed memory by its name
        listed = second.sql("SELECT count(*) FROM duckdb_functions() WHERE function_name LIKE '\\_\\_clicksend\\_e164%' ESCAPE '\\'")
        assert listed.fetchone() == (4,)  # e164 and e164_error of the second connection and of its open cursor
    finally:
        second.close()
    with pytest.raises(ConnectionClosedError):
        cursor.sql("SELECT e164('0411 111 111', 'AU')")


def test_a_cursor_keeps_the_connection_settings(emulator: Emulator) -> None:
    with clicksend_sql.connect(emulator.username, emulator.api_key, base_url=emulator.base_url, dry_run=True,
                               max_messages=1) as con:
        cursor = con.cursor()
        plan_rows = cursor.sql("INSERT INTO SMSHistory (\"To\", Body) VALUES ('+61411111111', 'x')").arrow()
        assert cursor.dry_run and plan_rows.column("endpoint").to_pylist() == ["POST /v3/sms/send"]
    with pytest.raises(ConnectionClosedError):  # the connection closed its cursors' client with it
        cursor.sql("SELECT count(*) FROM ContactLists")


def test_use_after_close_is_a_clear_error(emulator: Emulator) -> None:
    con = open_connection(emulator)
    con.close()
    con.close()  # harmless
    for use in (lambda: con.sql("SELECT 1"), lambda: con.stream("SELECT * FROM Contacts"), con.cursor,
                lambda: con.explain("SELECT * FROM Contacts")):
        with pytest.raises(ConnectionClosedError, match=r"is closed; open a new one"):
            use()


def test_every_duckdb_error_is_the_package_s(con: Connection) -> None:
    with pytest.raises(ClickSendSQLError) as info:
        con.sql("SELECT * FROM range(3) WHERE nonexistent = 1")
    assert isinstance(info.value, UnknownColumnError) and type(info.value).__module__ == "clicksend_sql.errors"


def test_plan_leaves_the_callers_tree_as_it_was(con: Connection) -> None:
    tree = sqlglot.parse_one("SELECT c.FirstName FROM Contacts c WHERE ListId = 1401 LIMIT 5", read="duckdb")
    before = tree.sql("duckdb")
    plan(tree, load_catalog(), DuckDBSession(con.duckdb, Parameters(None), pushdown=True))
    assert tree.sql("duckdb") == before


# --- streaming -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big() -> Iterator[Emulator]:
    with Emulator(seed=4, sizes={"sms-history": 6000}) as emu:
        yield emu


def test_a_stream_gives_the_rows_sql_gives(big: Emulator) -> None:
    with open_connection(big) as con:
        query = "SELECT MessageId, Status, Date FROM SMSHistory WHERE Direction = 'out' ORDER BY MessageId"
        with con.stream(query, rows_per_batch=1000) as reader:
            assert reader.schema.names == ["MessageId", "Status", "Date"]
            batches = list(reader)
        streamed = pa.Table.from_batches(batches)
        assert max(b.num_rows for b in batches) <= 1000
        assert streamed.equals(con.sql(query).arrow().cast(streamed.schema))
        counted = pa.Table.from_batches(list(con.stream("SELECT count(*) AS n FROM SMSHistory")))
        assert counted.to_pylist() == [{"n": 6000}] and con.last_stats.requests == 1


def test_a_stream_closed_early_cancels_what_was_not_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what DuckDB's stream buffer (1 MiB) and the scan's unread pages hold is fetched before
    the first batch; closing then stops the requests. The scan's unread allowance (16 MB) is made
    small here, so that a 200-page history shows it."""
    monkeypatch.setattr(execution, "FEED_BYTES", 256_000)
    with Emulator(seed=4, sizes={"sms-history": 20_000}, latency_ms=30) as slow, open_connection(slow) as con:
        slow.reset_stats()
        with con.stream("SELECT * FROM SMSHistory", rows_per_batch=100) as reader:
            first = reader.read_next_batch()
            with pytest.raises(ClickSendSQLError, match=r"A stream of this connection is still open"):
                con.sql("SELECT 1")
        assert first.num_rows == 100
        pages = slow.stats()["by_operation"].get("GET /v3/sms/history", 0)
        assert pages < 200 // 2  # 200 pages of 30 ms, 8 at a time: closing at the first cancels most of them
        time.sleep(0.3)
        assert slow.stats()["by_operation"].get("GET /v3/sms/history", 0) == pages  # and none is asked for after
        assert con.last_stats.requests == pages  # the stream's cost, recorded when it closed
        assert con.sql("SELECT 1 AS one").fetchone() == (1,)  # the session is free again


def test_stream_mistakes_fail_at_once_and_writes_stream_their_outcome(big: Emulator) -> None:
    with open_connection(big) as con:
        big.reset_stats()
        with pytest.raises(UnknownColumnError):
            con.stream("SELECT Nope FROM SMSHistory")
        assert big.stats()["total"] == 0
        with pytest.raises(ClickSendSQLError, match=r"stream\(\) takes exactly one statement"):
            con.stream("SELECT 1; SELECT 2")
        local = con.stream("SELECT range AS i FROM range(5)", rows_per_batch=2)
        assert [b.num_rows for b in local] == [2, 2, 1]


def test_a_request_failing_mid_stream_is_the_package_s_error() -> None:
    """Review finding: a page failing at the stream's start reached the reader as a bare OSError
    carrying a Python traceback (later pages as pyarrow's ArrowInvalid)."""
    from clicksend_sql.errors import ServerError

    with Emulator(seed=1, sizes={"sms-history": 1000}) as emu, clicksend_sql.connect(
            emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None, retries=0, concurrency=1) as con:
        for page in (2, 5):
            emu.fault(f"GET /v3/sms/history?limit=100&page={page}", "fail", count=5)
            with pytest.raises(ServerError, match="HTTP 500") as info, con.stream("SELECT * FROM SMSHistory", rows_per_batch=10) as s:
                for _ in s:
                    pass
            assert "Traceback" not in str(info.value)
            emu.reset_stats()
        assert con.sql("SELECT 1").fetchone() == (1,)
        arrow = pa.RecordBatchReader.from_stream(con.stream("SELECT MessageId FROM SMSHistory"))  # the C stream interface
        assert arrow.read_all().num_rows == 1000


def test_closing_a_connection_closes_its_stream_and_cursors(big: Emulator) -> None:
    con = open_connection(big)
    cursor = con.cursor()
    stream = con.stream("SELECT * FROM SMSHistory", rows_per_batch=100)
    stream.read_next_batch()
    con.close()
    with pytest.raises(StopIteration):  # closed with its connection: nothing more comes
        stream.read_next_batch()
    with pytest.raises(ConnectionClosedError):
        cursor.sql("SELECT 1")


def test_a_cursor_follows_its_connection_s_dry_run(emulator: Emulator) -> None:
    """Review finding: a cursor kept the dry_run of the moment it was made, and sent."""
    with open_connection(emulator) as con:
        cursor = con.cursor()
        con.dry_run = True
        emulator.reset_stats()
        cursor.sql("INSERT INTO SMSHistory (\"To\", Body) VALUES ('+61411111111', 'x')")
        assert cursor.dry_run and "POST /v3/sms/send" not in emulator.requests()  # only the price was asked


def test_cursors_streaming_at_once_count_only_their_own_requests(big: Emulator) -> None:
    """Each statement's stats are the requests its own session made, while another streams beside it."""
    with open_connection(big) as con, con.cursor() as left, con.cursor() as right:
        con.sql("SELECT * FROM SMSHistory")
        sms_pages = con.last_stats.requests
        con.sql("SELECT * FROM Contacts")
        contact_pages = con.last_stats.requests
        big.reset_stats()
        with left.stream("SELECT * FROM SMSHistory", rows_per_batch=100) as a, \
                right.stream("SELECT * FROM Contacts", rows_per_batch=100) as b:
            for _ in zip(a, b):  # both read a batch in turn: their requests interleave
                pass
            a.read_all(), b.read_all()
        assert (left.last_stats.requests, right.last_stats.requests) == (sms_pages, contact_pages)
        assert len(big.requests()) == sms_pages + contact_pages
