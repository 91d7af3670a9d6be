"""Listening (issue 21): inbound SMS and receipts handed to SQL as they arrive, in poll and webhook
mode, judged by the emulator (its rules, request log and deliveries) and by the DuckDB tables the
statements write."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pyarrow as pa
import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ConfigurationError

from conftest import account_env

SCRIPT = Path(sys.executable).with_name("clicksend-sql")
KEEP = 'INSERT OR IGNORE INTO replies SELECT MessageId, "From", Body, CustomString FROM inbound'
REPLIES = "CREATE TABLE IF NOT EXISTS replies (MessageId VARCHAR PRIMARY KEY, Sender VARCHAR, Body VARCHAR, Custom VARCHAR)"


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(seed=3, sizes={"sms-history": 50}) as emulator:
        yield emulator


@pytest.fixture()
def con(emu: Emulator, tmp_path: Path) -> Iterator[Connection]:
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None,
                               database=str(tmp_path / "replies.duckdb")) as connection:
        connection.sql(REPLIES)
        yield connection


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rules(con: Connection) -> list[tuple[object, ...]]:
    return con.sql("SELECT Action, ActionAddress, DedicatedNumber, MessageSearchType, MessageSearchTerm "
                   "FROM InboundSMSRules WHERE RuleName LIKE 'clicksend-sql%'").fetchall()


def test_poll_mode_processes_only_new_messages_and_marks_them_read(emu: Emulator, con: Connection) -> None:
    unread_before = con.sql("SELECT count(*) FROM InboundSMS").fetchone()[0]  # type: ignore[index]
    with con.listen(KEEP, interval=0.1) as listener:
        assert listener.stats.skipped_backlog == unread_before > 0  # the backlog is never answered by surprise
        assert rules(con) == [("POLL", "clicksend-sql", "*", 0, "")]
        emu.reset_stats()
        sent = [emu.inbound(from_=f"+6141111111{i}", to="+61480000000", body=f"hello {i}", custom_string="")
                for i in range(3)]
        until(lambda: listener.stats.processed == 3)
        time.sleep(0.5)  # quiet polls after one that marked messages read
        sent.append(emu.inbound(from_="+61411111113", to="+61480000000", body="hello 3", custom_string=""))
        until(lambda: listener.stats.processed == 4)
        assert listener.stats.errors == []
    assert rules(con) == []  # its rule is gone with it
    kept = con.sql("SELECT MessageId, Sender, Body, Custom FROM replies ORDER BY Body").fetchall()
    assert kept == [(m["message_id"], m["from"], m["body"], "") for m in sent]  # the empty custom_string is kept
    assert any(line.startswith("PUT /v3/sms/inbound-read") for line in emu.requests())


def test_backlog_and_a_restart_that_resumes(emu: Emulator, con: Connection) -> None:
    with con.listen(KEEP, interval=0.1, backlog=True) as listener:
        until(lambda: listener.stats.processed >= 40)
    first = con.sql("SELECT count(*) FROM replies").fetchone()
    emu.inbound(from_="+61411111119", to="+61480000000", body="while nobody listened")
    with con.listen(KEEP, interval=0.1) as listener:  # not a first start: the state says where it got to
        assert listener.stats.skipped_backlog == 0
        until(lambda: listener.stats.processed == 1)
    assert con.sql("SELECT count(*) FROM replies").fetchone() == (first[0] + 1,)  # type: ignore[index]


def test_rule_filters(emu: Emulator, con: Connection) -> None:
    with con.listen(KEEP, interval=0.1, number="+61480000000", match="starts with", term="STOP") as listener:
        assert rules(con) == [("POLL", "clicksend-sql", "+61480000000", 1, "STOP")]
        emu.inbound(from_="+61411111111", to="+61480000000", body="stop it")
        emu.inbound(from_="+61411111112", to="+61480000000", body="hello")
        emu.inbound(from_="+61411111113", to="+61480000999", body="stop too")
        until(lambda: listener.stats.processed == 1)
        time.sleep(0.3)
    assert con.sql("SELECT Body FROM replies").fetchall() == [("stop it",)]


def test_a_failing_statement_keeps_its_batch_and_is_reported_once(emu: Emulator, con: Connection) -> None:
    calls: list[int] = []
    reported: list[str] = []

    def flaky(batch: pa.Table) -> None:
        calls.append(batch.num_rows)
        if len(calls) < 4:
            raise RuntimeError("the database is down")

    with con.listen(callback=flaky, interval=0.05, on_error=lambda e: reported.append(e.error)) as listener:
        emu.inbound(from_="+61411111111", to="+61480000000", body="retry me")
        until(lambda: listener.stats.processed == 1)
    assert len(calls) == 4 and reported == ["RuntimeError: the database is down"]


def test_an_auto_reply_goes_through_the_write_path_once(emu: Emulator, con: Connection) -> None:
    reply = ("INSERT INTO SMSHistory (\"To\", Body, CustomString) SELECT \"From\", 'Thanks!', 'reply-' || MessageId "
             "FROM inbound WHERE Body ILIKE 'stop%' ON CONFLICT (CustomString) DO NOTHING")
    with con.listen(reply, interval=0.1) as listener:
        emu.reset_stats()
        message = emu.inbound(from_="+61411111111", to="+61480000000", body="STOP please")
        until(lambda: listener.stats.processed == 1)
    sent = con.sql("SELECT \"To\", Body FROM SMSHistory WHERE CustomString = ?", ["reply-" + message["message_id"]])
    assert sent.fetchall() == [("+61411111111", "Thanks!")]
    capped = clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None, max_messages=0)
    errors: list[str] = []
    with capped, capped.listen(reply, interval=0.1, on_error=lambda e: errors.append(e.error)) as listener:
        emu.reset_stats()
        emu.inbound(from_="+61411111112", to="+61480000000", body="stop again")
        until(lambda: bool(errors))
    assert "max_messages" in errors[0]  # caps hold for a listener's statements too
    assert not [line for line in emu.requests() if line.startswith("POST /v3/sms/send")]  # and nothing was sent


def test_a_dry_run_listener_sends_nothing_and_makes_no_rule(emu: Emulator, tmp_path: Path) -> None:
    """``listen --dry-run``: the auto-reply shows its request and sends nothing, and the listener makes
    no rule of its own (it hears what the account's POLL rules list). Killed, it leaves no rule in its
    state either: the next start with that state touches no rule but its own (a dry run once stored
    its planned request's number, 1, as a rule id, and the next start went to delete the account's
    rule 1). Judged by the emulator's request log."""
    state = tmp_path / "state.duckdb"
    env = account_env(emu)
    reply = "INSERT INTO SMSHistory (\"To\", Body) SELECT \"From\", 'Thanks!' FROM inbound"
    emu.reset_stats()
    dry = subprocess.Popen([str(SCRIPT), "listen", "--dry-run", "--state", str(state), "--sql", reply, "--interval", "0.1"],
                           env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert dry.stderr is not None and "Listening" in dry.stderr.readline()
        emu.inbound(from_="+61411111111", to="+61480000000", body="hello")
        assert "message(s) processed" in dry.stderr.readline()
    finally:
        dry.send_signal(signal.SIGKILL)  # no clean-up: only the state says what it made
        dry.wait(timeout=30)
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None) as con:
        con.listen(KEEP, state=state, interval=0.1).start().stop()
    asked = emu.requests()
    assert not [line for line in asked if line.startswith("POST /v3/sms/send")], asked
    made = [line for line in asked if line.startswith("POST /v3/automations/sms/inbound")]
    touched = {line.rsplit("/", 1)[1] for line in asked if line.startswith(("GET /v3/automations/sms/inbound/",
                                                                             "DELETE /v3/automations/sms/inbound/"))}
    # one rule made, and the only one read or deleted: the second listener's own, nothing for the dry run
    assert len(made) == len(touched) == 1, asked


def test_a_dry_run_leaves_a_killed_listeners_rule_for_the_next_real_start(emu: Emulator, tmp_path: Path) -> None:
    """A dry run deletes nothing, so it forgets nothing: the rule a killed listener left stays in the
    state until a real start deletes it (a dry run once forgot it, and it stayed in ClickSend)."""
    state = tmp_path / "state.duckdb"
    env = account_env(emu)
    killed = subprocess.Popen([str(SCRIPT), "listen", "--state", str(state), "--sql", "SELECT 1 FROM inbound"],
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert killed.stderr is not None and "Listening" in killed.stderr.readline()
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    emu.reset_stats()
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, dry_run=True) as dry:
        dry.listen("SELECT 1 FROM inbound", state=state).start().stop()
    assert not [line for line in emu.requests() if not line.startswith("GET ")], emu.requests()
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url) as con:
        con.listen("SELECT 1 FROM inbound", state=state).start().stop()
        assert rules(con) == []
    assert len([line for line in emu.requests() if line.startswith("DELETE ")]) == 2  # the killed one's, then its own


