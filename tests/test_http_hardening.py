"""Failure handling of the HTTP layer end to end, through ``clicksend_sql.connect`` over real HTTP.

Three kinds of server: the emulator injecting faults (statements must stay exact with the default
retry policy), a scripted one (the retry policy: what counts as an attempt, when it stops, what
the error says), and a hostile one answering bodies drawn by hypothesis (HTML, empty, truncated,
random JSON, wrong envelopes, envelopes echoing the API key, wrong paginator types). Whatever it
answers, a statement ends in a result or a ``ClickSendSQLError``, in bounded time, and the key
appears nowhere. The same holds for random parameters and statement text against the emulator.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import (
    ClickSendSQLError,
    DeadlineError,
    InvalidResponseError,
    RateLimitError,
    ServerError,
    TransportError,
)

USER = "hostile-user"
KEY = "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
TOKEN = base64.b64encode(f"{USER}:{KEY}".encode()).decode()
HANG_GUARD_S = 60.0  # generous: a statement bounded by a 1 s deadline never comes near it
STATEMENTS = (
    "SELECT * FROM SMSHistory",  # page-style pagination
    "SELECT * FROM ContactLists WHERE ListId = 5",  # one object
    "SELECT count(*) FROM SMSHistory",  # the paginator's total
    "SELECT * FROM OwnNumbers",  # cursor pagination without an envelope
    "SELECT * FROM DefaultSenders",  # cursor pagination inside the envelope
)
TODAY = dt.date(2026, 1, 1)


def bounded(run: Callable[[], Any]) -> Any:
    """``run()`` in a worker thread, failing the test instead of hanging it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=HANG_GUARD_S)


