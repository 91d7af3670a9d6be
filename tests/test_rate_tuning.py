"""The client tunes its own pace: with no settings it learns the account's allowance from the
emulator's rate headers (or from 429s alone when they are stripped), shares it between the
account's connections in a process and, through a file with no secret, with other processes.

Figures are asserted with generous margins (the machine is shared and noisy); how close to the
API's bound a scan gets is measured by benchmarks/bench_rate.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from clicksend_sql.cli import main
from clicksend_sql.config import Settings, account_key
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ConfigurationError
from clicksend_sql.http import ClickSendClient
from clicksend_sql.http.pacing import Slots
from clicksend_sql.http.rate_control import MIN_RATE, START_RATE, RateControl, account_control
from clicksend_sql.http.rate_state import KEPT_SECONDS, SWEEP_SECONDS, Learnt, RateFile, _forget_old

PAGE = 100


@pytest.fixture(autouse=True)
def rate_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test's learnt rates go to a folder of its own, not the user's cache."""
    monkeypatch.setenv("CLICKSEND_SQL_CACHE_DIR", str(tmp_path / "cache"))
    yield tmp_path / "cache" / "rates"


def settings_for(emu: Emulator) -> Settings:
    return Settings(emu.username, emu.api_key, emu.base_url)


def scan(settings: Settings, **options: Any) -> tuple[ClickSendClient, int, float, list[float]]:
    """One full scan of /sms/history with ``options``: the client, rows, seconds, and the pace
    after each page."""

    async def run() -> tuple[ClickSendClient, int, float, list[float]]:
        async with ClickSendClient(settings, **options) as client:
            started, rows, paces = time.perf_counter(), 0, []
            async for page in client.paginate("/sms/history", page_size=PAGE):
                rows += len(page.data["data"])
                paces.append(client.rate_control.rate or math.inf)
            return client, rows, time.perf_counter() - started, paces

    return asyncio.run(run())


def test_a_default_scan_follows_the_advertised_rate_without_429s(rate_files: Path) -> None:
    with Emulator(sizes={"sms-history": 80 * PAGE}, latency_ms=50, rate_limit=40) as emu:
        client, rows, seconds, paces = scan(settings_for(emu))
        served = emu.stats()["total"]
    assert rows == 80 * PAGE and served == client.stats.requests
    assert client.stats.rate_limited <= 2  # with the headers, none is expected
    control = client.rate_control
    assert control.advertised == 40 and max(paces) <= 40  # never past the advertised rate
    assert 80 / seconds > 0.6 * 40  # and close to it (the benchmark measures how close)
    assert 4 <= client.concurrency and 2 <= client._slots.size <= 8  # 40/s at ~50 ms: a few in flight

    learnt = json.loads((rate_files / f"account-{account_key(settings_for(emu))}.json").read_text())
    assert learnt["advertised"] == 40 and 20 <= learnt["rate"] <= 40
    text = json.dumps(learnt)
    assert emu.api_key not in text and emu.username not in text and str(emu.port) not in text
    assert [path.name for path in rate_files.glob("*.json")] == [f"account-{account_key(settings_for(emu))}.json"]


def test_another_process_starts_at_its_share_of_the_learnt_rate(rate_files: Path) -> None:
    with Emulator(sizes={"sms-history": 10 * PAGE}, rate_limit=30) as emu:
        settings = settings_for(emu)
        scan(settings)
        child = subprocess.run(
            [sys.executable, "-c", "import json, sys\nfrom clicksend_sql.config import Settings\n"
             "from clicksend_sql.http.rate_control import account_control\n"
             "print(account_control(Settings(*json.loads(sys.argv[1]))).rate)",
             json.dumps([settings.username, settings.api_key, settings.base_url])],
            capture_output=True, text=True, timeout=60, check=True,
        )
        other = Settings("someone-else", emu.api_key, emu.base_url)
    # this process used the account a moment ago, so the new one takes half of the learnt 30/s
    assert float(child.stdout) == pytest.approx(15.0, rel=0.35)
    assert account_control(other) is not account_control(settings)  # per account
    assert account_control(other).rate == 4.0  # an account nothing was learnt for starts politely


def test_processes_that_learnt_nothing_leave_the_account_s_pace_as_it_was(rate_files: Path) -> None:
    """Found when a refused connection waited out its whole deadline: each process that started
    at its share of the file's pace and learnt nothing wrote that share back, the next took a
    share of it, and a test run left 1.7e-26 requests/s in the file for a retry to wait on."""
    settings = Settings("u", "key", "http://127.0.0.1:9/v3")
    shared = RateFile.for_account(settings)
    assert shared is not None
    shared.merge(Learnt(rate=40.0, peak=40.0), "another process")
    for _ in range(50):
        control = RateControl(START_RATE, learn=True, shared=RateFile.for_account(settings))
        assert control.rate == pytest.approx(20.0)  # its share: the other process used the account just now
        control.save()
    learnt = shared.read()
    assert learnt is not None and learnt.rate == 40.0 and learnt.peak == 40.0
    shared.merge(Learnt(rate=1.7e-26), "another process")  # a file such runs left behind
    control = RateControl(START_RATE, learn=True, shared=RateFile.for_account(settings))
    assert control.rate == MIN_RATE and asyncio.run(asyncio.wait_for(control.turn(), 1.0)) is False