def test_listen_refuses_what_it_cannot_do_clearly(emu: Emulator, con: Connection) -> None:
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, dry_run=True) as dry:
        with pytest.raises(ConfigurationError, match="dry run makes no rule.*poll mode"):
            dry.listen(KEEP, public_url="http://127.0.0.1:1")
    with duckdb.connect() as db, pytest.raises(ConfigurationError, match=r"listen\(state=.*path of a DuckDB file"):
        con.listen(KEEP, state=db)  # type: ignore[arg-type]


def test_receipts_keep_message_statuses_current(emu: Emulator, con: Connection) -> None:
    con.sql("CREATE TABLE statuses (MessageId VARCHAR PRIMARY KEY, StatusCode INTEGER)")
    keep = "INSERT OR REPLACE INTO statuses SELECT MessageId, StatusCode FROM receipts"
    message_id = con.sql("SELECT MessageId FROM SMSHistory WHERE Direction = 'out' LIMIT 1").fetchone()[0]  # type: ignore[index]
    with con.listen(keep, receipts=True, interval=0.1) as listener:
        emu.receipt(message_id, status_code=301)
        until(lambda: listener.stats.processed == 1)
    assert con.sql("SELECT * FROM statuses").fetchall() == [(message_id, 301)]


def test_receipts_in_webhook_mode(emu: Emulator, con: Connection) -> None:
    """--receipts with --public-url: a URL delivery-receipt rule, ClickSend's push of a receipt
    processed once, and the rule gone when the listener stops."""
    con.sql("CREATE TABLE statuses (MessageId VARCHAR PRIMARY KEY, StatusCode INTEGER)")
    keep = "INSERT OR REPLACE INTO statuses SELECT MessageId, StatusCode FROM receipts"
    message_id = con.sql("SELECT MessageId FROM SMSHistory WHERE Direction = 'out' LIMIT 1").fetchone()[0]  # type: ignore[index]
    receipt_rules = 'SELECT Action, ActionAddress FROM SMSDeliveryReceiptRules WHERE Action = \'URL\''
    before = con.sql(receipt_rules).fetchall()
    port = free_port()
    with con.listen(keep, receipts=True, public_url=f"http://127.0.0.1:{port}", port=port, interval=5) as listener:
        assert con.sql(receipt_rules).fetchall() == [*before, ("URL", listener.url)]
        emu.receipt(message_id, status_code=301)
        until(lambda: listener.stats.processed == 1)
    assert con.sql(receipt_rules).fetchall() == before
    assert con.sql("SELECT * FROM statuses").fetchall() == [(message_id, 301)]
    assert [d["status"] for d in emu.deliveries() if d.get("url", "").startswith(f"http://127.0.0.1:{port}/")] == ["delivered"]