def outcome(con: Connection, text: str, params: Any = None) -> Any:
    """The rows of a statement, or the ClickSendSQLError it raised; any other exception propagates."""
    try:
        return bounded(lambda: con.sql(text, params).fetchall())
    except ClickSendSQLError as exc:
        return exc


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """An exception and every cause or context behind it."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def assert_no_secret(got: Any) -> None:
    texts = [repr(got)]
    if isinstance(got, BaseException):
        texts += [str(e) for e in chain(got)] + [repr(getattr(got, "data", None))]
    for text in texts:
        assert KEY not in text and TOKEN.rstrip("=") not in text, text


# --- a scripted HTTP server --------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One scripted response; ``drop`` hangs up without answering, ``delay`` sleeps first."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    reason: str | None = None
    drop: bool = False
    delay: float = 0.0


@dataclass
class Script:
    """Answers served in order, the last one repeated; requests seen, as request lines."""

    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def next(self, request_line: str) -> Answer:
        with self.lock:
            self.seen.append(request_line)
            return self.answers[min(len(self.seen), len(self.answers)) - 1]


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True
    script = Script()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v3"

    def play(self, *answers: Answer) -> Script:
        self.script.stop.set()  # release a delayed answer of the previous script
        self.script = Script(list(answers))
        return self.script

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that cancelled its request (the statement ended) closed the socket: not news."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_GET(self) -> None:
        script = self.server.script
        answer = script.next(self.requestline)
        if answer.delay:
            script.stop.wait(answer.delay)
        if answer.drop:
            self.close_connection = True
            return
        self.send_response(answer.status, answer.reason)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    httpd = ScriptedServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.script.stop.set()
    httpd.shutdown()
    httpd.server_close()


def connect_to(server: ScriptedServer, **policy: Any) -> Connection:
    return clicksend_sql.connect(USER, KEY, base_url=server.base_url, rate_limit=None, **policy)


def envelope(data: Any, status: int = 200, msg: str = "Here are your data.") -> bytes:
    code = "SUCCESS" if status == 200 else "ERROR"
    return json.dumps({"http_code": status, "response_code": code, "response_msg": msg, "data": data}).encode()


def page(current: int, last: int, rows: list[Any], total: Any = None) -> bytes:
    return envelope({"total": len(rows) if total is None else total, "per_page": 100, "current_page": current,
                     "last_page": last, "data": rows})


LIST_5 = Answer(body=envelope({"list_id": 5, "list_name": "VIP"}))


# --- the emulator's faults: exact answers with the default policy ----------------------------


def test_default_policy_keeps_statements_exact_at_20_percent_faults() -> None:
    sizes = {"sms-history": 1200, "contacts": 300}
    statements = ("SELECT * FROM SMSHistory ORDER BY MessageId",
                  "SELECT ListId, count(*), min(ContactId) FROM Contacts GROUP BY ALL ORDER BY ListId")
    with Emulator(seed=7, sizes=sizes, today=TODAY) as clean, clicksend_sql.connect(
        clean.username, clean.api_key, base_url=clean.base_url, rate_limit=None
    ) as con:
        expected = [con.sql(s).fetchall() for s in statements]
    with Emulator(seed=7, sizes=sizes, today=TODAY, fault_rate=0.2) as faulty, clicksend_sql.connect(
        faulty.username, faulty.api_key, base_url=faulty.base_url, rate_limit=None
    ) as con:
        for statement, rows in zip(statements, expected, strict=True):
            assert bounded(lambda: con.sql(statement).fetchall()) == rows
            assert con.last_stats.retries > 0
    assert len(expected[0]) == 1200 and len(expected[1]) > 1


# --- the retry policy ----------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_out_without_counting_as_an_attempt(server: ScriptedServer) -> None:
    busy = Answer(429, envelope(None, 429, "Too many requests"), (("Retry-After", "0.05"),))
    script = server.play(busy, busy, busy, LIST_5)
    with connect_to(server, retries=0, deadline=10) as con:
        assert con.sql(STATEMENTS[1]).fetchall()[0][:2] == (5, "VIP")
        assert con.last_stats.rate_limited == 3 and con.last_stats.retries == 3
    assert len(script.seen) == 4


def test_429_without_retry_after_counts_as_a_failed_attempt(server: ScriptedServer) -> None:
    server.play(Answer(429, envelope(None, 429, "Too many requests")), LIST_5)
    with connect_to(server, retries=0, deadline=10) as con, pytest.raises(RateLimitError) as info:
        con.sql(STATEMENTS[1])
    assert "GET /lists/5" in str(info.value) and "after 1 attempt " in str(info.value)


def test_retry_after_beyond_the_deadline_fails_at_once_naming_the_deadline(server: ScriptedServer) -> None:
    script = server.play(Answer(429, envelope(None, 429, "Slow down"), (("Retry-After", "30"),)))
    with connect_to(server, retries=5, deadline=2) as con, pytest.raises(RateLimitError) as info:
        bounded(lambda: con.sql(STATEMENTS[1]))
    assert "after 1 attempt (no time left in its 2 s deadline)" in str(info.value) and "Slow down" in str(info.value)
    assert len(script.seen) == 1


@pytest.mark.parametrize(
    ("answer", "error", "last"),
    [
        (Answer(502, b"<html>Bad gateway</html>", reason="Bad Gateway"), ServerError, "HTTP 502 (Bad Gateway)"),
        (Answer(drop=True), TransportError, "RemoteProtocolError"),
    ],
)
def test_exhausted_retries_name_endpoint_attempts_and_last_outcome(
    server: ScriptedServer, answer: Answer, error: type[Exception], last: str
) -> None:
    script = server.play(answer)
    with connect_to(server, retries=2, deadline=30) as con, pytest.raises(error) as info:
        bounded(lambda: con.sql(STATEMENTS[1]))
    message = str(info.value)
    assert "GET /lists/5" in message and "after 3 attempts" in message and last in message, message
    assert len(script.seen) == 3
    assert error is ServerError or isinstance(info.value.__cause__, httpx.RemoteProtocolError)


def test_a_server_that_never_answers_is_cut_off_by_the_deadline(server: ScriptedServer) -> None:
    server.play(Answer(503, reason="Busy"), Answer(delay=HANG_GUARD_S, body=b"{}"))
    with connect_to(server, retries=3, deadline=1.5) as con, pytest.raises(DeadlineError) as info:
        bounded(lambda: con.sql(STATEMENTS[1]))
    message = str(info.value)
    assert "GET /lists/5" in message and "1.5 s deadline" in message and "2 attempts; last: HTTP 503" in message
    server.play()


def test_a_page_that_repeats_page_one_is_an_error_not_an_endless_scan(server: ScriptedServer) -> None:
    rows = [{"message_id": "m1", "body": "hi", "date": 1700000000}]
    server.play(Answer(body=page(1, 10**12, rows)))
    with connect_to(server, retries=0, deadline=5) as con, pytest.raises(InvalidResponseError) as info:
        bounded(lambda: con.sql(STATEMENTS[0]))
    assert "GET /sms/history (page " in str(info.value) and "is page 1, not the page asked for" in str(info.value)


MIXED = [{"message_id": "m2", "body": "a", "date": 1700000000}, {"message_id": "m3", "body": 7, "date": "1700000001"}]


@pytest.mark.parametrize(("second", "why"), [
    (page(1, 2, MIXED), "is page 1, not the page asked for"),  # types Arrow's reader refuses: the slow path's check
    (envelope({"current_page": 2, "last_page": 2, "data": {"rows": []}}),
     "is not a ClickSend page (no list of rows at data.data)"),
    (envelope({"current_page": 2, "last_page": 2}), "is not a ClickSend page (no list of rows at data.data)"),
    (envelope({"current_page": "two", "last_page": 2, "data": MIXED[:1]}), "has current_page = 'two', not a whole number"),
    (envelope({"last_page": 2, "data": MIXED[:1]}), "is a page without current_page"),
    (b"<html><body>502 Bad Gateway</body></html>", "is not JSON"),  # a proxy's page
    (b"null", "is not a ClickSend page (no list of rows at data.data)"),
])
def test_a_later_page_that_is_not_the_page_asked_for_is_an_error_naming_it(
    server: ScriptedServer, second: bytes, why: str
) -> None:
    """Later pages are checked as their rows are parsed (not parsed twice): in Arrow's reader, or
    in the slow path when it refuses their types; page 2 of two must be page 2, holding rows."""
    server.play(Answer(body=page(1, 2, [{"message_id": "m1", "body": "hi", "date": 1700000000}])), Answer(body=second))
    with connect_to(server, retries=0, deadline=5) as con, pytest.raises(InvalidResponseError) as info:
        bounded(lambda: con.sql(STATEMENTS[0]))
    assert "GET /sms/history (page 2)" in str(info.value) and why in str(info.value), str(info.value)


@pytest.mark.parametrize("body", [b"<html><body>502 Bad Gateway</body></html>", b"", b'{"http_code":200,', b"null"])
@pytest.mark.parametrize("statement", STATEMENTS[:2])
def test_a_body_that_is_not_json_is_an_invalid_response(server: ScriptedServer, body: bytes, statement: str) -> None:
    server.play(Answer(body=body, headers=(("Content-Type", "text/html"),)))
    with connect_to(server, retries=0, deadline=5) as con, pytest.raises(InvalidResponseError) as info:
        bounded(lambda: con.sql(statement))
    assert "GET /sms/history" in str(info.value) or "GET /lists/" in str(info.value)
    assert info.value.__cause__ is not None or body in (b"null", b"")  # parsed, but no page: nothing to chain


def test_the_key_echoed_by_a_server_is_masked_in_errors_and_results(server: ScriptedServer) -> None:
    echo = f"Invalid key {KEY} (Basic {TOKEN})"
    server.play(Answer(400, envelope({"api_key": [echo]}, 400, echo), reason=f"Bad {KEY}"))
    with connect_to(server, retries=0, deadline=5) as con:
        error = outcome(con, STATEMENTS[1])
        assert isinstance(error, ClickSendSQLError) and "Invalid key ****" in str(error)
        assert_no_secret(error)
        server.play(Answer(body=envelope({"list_id": 5, "list_name": echo})))
        rows = outcome(con, STATEMENTS[1])
        assert rows[0][1] == "Invalid key **** (Basic ****)"


# --- a hostile server: whatever it answers ----------------------------------------------------

counts = st.none() | st.integers(-3, 5) | st.sampled_from(
    [10**30, 2**63, 2**64 + 1, 1e300, 1.5, -1, "3", "abc", "", "٣", "²", "9" * 40, True, [], {}]
)
scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
    | st.sampled_from([KEY, TOKEN, f"key={KEY}", "1700000000", "2026-01-01T00:00:00Z"])
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
row_fields = st.sampled_from(["message_id", "date", "body", "to", "status", "list_id", "list_name", "message_price"])
rows = st.lists(st.dictionaries(row_fields, scalars, max_size=5) | json_values, max_size=3)


@st.composite
def paginators(draw: st.DrawFn) -> bytes:
    data = {name: draw(counts) for name in ("total", "per_page", "current_page", "last_page")}
    data["data"] = draw(rows | json_values)
    kept = draw(st.sets(st.sampled_from(sorted(data))))
    return envelope({k: v for k, v in data.items() if k in kept or draw(st.booleans())})


links = st.sampled_from([None, "", 5, [], "http://[", "http://h:99999/x?offset=2", "/v3/own-numbers?offset=b", "c"])
cursor_pages = st.builds(
    lambda r, link, shape: json.dumps(
        {"own_numbers": r, "_metadata": {"pagination": {"next": link}}} if shape else
        {"http_code": 200, "response_code": "SUCCESS", "data": {"data": r, "next_page_url": link}}
    ).encode(),
    rows | json_values, links, st.booleans(),
)
valid_pages = st.builds(lambda r: page(1, 1, r), rows)
bodies = st.one_of(
    st.sampled_from([b"", b"null", b"[]", b"{}", b"<html><body>502 Bad Gateway</body></html>",
                     f"<html>Unauthorized: {KEY}</html>".encode()]),
    st.builds(lambda b, n: b[:n], valid_pages, st.integers(0, 120)),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["error", "message", "data", "http_code", "response_msg"]), json_values)
    .map(lambda v: json.dumps(v).encode()),
    st.builds(lambda d, m: envelope(d, 400, m), json_values,
              st.sampled_from(["bad", f"Bad key {KEY}", f"Basic {TOKEN}"])),
    st.builds(lambda r: envelope({"list_id": 5, "list_name": r}), scalars),
    paginators(),
    valid_pages,
    cursor_pages,
)
answers = st.builds(
    Answer,
    status=st.sampled_from([200] * 8 + [400, 401, 403, 404, 429, 500, 502]),
    body=bodies,
    # no long Retry-After: one connection serves every example, and it would pause them all
    headers=st.sampled_from([(), (("Retry-After", "0.01"),), (("Retry-After", "soon"),), (("ratelimit-reset", "0"),),
                             (("Content-Type", "text/html"),)]),
    reason=st.sampled_from([None, "Bad Gateway", f"Denied {KEY}"]),
    drop=st.integers(0, 9).map(lambda n: n == 0),
)
HOSTILE = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def hostile_con(server: ScriptedServer) -> Iterator[Connection]:
    """Small retries and deadline bound every statement; creating a connection per example would
    cost more than the statement."""
    with connect_to(server, retries=1, deadline=0.5) as con:
        yield con


@pytest.mark.parametrize("statement", STATEMENTS)
@HOSTILE
@given(script=st.lists(answers, min_size=1, max_size=4))
# count(*) reads `total` outside the HTTP layer (execution.Executor._count): found by this test
@example(script=[Answer(body=envelope([1, 2]))])
@example(script=[Answer(body=envelope({"total": "abc"}))])
@example(script=[Answer(body=envelope({"total": 1e300}))])
@example(script=[Answer(body=envelope({"total": "²"}))])  # str.isdigit() is true, int() refuses it
def test_whatever_a_server_answers_a_statement_ends_in_a_result_or_our_error(
    server: ScriptedServer, hostile_con: Connection, statement: str, script: list[Answer]
) -> None:
    server.play(*script)
    assert_no_secret(outcome(hostile_con, statement))


# --- random parameters and statement text against the emulator --------------------------------


class Opaque:
    """An object DuckDB knows nothing about."""

    def __repr__(self) -> str:
        return "Opaque()"


def numpy_scalars() -> st.SearchStrategy[Any]:
    try:
        import numpy as np
    except ImportError:
        return st.nothing()
    return st.builds(lambda t, v: t(v), st.sampled_from([np.int64, np.float32, np.float64, np.bool_, np.int8]),
                     st.integers(-100, 100)) | st.sampled_from([np.float64("nan"), np.datetime64("2026-01-01")])


parameter_scalars = st.one_of(
    st.none(), st.booleans(), st.text(max_size=10), st.binary(max_size=10), st.floats(),
    st.integers(-(2**100), 2**100), st.decimals(allow_nan=True, allow_infinity=True), st.uuids(),
    st.datetimes(timezones=st.none() | st.timezones()), st.dates(), st.times(timezones=st.none() | st.timezones()),
    st.timedeltas(), st.builds(Opaque), st.builds(object), numpy_scalars(),
    st.sampled_from([Decimal("NaN"), Decimal("-Infinity"), math.inf, uuid.UUID(int=5), 5, "5"]),
)
parameters = st.recursive(
    parameter_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    | st.frozensets(st.integers() | st.text(max_size=5), max_size=3) | st.sets(st.integers(), max_size=3),
    max_leaves=5,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(value=parameters, statement=st.sampled_from(["SELECT * FROM ContactLists WHERE ListId = ?", "SELECT ?"]))
# a time whose zone has no fixed offset (utcoffset() is None): found by this test
@example(value=dt.time(0, tzinfo=ZoneInfo("Europe/Paris")), statement="SELECT ?")
@example(value=dt.time(0, tzinfo=ZoneInfo("Europe/Paris")), statement="SELECT * FROM ContactLists WHERE ListId = ?")
def test_any_parameter_gives_a_result_or_our_error(con: Connection, value: Any, statement: str) -> None:
    outcome(con, statement, [value])


FRAGMENTS = [
    "SELECT", "*", "FROM", "SMSHistory", "ContactLists", "Contacts", "WHERE", "ListId", "MessageId", "=", "<",
    "?", "$1", ":n", "(", ")", ",", "1", "-1", "'x'", "NULL", "LIMIT", "ORDER BY", "GROUP BY", "count(*)",
    "JOIN", "ON", "UNION", "AS", "CAST(", "INTEGER", "EXPLAIN", "WITH", "t", "IN", "AND", "OR", "NOT", ";",
    "--", "/*", "*/", "\"", "'", "DESCRIBE", "CREATE TABLE", "DROP TABLE", "INSERT INTO", "VALUES", "sys_tables",
]


@FUZZ
@given(text=st.text(max_size=40) | st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join))
@example(text="EXPLAIN")  # a bare EXPLAIN or CALL: found by this test
@example(text="CALL")
def test_any_statement_text_gives_a_result_or_our_error(local_con: Connection, text: str) -> None:
    outcome(local_con, text)


WRITE_FRAGMENTS = [
    "INSERT INTO", "OR REPLACE", "UPDATE", "DELETE", "FROM", "SET", "WHERE", "Contacts", "SMSHistory", "ContactLists",
    "FirstName", "ListId", "Email", "=", "'x'", "1401", "VALUES", "(", ")", ",", "DEFAULT VALUES", "BY NAME", "SELECT",
    "*", "ON CONFLICT", "(Email)", "DO NOTHING", "DO UPDATE", "RETURNING", "USING", "EXPLAIN", "?", "WITH x AS (SELECT 1)",
]


@pytest.fixture(scope="module")
def dry_con(emulator: Emulator) -> Iterator[Connection]:
    """Writes planned and shown, never sent: the fuzz below must not change the shared emulator."""
    with clicksend_sql.connect(emulator.username, emulator.api_key, base_url=emulator.base_url, rate_limit=None,
                               dry_run=True) as connection:
        yield connection


@FUZZ
@given(text=st.lists(st.sampled_from(WRITE_FRAGMENTS), min_size=1, max_size=10).map(" ".join))
# incomplete writes sqlglot parses: AttributeErrors, or an UPDATE of every row that set nothing (found by the fuzz above)
@example(text="INSERT INTO SMSHistory")
@example(text="UPDATE Contacts")
@example(text="DELETE Contacts WHERE ListId = 1401")
def test_any_write_text_gives_a_result_or_our_error(dry_con: Connection, text: str) -> None:
    outcome(dry_con, text)
