"""A connection's cache of ClickSend's answers (issue 23 §2): a query repeated within the TTL makes
no request, the connection's own writes make the next read fresh, a statement can bypass it,
writes always read fresh rows, memory stays within the cap; judged by the emulator's request log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ConfigurationError

from conftest import api_client, ok

SCRIPT = Path(sys.executable).with_name("clicksend-sql")
FAILED = "SELECT MessageId, Status FROM SMSHistory WHERE Status = 'Failed' ORDER BY MessageId"
LIST = 1401


@pytest.fixture(scope="module")
def account() -> Iterator[Emulator]:
    """An account of this module's own: tests change contacts behind the connection's back."""
    with Emulator(seed=11, sizes={"contacts": 200, "sms-history": 600}) as emu:
        yield emu


def _connect(account: Emulator, **options: Any) -> Connection:
    return clicksend_sql.connect(account.username, account.api_key, base_url=account.base_url, rate_limit=None,
                                 **{"cache_ttl": 300, **options})


def _gets(account: Emulator) -> list[str]:
    return [r for r in account.requests() if r.startswith("GET")]


def test_a_query_run_again_makes_no_request(account: Emulator) -> None:
    with _connect(account) as con:
        account.reset_stats()
        first = con.sql(FAILED)
        fetched = len(account.requests())
        again = con.sql(FAILED)
    assert fetched >= 1 and len(account.requests()) == fetched  # nothing asked the second time
    assert again.fetchall() == first.fetchall() and len(first) > 0
    assert (first.stats.requests, first.stats.cached) == (fetched, 0)
    assert (again.stats.requests, again.stats.cached) == (0, fetched)


def test_every_page_of_a_scan_comes_from_the_cache(account: Emulator) -> None:
    with _connect(account) as con:
        con.sql("SELECT Status, count(*) FROM SMSHistory GROUP BY ALL")
        account.reset_stats()
        again = con.sql("SELECT Status, count(*) FROM SMSHistory GROUP BY ALL")
    assert account.requests() == [] and again.stats.cached >= 6  # 600 rows: 6 pages of 100


def test_pages_expire_after_the_ttl(account: Emulator) -> None:
    with _connect(account, cache_ttl=0.3) as con:
        con.sql(FAILED)
        time.sleep(0.5)
        account.reset_stats()
        assert con.sql(FAILED).stats.requests >= 1 and account.requests()


def test_a_ttl_of_zero_keeps_nothing(account: Emulator) -> None:
    with _connect(account, cache_ttl=0) as con:
        con.sql(FAILED)
        account.reset_stats()
        assert con.sql(FAILED).stats.cached == 0 and account.requests()
        assert con.sql(f"EXPLAIN {FAILED}").fetchall()[0][-1] == "off"


@pytest.mark.parametrize("how", ["hint", "argument", "setting"])
def test_a_statement_can_bypass_the_cache(account: Emulator, how: str) -> None:
    with _connect(account) as con:
        con.sql(FAILED)
        account.reset_stats()
        if how == "hint":
            result = con.sql(FAILED.replace("SELECT", "SELECT /*+ no_cache */"))
        elif how == "argument":
            result = con.sql(FAILED, cache=False)
        else:
            con.use_cache = False
            result = con.cursor().sql(FAILED)  # the setting reaches the session's cursors too
    assert result.stats.cached == 0 and result.stats.requests >= 1 and account.requests()


def test_the_connections_own_write_makes_the_next_read_fresh(account: Emulator) -> None:
    with _connect(account) as con:
        before = con.sql(f"SELECT count(*) FROM Contacts WHERE ListId = {LIST}").fetchone()[0]
        counted = con.sql(f"SELECT ContactsCount FROM ContactLists WHERE ListId = {LIST}").fetchone()[0]
        con.sql(f"INSERT INTO Contacts (ListId, PhoneNumber, FirstName) VALUES ({LIST}, '+61411100401', 'Fresh')")
        account.reset_stats()
        after = con.sql(f"SELECT count(*) FROM Contacts WHERE ListId = {LIST}")
        listed = con.sql(f"SELECT ContactsCount FROM ContactLists WHERE ListId = {LIST}").fetchone()[0]
    assert after.fetchone()[0] == before + 1 and after.stats.cached == 0 and _gets(account)
    assert listed == counted + 1  # another table the write changed is fresh too


def test_a_write_reads_fresh_rows_whatever_the_cache_holds(account: Emulator) -> None:
    """A contact renamed behind the connection's back is updated by a WHERE on its new name,
    though a cached read still shows the old one."""
    with _connect(account) as con, api_client(account) as client:
        first = f"SELECT ContactId, FirstName FROM Contacts WHERE ListId = {LIST} ORDER BY ContactId LIMIT 1"
        contact_id, name = con.sql(first).fetchone()
        ok(client.put(f"/lists/{LIST}/contacts/{contact_id}", json={"first_name": "Renamed"}))
        assert con.sql(first).fetchone() == (contact_id, name) != (contact_id, "Renamed")  # the cache's old page
        changed = con.sql(f"UPDATE Contacts SET LastName = 'Cached' WHERE ListId = {LIST} AND FirstName = 'Renamed'")
        assert changed.rowcount == 1
        row = ok(client.get(f"/lists/{LIST}/contacts/{contact_id}"))
    assert row["last_name"] == "Cached"


def test_memory_stays_within_the_cap(account: Emulator) -> None:
    scan = "SELECT Status, count(*) FROM SMSHistory GROUP BY ALL"
    with _connect(account, cache_size_mb=0.2) as con:  # 200 KiB: a few of its six pages (about 60 KiB each)
        con.sql(scan)
        cache = con._engine.client.cache
        assert cache is not None and 0 < cache.bytes <= 0.2 * 1024 * 1024
        account.reset_stats()
        again = con.sql(scan)
    assert again.stats.requests >= 1 and again.stats.cached >= 1  # the oldest pages went, the newest stayed


def test_a_scan_larger_than_half_the_cache_keeps_only_its_first_page(account: Emulator) -> None:
    """Kept, a 1,000,000-row scan would hold the whole cache (128 MB) and a re-run would still miss
    every page, least recently used going first; the result cache must not cost a COPY its memory."""
    scan = "SELECT Status, count(*) FROM SMSHistory GROUP BY ALL"
    with _connect(account, cache_size_mb=0.3) as con:  # 300 KiB: its six pages (about 60 KiB each) are more than half
        first = con.sql(scan)
        cache = con._engine.client.cache
        assert cache is not None and len(cache) == 1 and cache.bytes < 100 * 1024
        again = con.sql(scan)
        assert (first.stats.requests, again.stats.requests, again.stats.cached) == (6, 5, 1)
        con.sql("SELECT * FROM ContactLists")  # a walk within half the cache is kept whole
        assert con.sql("SELECT * FROM ContactLists").stats.requests == 0
        # two of the six pages (page 1 is kept already): a walk is judged by the pages it reads
        limited = "SELECT MessageId FROM SMSHistory LIMIT 150"
        assert (con.sql(limited).stats.requests, con.sql(limited).stats.requests) == (1, 0)


def test_explain_says_whether_a_table_comes_from_the_cache(account: Emulator) -> None:
    with _connect(account) as con:
        account.reset_stats()
        assert con.sql(f"EXPLAIN {FAILED}").fetchall()[0][-1] == "miss (pages kept 300 s)"
        con.sql(FAILED)
        assert con.sql(f"EXPLAIN {FAILED}").fetchall()[0][-1].startswith("hit: fetched 0 s ago")
        con.use_cache = False
        assert con.sql(f"EXPLAIN {FAILED}").fetchall()[0][-1] == "off"


def test_a_bad_ttl_is_refused_by_name(account: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="cache_ttl=-1"):
        _connect(account, cache_ttl=-1)
    monkeypatch.setenv("CLICKSEND_SQL_CACHE_TTL", "soon")
    with pytest.raises(ConfigurationError, match="CLICKSEND_SQL_CACHE_TTL='soon'"):
        clicksend_sql.connect(account.username, account.api_key, base_url=account.base_url)


@pytest.mark.parametrize("flags", [(), ("--no-cache",)])
def test_the_shell_keeps_one_cache_per_session(account: Emulator, tmp_path: Path, flags: tuple[str, ...]) -> None:
    env = {**os.environ, "CLICKSEND_API_KEY": account.api_key, "XDG_DATA_HOME": str(tmp_path)}
    env.pop("CLICKSEND_SQL_CACHE_TTL")  # the suite turns the cache off; a user's shell has it
    account.reset_stats()
    done = subprocess.run([str(SCRIPT), "--base-url", account.base_url, "--username", account.username, *flags,
                           "--format", "csv"], input=f"{FAILED};\n{FAILED};\n", env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"MessageId"') == 2  # both statements answered
    history = [r for r in account.requests() if "/sms/history" in r]
    distinct = set(history)
    assert distinct and len(history) == (2 if flags else 1) * len(distinct)  # the second read: again, or from the cache