def test_the_inbox_keeps_a_listing_s_order_and_the_first_of_an_event_listed_twice(tmp_path: Path) -> None:
    from clicksend_sql.catalog import load_catalog
    from clicksend_sql.listen.events import INBOUND
    from clicksend_sql.listen.inbox import Inbox
    from clicksend_sql.listen.webhook import events_of

    table = load_catalog().table("InboundSMS")
    listed = [("C", "first"), ("A", "second"), ("B", "third"), ("A", "again")]  # not in MessageId order; A twice
    rows = events_of(table, "POST", b"", "application/json", orjson.dumps(
        [{"message_id": m, "from": "+61411111111", "body": b, "timestamp": 1764800000} for m, b in listed]))
    with duckdb.connect(str(tmp_path / "state.duckdb")) as db:
        inbox = Inbox(db, INBOUND, table)
        assert (inbox.put(rows), inbox.put(rows)) == (3, 0)  # the second listing adds nothing
        pending = inbox.pending()
        assert pending.select(["MessageId", "Body"]).to_pylist() == [
            {"MessageId": "C", "Body": "first"}, {"MessageId": "A", "Body": "second"}, {"MessageId": "B", "Body": "third"}]
        inbox.finish(["C", "A"])
        assert inbox.put(rows) == 0 and inbox.pending().column("MessageId").to_pylist() == ["B"]
        assert inbox.processed() == 2
        inbox.close()