def test_files_of_accounts_unused_for_a_week_are_swept_at_most_hourly(rate_files: Path) -> None:
    """A connect does not scan a folder of thousands of accounts (a test run's) every time."""
    rate_files.mkdir(parents=True)
    now = time.time()
    old, fresh = rate_files / "account-old.json", rate_files / "account-fresh.json"
    for path, age in ((old, KEPT_SECONDS + 60), (fresh, 60)):
        path.write_text("{}")
        os.utime(path, (now - age, now - age))
    _forget_old(rate_files, now)
    assert not old.exists() and fresh.exists()
    old.write_text("{}")
    os.utime(old, (now - KEPT_SECONDS - 60, now - KEPT_SECONDS - 60))
    _forget_old(rate_files, now + SWEEP_SECONDS - 1)  # swept within the hour: left alone
    assert old.exists()
    _forget_old(rate_files, now + SWEEP_SECONDS + 1)
    assert not old.exists() and fresh.exists()
    old.write_text("{}")
    os.utime(old, (now - KEPT_SECONDS - 60, now - KEPT_SECONDS - 60))
    os.utime(rate_files / ".swept", (now + 30 * 86400, now + 30 * 86400))  # swept by a clock a month ahead
    _forget_old(rate_files, now)
    assert not old.exists()


def test_with_the_headers_stripped_it_converges_from_429s_alone() -> None:
    with Emulator(sizes={"sms-history": 60 * PAGE}, rate_limit=20, rate_headers=False) as emu:
        client, rows, seconds, _ = scan(settings_for(emu))
    assert rows == 60 * PAGE
    stats = client.stats
    assert 0 < stats.rate_limited <= 40 and stats.requests == 60 + stats.rate_limited
    assert client.rate_control.advertised is None
    peak = client.rate_control.accepted_peak
    assert peak is not None and 10 <= peak <= 40  # what the server accepted: 20/s
    assert 60 / seconds > 0.5 * 20


def test_ten_per_second_on_defaults() -> None:
    """The old fixed 20/s default failed outright against a 10/s server in some runs."""
    with Emulator(sizes={"sms-history": 20 * PAGE}, latency_ms=100, rate_limit=10) as emu:
        client, rows, seconds, paces = scan(settings_for(emu))
    assert rows == 20 * PAGE and client.stats.rate_limited <= 2 and max(paces) <= 10
    assert 20 / seconds > 0.6 * 10


def test_an_explicit_rate_limit_and_concurrency_win() -> None:
    with Emulator(sizes={"sms-history": 12 * PAGE}, latency_ms=20, rate_limit=50) as emu:
        client, rows, seconds, paces = scan(settings_for(emu), rate_limit=5, concurrency=2)
    assert rows == 12 * PAGE
    assert set(paces) == {5.0} and client.concurrency == client._slots.size == 2
    assert not client.rate_control.learn and client.rate_control is not account_control(settings_for(emu))
    assert seconds >= (12 - 4) / 5 * 0.9  # 5/s after a burst of 4, though the server allows 50
    with Emulator(sizes={"sms-history": 3 * PAGE}, rate_limit=2) as emu:
        unlimited, rows, _, _ = scan(settings_for(emu), rate_limit=None)
    assert rows == 3 * PAGE and unlimited.rate_control.rate is None and unlimited.concurrency == 32


def test_two_connections_in_one_process_share_one_allowance() -> None:
    pages = 30
    with Emulator(sizes={"sms-history": pages * PAGE}, latency_ms=20, rate_limit=20, rate_headers=False) as emu:
        settings = settings_for(emu)
        results: list[tuple[ClickSendClient, int, float, list[float]]] = []
        threads = [threading.Thread(target=lambda: results.append(scan(settings))) for _ in range(2)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    (first, rows1, _, _), (second, rows2, _, _) = results
    assert rows1 == rows2 == pages * PAGE
    assert first.rate_control is second.rate_control  # one pace for the account
    # one connection at 20/s with no header sees a few 429s while it learns; two pacing apart
    # would see about twice as many, and cut their pace twice as often
    refused = first.stats.rate_limited + second.stats.rate_limited
    assert refused <= 40
    assert 2 * pages / seconds < 1.5 * 20  # no faster than the server allows, whatever the split


def answered(control: RateControl, status: int = 200, **headers: str) -> float | None:
    """The pace after one answer with ``headers`` (``x_ratelimit_limit`` for x-ratelimit-limit)."""
    sent = time.monotonic()
    control.observe(httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()}), sent, True)
    return control.rate


