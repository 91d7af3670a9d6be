"""Streaming scans and pushdown across the statement (issue 11), asserted from the emulator's
request log: every statement of the issue's table at its minimum, DuckDB's own LIMIT stopping the
requests, a table read twice fetched once, and EXPLAIN saying what each decision costs.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator

HISTORY = 3000  # 30 pages
CONTACTS = 2000  # over the demo account's 20 lists


@pytest.fixture(scope="module")
def account() -> Iterator[Emulator]:
    with Emulator(seed=3, sizes={"sms-history": HISTORY, "contacts": CONTACTS}) as emu:
        yield emu


@pytest.fixture(scope="module")
def con(account: Emulator) -> Iterator[Connection]:
    """A fixed concurrency: the paging window (2 x 8 pages) bounds what a LIMIT only DuckDB decides
    lets through; with "auto" it follows the pace, which an unlimited emulator lets grow to 32."""
    with clicksend_sql.connect(account.username, account.api_key, base_url=account.base_url, concurrency=8) as connection:
        yield connection


@pytest.fixture(scope="module")
def baseline(account: Emulator) -> Iterator[Connection]:
    with clicksend_sql.connect(account.username, account.api_key, base_url=account.base_url, pushdown=False) as c:
        yield c


def requests_for(account: Emulator, con: Connection, sql: str) -> tuple[list[tuple[object, ...]], list[str]]:
    account.reset_stats()
    rows = con.sql(sql).fetchall()
    return rows, account.requests()


def test_limit_through_the_fan_out_reads_one_list_page_and_one_contacts_page(account: Emulator, con: Connection) -> None:
    rows, log = requests_for(account, con, "SELECT * FROM Contacts LIMIT 5")
    assert len(rows) == 5
    assert len(log) == 2 and log[0].startswith("GET /v3/lists?") and "/contacts?" in log[1], log


def test_count_of_a_fanned_out_table_comes_from_the_parent_rows(
    account: Emulator, con: Connection, baseline: Connection
) -> None:
    rows, log = requests_for(account, con, "SELECT count(*) FROM Contacts")
    assert log == ["GET /v3/lists?limit=100&page=1"]
    assert rows == baseline.sql("SELECT count(*) FROM Contacts").fetchall()
    # with a filter the parent's count does not apply: counted from the rows
    filtered, _ = requests_for(account, con, "SELECT count(*) FROM Contacts WHERE FirstName LIKE 'A%'")
    assert filtered == baseline.sql("SELECT count(*) FROM Contacts WHERE FirstName LIKE 'A%'").fetchall()


def test_equality_on_a_searchable_field_asks_the_search_first(
    account: Emulator, con: Connection, baseline: Connection
) -> None:
    rows, log = requests_for(account, con, "SELECT * FROM Contacts WHERE Email = 'nobody@example.invalid'")
    assert rows == [] and len(log) == 1 and log[0].startswith("GET /v3/search/contacts-lists?q=nobody%40example.invalid")
    email, phone = baseline.sql("SELECT Email, PhoneNumber FROM Contacts WHERE Email IS NOT NULL LIMIT 1").fetchone()
    for sql in (f"SELECT * FROM Contacts WHERE Email = '{email}'", f"SELECT * FROM Contacts WHERE PhoneNumber = '{phone}'"):
        found, log = requests_for(account, con, sql)
        assert sorted(found) == sorted(baseline.sql(sql).fetchall()) and found, sql
        assert log[0].startswith("GET /v3/search/contacts-lists?") and len(log) < 2 + 20 * 2, log  # not 2,000 rows' pages


def test_order_by_and_limit_over_a_rough_filter_is_one_request(
    account: Emulator, con: Connection, baseline: Connection
) -> None:
    sql = "SELECT Date FROM SMSHistory WHERE Status = 'Failed' ORDER BY Date DESC LIMIT 10"
    rows, log = requests_for(account, con, sql)
    assert len(log) == 1 and "q=status%3AFailed" in log[0] and "order_by=date%3Adesc" in log[0], log
    assert rows == baseline.sql(sql).fetchall()


def test_a_bound_from_a_local_table_is_evaluated_first_and_pushed(account: Emulator, con: Connection) -> None:
    con.sql("CREATE OR REPLACE TABLE my_local_copy AS SELECT * FROM SMSHistory")
    rows, log = requests_for(account, con, "SELECT * FROM SMSHistory WHERE Date > (SELECT max(Date) FROM my_local_copy)")
    assert rows == [] and len(log) == 1 and "date_from=" in log[0], log  # nothing new: one request
    con.sql("CREATE OR REPLACE TABLE full_copy AS SELECT * FROM my_local_copy")
    con.sql("DELETE FROM my_local_copy WHERE Date > (SELECT min(Date) + INTERVAL 1 DAY FROM my_local_copy)")
    sql = "SELECT count(*) FROM {} WHERE Date > (SELECT max(Date) FROM my_local_copy)"
    newer, log = requests_for(account, con, sql.format("SMSHistory"))
    assert newer == con.sql(sql.format("full_copy")).fetchall() and "date_from=" in log[0]


def test_a_bound_from_a_local_table_is_computed_once_before_the_statement(account: Emulator, con: Connection) -> None:
    """Planning checks the bound's type, range and exactness; the subquery behind it runs once for all
    of those (then once more inside the statement itself), not once per check (it was three times)."""
    calls: list[int] = []
    con.duckdb.create_function("counted_bound", lambda d: calls.append(1) or d, ["TIMESTAMPTZ"], "TIMESTAMPTZ")
    try:
        con.sql("CREATE OR REPLACE TABLE one_bound AS SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' AS d")
        bound = "(SELECT max(counted_bound(d)) FROM one_bound)"
        con.duckdb.sql(f"SELECT {bound}").fetchall()
        once = len(calls)  # what one run of the subquery costs (DuckDB calls a Python function twice a row)
        calls.clear()
        rows, log = requests_for(account, con, f"SELECT * FROM SMSHistory WHERE Date > {bound}")
        assert "date_from=" in log[0] and len(calls) == 2 * once, (log, calls)
    finally:
        con.duckdb.remove_function("counted_bound")


def test_a_limit_duckdb_satisfies_stops_the_requests() -> None:
    """lower() cannot be pushed, so only DuckDB knows when it has 5 rows: it stops reading, the
    feed stops its producer, and closing the statement cancels what is in flight. The pages come
    slowly (250 ms, two at a time: 30 pages would take 4 s), so DuckDB has its rows long before
    the table is read, however loaded the machine (at latency 0 a loaded machine let the I/O
    thread fetch all 30 pages before DuckDB read the first)."""
    with Emulator(seed=4, sizes={"sms-history": HISTORY}, latency_ms=250) as slow, clicksend_sql.connect(
        slow.username, slow.api_key, base_url=slow.base_url, rate_limit=None, concurrency=2, cache_ttl=0
    ) as con:
        rows, log = requests_for(slow, con, "SELECT * FROM SMSHistory WHERE lower(Body) LIKE '%a%' LIMIT 5")
    assert len(rows) == 5
    # page 1, then the window of two slots (4 pages) started as page 1 arrived, a few more as they came
    assert len(log) <= 10, log


def test_a_table_read_twice_is_fetched_once(account: Emulator, con: Connection, baseline: Connection) -> None:
    pages = math.ceil(HISTORY / 100)
    for sql in (
        "SELECT count(*) FROM SMSHistory a JOIN SMSHistory b USING (MessageId)",
        "WITH h AS (SELECT * FROM SMSHistory) SELECT count(*) FROM h x JOIN h y USING (MessageId)",
        "SELECT count(*) FROM SMSHistory WHERE MessageId IN (SELECT MessageId FROM SMSHistory WHERE Status = 'Sent')",
    ):
        rows, log = requests_for(account, con, sql)
        assert rows == [(HISTORY,)] or rows == baseline.sql(sql).fetchall(), sql
        assert len(log) == pages, (sql, len(log))


def test_progress_and_statistics_while_streaming(account: Emulator, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    with clicksend_sql.connect(
        account.username, account.api_key, base_url=account.base_url, progress=lambda p: seen.append((p.pages, p.rows))
    ) as con:  # a file of its own: DuckDB locks what it copies to, /dev/null included, against other processes
        con.sql(f"COPY (SELECT * FROM SMSHistory) TO '{tmp_path / 'h.csv'}' (FORMAT csv)")
        stats = con.last_stats
    assert stats.requests == math.ceil(HISTORY / 100) and stats.rows_fetched == {"SMSHistory": HISTORY}
    assert seen[-1] == (math.ceil(HISTORY / 100), HISTORY) and len(seen) > 2


def test_explain_says_what_each_decision_costs(con: Connection) -> None:
    def explained(sql: str) -> dict[str, object]:
        return con.sql("EXPLAIN " + sql).arrow().to_pylist()[0]

    assert "until 5 rows" in str(explained("SELECT * FROM Contacts LIMIT 5")["expected_requests"])
    count = explained("SELECT count(*) FROM Contacts")
    assert count["mode"] == "count" and "ContactsCount" in str(count["expected_requests"])
    search = explained("SELECT * FROM Contacts WHERE Email = 'a@b.c'")
    assert "search q=a@b.c" in str(search["params"]) and "1 search" in str(search["expected_requests"])
    rough = explained("SELECT * FROM SMSHistory WHERE Status = 'Failed' ORDER BY Date DESC LIMIT 10")
    assert rough["limit"] == 10 and "pages in order until 10 rows pass" in str(rough["expected_requests"])
    con.sql("CREATE OR REPLACE TABLE my_bound AS SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' AS d")
    bound = explained("SELECT * FROM SMSHistory WHERE Date > (SELECT max(d) FROM my_bound)")
    assert "evaluated first: 2026-01-01" in str(bound["pushed"]) and "date_from=" in str(bound["params"])
    # a bound no value of the column can equal (found by the differential test with random seeds)
    beyond = "SELECT * FROM ContactLists WHERE ContactsCount = (SELECT max(v) FROM (VALUES (99999999999999999999999)) x(v))"
    nothing = explained(beyond)
    assert "evaluated first: no value of the column" in str(nothing["pushed"])
    assert nothing["expected_requests"] == explained("SELECT * FROM Contacts WHERE false")["expected_requests"] == "none (no row can match)"
    assert con.sql(beyond).fetchall() == [] and con.last_stats.requests == 0


# --- the chunks a walk's pages are converted in -------------------------------------------------


class _Reader:
    """The feed as :func:`execution._chunks` sees it: whether a reader waits for rows."""

    def __init__(self, hungry: bool) -> None:
        self.hungry = hungry

    def hunger(self) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()  # as hungry as it was: never changes


def _chunked(script: list[float], *, hungry: bool | float = True, eager: bool = False, stop_after: int | None = None
             ) -> tuple[list[list[int]], list[int], bool, list[float]]:
    """Pages 1.. arriving after the pauses of ``script`` (seconds), chunked: the chunks' page
    numbers, the pages reported as they arrived, whether the walk was closed, and when each chunk
    went (seconds). ``hungry`` as a number: a real feed whose reader starts waiting then."""
    from clicksend_sql.execution import Feed, _chunks
    from clicksend_sql.http import ApiResponse

    closed = False

    async def pages() -> Any:
        nonlocal closed
        try:
            for number, pause in enumerate(script, start=1):
                await asyncio.sleep(pause)
                yield ApiResponse(200, b"{}", httpx.Headers(), "GET", "/sms/history", page=number)
        finally:
            closed = True

    async def read_after(feed: Feed, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await feed.read(0)  # nothing is put: it waits, hungry, until cancelled

    async def main() -> tuple[list[list[int]], list[int], list[float]]:
        arrived: list[int] = []
        chunks: list[list[int]] = []
        times: list[float] = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        feed = _Reader(hungry) if isinstance(hungry, bool) else Feed(pa.schema([]), 1)
        reader = asyncio.ensure_future(read_after(feed, hungry)) if isinstance(feed, Feed) else None
        walk = pages()
        async with aclosing(walk), aclosing(_chunks(walk, feed, eager=eager,  # type: ignore[arg-type]
                                                    arrived=lambda page: arrived.append(page.page))) as gathered:
            async for chunk in gathered:
                chunks.append([page.page for page in chunk])
                times.append(loop.time() - started)
                if stop_after is not None and len(chunks) == stop_after:
                    break
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        return chunks, arrived, times

    chunks, arrived, times = asyncio.run(main())
    return chunks, arrived, closed, times


def test_pages_arriving_together_are_converted_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """While rows are awaited a page waits CHUNK_SECONDS for others (converting each alone cost
    twice the CPU), and no longer: a slow next page does not hold it back."""
    monkeypatch.setattr("clicksend_sql.execution.CHUNK_SECONDS", 0.3)
    chunks, arrived, closed, _ = _chunked([0, 0, 0, 1.0, 0])
    assert chunks == [[1, 2, 3], [4, 5]] and arrived == [1, 2, 3, 4, 5] and closed
    assert _chunked([0], hungry=True)[0] == [[1]]  # a one-page walk waits for nothing
    assert _chunked([0, 0, 0], eager=True)[0] == [[1], [2], [3]]  # rows counted against a LIMIT: at once
    assert _chunked([0, 0, 0.4, 0], hungry=False)[0] == [[1, 2, 3, 4]]  # a busy reader: pages gather


def test_pages_gathered_while_the_reader_was_busy_go_when_it_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not when the next page comes, which at a slow pace is a second or more away."""
    monkeypatch.setattr("clicksend_sql.execution.CHUNK_SECONDS", 0.1)
    chunks, _, _, times = _chunked([0, 3.0], hungry=0.5)
    assert chunks == [[1], [2]] and 0.5 <= times[0] < 2.0 and times[1] >= 3.0


def test_a_walk_stopped_while_a_page_is_awaited_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("clicksend_sql.execution.CHUNK_SECONDS", 0.1)
    chunks, arrived, closed, _ = _chunked([0, 0.5, 30], stop_after=2)
    assert chunks == [[1], [2]] and arrived == [1, 2] and closed