def test_a_redelivery_racing_the_finish_of_its_first_delivery_is_dropped(tmp_path: Path) -> None:
    """A webhook sender's retry that lands while the batch holding its first delivery is being
    finished (CI saw the statement run twice for one message): the finish is made to run the
    moment the redelivery's put first lets go of the inbox's lock, and the event is not queued again."""
    from clicksend_sql.catalog import load_catalog
    from clicksend_sql.listen.events import INBOUND
    from clicksend_sql.listen.inbox import Inbox
    from clicksend_sql.listen.webhook import events_of

    table = load_catalog().table("InboundSMS")
    event = events_of(table, "POST", b"", "application/json", orjson.dumps(
        {"message_id": "F1", "from": "+61411111111", "body": "hi", "timestamp": 1764800000}))

    class FinishOnRelease:
        """The inbox's lock, running ``then`` once, right after its first release."""

        def __init__(self, lock: Any, then: Callable[[], None]) -> None:
            self.lock, self.then = lock, then

        def __enter__(self) -> None:
            self.lock.acquire()

        def __exit__(self, *exc_info: object) -> None:
            self.lock.release()
            then, self.then = self.then, lambda: None
            then()

    with duckdb.connect(str(tmp_path / "state.duckdb")) as db:
        inbox = Inbox(db, INBOUND, table)
        assert inbox.put(event) == 1 and inbox.pending().num_rows == 1  # the first delivery, handed over
        lock = inbox._lock
        inbox._lock = FinishOnRelease(lock, lambda: inbox.finish(["F1"]))  # type: ignore[assignment]
        inbox.put(event)  # the redelivery
        inbox._lock = lock
        assert inbox.processed() == 1 and inbox.pending().num_rows == 0, "F1 was queued again after it was done"
        inbox.close()


def test_webhooks_arriving_together_are_stored_together_and_each_answered_after() -> None:
    from clicksend_sql.catalog import load_catalog
    from clicksend_sql.listen.webhook import WebhookApp

    stored: list[list[str]] = []

    def accept(events: pa.Table) -> None:
        stored.append(events.column("MessageId").to_pylist())
        if len(stored) == 1:
            raise RuntimeError("the disk is full")

    app = WebhookApp(load_catalog().table("InboundSMS"), "token", accept)

    async def post(message_id: str) -> int:
        scope = {"type": "http", "path": "/token", "method": "POST", "query_string": b"",
                 "headers": [(b"content-type", b"application/x-www-form-urlencoded")]}
        answers: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"body": f"message_id={message_id}&from=%2B61411111111&body=hi".encode(), "more_body": False}

        async def send(message: dict[str, object]) -> None:
            answers.append(message)

        try:
            await app(scope, receive, send)  # type: ignore[arg-type]
        except RuntimeError:
            return 500  # what the server answers for an app's exception
        return int(answers[0]["status"])  # type: ignore[call-overload]

    async def burst() -> list[int]:
        return list(await asyncio.gather(*(post(f"M{i}") for i in range(5))))

    assert asyncio.run(burst()) == [500] * 5  # the group's store failed: none is answered 200
    assert asyncio.run(burst()) == [200] * 5
    assert stored == [[f"M{i}" for i in range(5)]] * 2  # one call to accept per group, not one per request