def test_the_headers_set_the_pace_by_what_remains() -> None:
    control = RateControl(4.0, learn=True)
    allowance = {"x_ratelimit_limit": "50", "ratelimit_reset": "1"}
    assert answered(control, x_ratelimit_remaining="49", **allowance) == 50  # half or more left: the advertised rate
    assert answered(control, x_ratelimit_remaining="10", **allowance) == 20  # less: in proportion (50 * 2 * 10/50)
    assert answered(control, x_ratelimit_remaining="0", **allowance) == 5  # nearly spent: a tenth
    assert answered(control, 429, x_ratelimit_remaining="0", retry_after="2", **allowance) == 5
    assert control.resume_at > time.monotonic() + 1.5  # the account waits out Retry-After
    assert 5 < answered(control) < 50 and control.advertised == 50  # one without: grows, never past them
    window = RateControl(4.0, learn=True)  # 20 a minute, counted in a fixed window
    assert answered(window, x_ratelimit_limit="20", x_ratelimit_remaining="19", ratelimit_reset="60") == pytest.approx(1 / 3)
    # near the window's end with most left: spending the rest by the reset is on schedule
    assert answered(window, x_ratelimit_limit="20", x_ratelimit_remaining="8", ratelimit_reset="20") == pytest.approx(1 / 3)
    assert answered(window, x_ratelimit_limit="20", x_ratelimit_remaining="2", ratelimit_reset="30") == pytest.approx(1 / 15)


def test_a_fixed_pace_learns_nothing_but_waits_out_retry_after() -> None:
    control = RateControl(7.0, learn=False)
    assert answered(control, 429, x_ratelimit_limit="50", x_ratelimit_remaining="0", retry_after="1") == 7.0
    assert control.advertised is None and control.resume_at > time.monotonic() + 0.5


def test_waiting_for_the_pace_costs_no_cpu() -> None:
    control = RateControl(20.0, learn=False)

    async def turns() -> None:
        await asyncio.gather(*(control.turn() for _ in range(24)))

    cpu, wall = time.process_time(), time.perf_counter()
    asyncio.run(turns())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert wall >= (24 - 4) / 20 * 0.9
    assert cpu < 0.25 * wall  # one timer per waiting request, nothing polls


def test_slots_grow_and_shrink_while_requests_wait() -> None:
    async def run() -> list[int]:
        slots, running, most = Slots(2), 0, []

        async def request() -> None:
            nonlocal running
            await slots.acquire()
            running += 1
            most.append(running)
            await asyncio.sleep(0.01)
            running -= 1
            slots.release()

        first = asyncio.gather(*(request() for _ in range(6)))
        await asyncio.sleep(0)
        slots.resize(4)
        await first
        slots.resize(1)
        await asyncio.gather(*(request() for _ in range(4)))
        return most

    most = asyncio.run(run())
    assert max(most[:6]) == 4 and max(most[6:]) == 1


@pytest.mark.parametrize(("options", "message"), [
    ({"rate_limit": 0}, "rate_limit must be"), ({"rate_limit": "fast"}, "rate_limit must be"),
    ({"concurrency": 0}, "concurrency must be"), ({"concurrency": 2.5}, "concurrency must be"),
])
def test_limits_are_auto_or_positive_numbers(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        ClickSendClient(Settings("u", "k", "http://127.0.0.1:1/v3"), **options)


def test_cli_takes_auto_none_or_a_number() -> None:
    refused = CliRunner().invoke(main, ["query", "--demo", "--rate-limit", "fast", "SELECT 1"])
    assert refused.exit_code == 2 and "is not auto, none or a positive float" in refused.output
    refused = CliRunner().invoke(main, ["query", "--demo", "--concurrency", "none", "SELECT 1"])
    assert refused.exit_code == 2 and "is not auto or a positive int" in refused.output
    for flags in (["--rate-limit", "auto", "--concurrency", "auto"], ["--rate-limit", "none"], ["--rate-limit", "7.5"]):
        done = CliRunner().invoke(main, ["query", "--demo", "--format", "csv", *flags, "SELECT 1 AS one"])
        assert done.exit_code == 0 and done.output.split()[-1] == "1", done.output


def test_urls_take_auto_too() -> None:
    from sqlalchemy.engine import make_url

    from clicksend_sql.dialect import ClickSendDialect

    url = make_url("clicksend://me:secret@/?rate_limit=auto&concurrency=auto")
    assert ClickSendDialect().create_connect_args(url)[1] | {"username": "me"} == {
        "username": "me", "api_key": "secret", "rate_limit": "auto", "concurrency": "auto"}
    assert ClickSendDialect().create_connect_args(make_url("clicksend:///?rate_limit=none&concurrency=3"))[1] == {
        "rate_limit": None, "concurrency": 3}
