"""Connection.interrupt(): another thread cancels the statement a session runs, its ClickSend
requests (judged by the emulator's request log) and its DuckDB work, with CanceledError."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import clicksend_sql
import pytest
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import CanceledError


@pytest.fixture(scope="module")
def slow() -> Iterator[Emulator]:
    """An account whose every answer takes 50 ms: a full SMSHistory scan takes seconds."""
    with Emulator(seed=0, sizes={"sms-history": 3000}, latency_ms=50) as emu:
        yield emu


@pytest.fixture()
def con(slow: Emulator) -> Iterator[Connection]:
    slow.reset_stats()
    with clicksend_sql.connect(slow.username, slow.api_key, base_url=slow.base_url, rate_limit=None,
                               concurrency=2) as connection:
        yield connection


def interrupted(con: Connection, run: Callable[[], Any], started: Callable[[], bool]) -> BaseException | None:
    """What ``run`` raises when ``con.interrupt()`` comes once ``started()`` says it is under way."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    deadline = time.monotonic() + 10
    while not started() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    con.interrupt()
    thread.join(10)
    assert not thread.is_alive()
    return failure[0] if failure else None


def test_interrupt_stops_the_requests_of_a_scan(con: Connection, slow: Emulator) -> None:
    error = interrupted(con, lambda: con.sql("SELECT count(DISTINCT Body) FROM SMSHistory"),
                        lambda: slow.stats()["total"] >= 2)
    assert isinstance(error, CanceledError)
    served = slow.stats()["total"]
    time.sleep(0.3)
    assert slow.stats()["total"] == served < 30  # 30 pages make the whole table: the rest were never asked for
    assert con.sql("SELECT count(*) FROM ContactLists").fetchall()[0][0] > 0  # the session goes on


def test_interrupt_stops_duckdb(con: Connection) -> None:
    started = time.monotonic()
    error = interrupted(con, lambda: con.sql("SELECT count(*) FROM range(10000000000) t(a) WHERE a % 7 = 3"),
                        lambda: time.monotonic() - started > 0.2)
    assert isinstance(error, CanceledError)
    assert con.sql("SELECT 42").fetchall() == [(42,)]


def test_interrupt_ends_an_open_stream_with_canceled(con: Connection) -> None:
    with con.stream("SELECT * FROM SMSHistory", rows_per_batch=100) as stream:
        next(iter(stream))
        con.interrupt()
        with pytest.raises(CanceledError):
            for _ in stream:
                pass
    assert con.sql("SELECT 1").fetchall() == [(1,)]


def test_interrupt_with_nothing_running_is_harmless(con: Connection) -> None:
    con.interrupt()
    assert con.sql("SELECT 1").fetchall() == [(1,)]



def test_an_interrupt_never_cancels_a_request_on_the_wire(slow: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sends an interrupted statement left are let finish (each gives its slot back; httpcore
    leaks a pooled connection when one is cancelled mid-request): none ends cancelled."""
    from clicksend_sql.http.client import ClickSendClient

    ended: list[bool] = []
    original = ClickSendClient._sent
    monkeypatch.setattr(ClickSendClient, "_sent", lambda self, send: (ended.append(send.cancelled()), original(self, send)))
    with clicksend_sql.connect(slow.username, slow.api_key, base_url=slow.base_url, rate_limit=None,
                               concurrency=2) as two:
        before = slow.stats()["total"]
        error = interrupted(two, lambda: two.sql("SELECT count(DISTINCT Body) FROM SMSHistory"),
                            lambda: slow.stats()["total"] > before)
        assert isinstance(error, CanceledError)
        time.sleep(0.3)  # the sends in flight (50 ms each) are done
        assert ended and not any(ended)
        assert two.sql("SELECT count(*) FROM ContactLists").fetchall()[0][0] > 0