def test_webhook_mode_takes_clicksend_s_calls_and_refuses_the_rest(emu: Emulator, con: Connection) -> None:
    port = free_port()
    with con.listen(KEEP, public_url=f"http://127.0.0.1:{port}", port=port, interval=5) as listener:
        assert listener.url is not None
        [(action, address, *_)] = rules(con)
        assert action == "URL" and address == listener.url  # the token is in the registered URL
        emu.inbound(from_="+61411111111", to="+61480000000", body="pushed", custom_string="")
        until(lambda: listener.stats.processed == 1)
        token_url = listener.url
        base = token_url.rsplit("/", 1)[0]
        with httpx.Client(timeout=10) as http:
            assert http.post(base + "/wrong", data={"message_id": "X"}).status_code == 403
            assert http.post(token_url, data={"from": "+6141"}).status_code == 400
            assert http.post(token_url, content=b"{", headers={"content-type": "application/json"}).status_code == 400
            form = http.post(token_url, data={"message_id": "F1", "from": "+61400000001", "body": "form", "custom_string": "",
                                              "timestamp": "1764800000"})
            query = http.get(token_url, params={"message_id": "G1", "from": "+61400000002", "body": "get",
                                                "timestamp": "1764800000"})
            again = http.post(token_url, json={"message_id": "F1", "from": "+61400000001", "body": "form"})  # a redelivery
        assert (form.status_code, query.status_code, again.status_code) == (200, 200, 200)
        until(lambda: listener.stats.processed == 3)
    assert rules(con) == []
    assert con.sql("SELECT Body, Custom FROM replies ORDER BY Body").fetchall() == [("form", ""), ("get", None), ("pushed", "")]
    assert emu.deliveries()[0]["status"] == "delivered"


def test_the_listen_command_survives_a_kill_and_processes_every_message_once(emu: Emulator, tmp_path: Path) -> None:
    database = tmp_path / "kept.duckdb"
    with duckdb.connect(str(database)) as db:
        db.sql(REPLIES)
    env = account_env(emu)
    argv = [str(SCRIPT), "listen", "--database", str(database), "--sql", KEEP, "--interval", "0.1"]

    def started() -> tuple[subprocess.Popen[str], list[int]]:
        """The command, and the messages it says it processed (read from its stderr as it runs)."""
        process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        assert "Listening" in process.stderr.readline()
        counts: list[int] = []
        lines: list[str] = []

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                lines.append(line)
                if line.endswith("message(s) processed\n"):
                    counts.append(int(line.split()[0]))

        threading.Thread(target=read, daemon=True).start()
        process.lines = lines  # type: ignore[attr-defined]
        return process, counts

    first, before_kill = started()
    for i in range(10):
        emu.inbound(from_=f"+614111111{i:02d}", to="+61480000000", body=f"m{i}")
    time.sleep(0.15)
    first.send_signal(signal.SIGKILL)  # no clean-up at all: somewhere mid-way
    first.wait(timeout=30)
    for i in range(10, 20):
        emu.inbound(from_=f"+614111111{i:02d}", to="+61480000000", body=f"m{i}")
    second, after = started()
    try:
        until(lambda: sum(before_kill) + sum(after) >= 20, timeout=20)  # at least once...
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert second.returncode == 0, "".join(second.lines)  # type: ignore[attr-defined]
    said = "".join(second.lines)  # type: ignore[attr-defined]
    assert "Stopped:" in said and emu.api_key not in said
    with duckdb.connect(str(database), read_only=True) as db:  # ...and none twice into the keyed table
        assert db.sql("SELECT count(*), count(DISTINCT MessageId) FROM replies").fetchall() == [(20, 20)]
    # the second start deleted the rule the killed run left (its state remembered it), and its
    # clean stop deleted its own: ClickSend keeps no rule of ours, and each was deleted once
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url) as check:
        assert rules(check) == []
    made = [r for r in emu.requests() if r.startswith("POST /v3/automations/sms/inbound")]
    deleted = [r for r in emu.requests() if r.startswith("DELETE /v3/automations/sms/inbound/")]
    assert len(made) == len(deleted) == 2 and len(set(deleted)) == 2, emu.requests()


def test_ctrl_c_stops_the_listen_command_and_deletes_its_rule(emu: Emulator, tmp_path: Path) -> None:
    env = account_env(emu)
    argv = [str(SCRIPT), "listen", "--state", str(tmp_path / "state.duckdb"), "--sql", "SELECT 1", "--interval", "0.1"]
    process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert "Listening" in process.stderr.readline()
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url) as check:
        assert len(rules(check)) == 1
        process.send_signal(signal.SIGINT)
        said = process.communicate(timeout=30)[1]
        assert process.returncode in (0, 130), said
        assert "Traceback" not in said and emu.api_key not in said
        assert rules(check) == []  # the rule it made is gone with it
