"""Scans with no settings at all: how close the self-tuned pace gets to the API's bound.

1. single: every page of /sms/history (N rows, P = N / 100 pages) through a ``ClickSendClient``
   given no ``rate_limit`` or ``concurrency`` (the defaults ``connect()`` uses), from an emulator
   in its own process with latency L and a rate limit R of 10, 50 and 100 requests/s, with its
   rate headers and with them stripped (a bare 429, as behind a proxy). Each run is a fresh
   emulator, so a fresh account with nothing learnt. Bound: max(P / R, P * L / C) with C = 32,
   the most ``concurrency="auto"`` keeps in flight. Reported: wall / bound (the median run) and the
   429s received. Targets: <= 1.15 with the headers at every R with at most a handful of 429s;
   <= 1.3 at 50/s with the headers stripped.
2. sql: the same scans with the headers as ``SELECT count(DISTINCT MessageId) FROM SMSHistory``
   on ``clicksend_sql.connect()`` with no settings. Converting 100 pages a second takes about
   0.65 of a core, so on a busy 2-core machine the 100/s figure measures the CPU left, not the pace.
3. two connections: two client scans at once against one 50/s emulator, from two threads of one
   process (one shared pace) and from two processes (which share through the account's file),
   with and without headers: combined wall time (first start to last end) / (2 P / R), and the
   429s of both together.

    python benchmarks/bench_rate.py [--rows 20000] [--latency-ms 100] [--repeats 3]
    python benchmarks/bench_rate.py --quick     # small sizes, a few seconds (tests run it)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import clicksend_sql
from clicksend_sql.config import Settings
from clicksend_sql.emulator import Emulator
from clicksend_sql.http import ClickSendClient
from clicksend_sql.http.rate_control import MAX_CONCURRENCY
from report import print_table, write_json

PAGE_SIZE = 100
SCAN = "SELECT count(DISTINCT MessageId) AS n FROM SMSHistory"
RATES = (10.0, 50.0, 100.0)
SHARED_RATE = 50.0


def scan(account: dict[str, str], ready: Callable[[], object] = lambda: None) -> dict[str, Any]:
    """Every page through a client with no settings, started once ``ready()`` returns."""

    async def pages() -> dict[str, Any]:
        async with ClickSendClient(Settings(account["username"], account["api_key"], account["base_url"])) as client:
            ready()
            started, rows = time.time(), 0
            async for page in client.paginate("/sms/history", page_size=PAGE_SIZE):
                rows += len(page.data["data"])
            return {"started": started, "ended": time.time(), "rows": rows, "requests": client.stats.requests,
                    "rate_limited": client.stats.rate_limited}

    return asyncio.run(pages())


def sql_scan(account: dict[str, str]) -> dict[str, Any]:
    """The scan as a SQL statement on a connection with no settings."""
    with clicksend_sql.connect(account["username"], account["api_key"], base_url=account["base_url"]) as con:
        started = time.time()
        rows = con.sql(SCAN).fetchone()[0]
        ended = time.time()
        stats = con.last_stats
    return {"started": started, "ended": ended, "rows": rows, "requests": stats.requests,
            "rate_limited": stats.rate_limited}


def _emulator(rows: int, rate: float, latency_ms: float, headers: bool, process: bool) -> Emulator:
    """A fresh account: in a process of its own, or (``--quick``, which only checks the script
    runs) in a thread, which starts faster."""
    return Emulator(sizes={"sms-history": rows}, latency_ms=latency_ms, rate_limit=rate, rate_headers=headers,
                    process=process)


def _account(emu: Emulator) -> dict[str, str]:
    return {"username": emu.username, "api_key": emu.api_key, "base_url": emu.base_url}


def _checked(run: dict[str, Any], rows: int) -> dict[str, Any]:
    if run["rows"] != rows:
        raise SystemExit(f"a scan counted {run['rows']} rows, expected {rows}")
    return run


def bench_single(rows: int, rate: float, latency_ms: float, headers: bool, repeats: int, process: bool,
                 how: Callable[[dict[str, str]], dict[str, Any]] = scan) -> dict[str, Any]:
    pages = math.ceil(rows / PAGE_SIZE)
    bound = max(pages / rate, pages * latency_ms / 1000 / MAX_CONCURRENCY)
    runs = []
    for _ in range(repeats):
        with _emulator(rows, rate, latency_ms, headers, process) as emu:
            runs.append(_checked(how(_account(emu)), rows))
    ratios = [(r["ended"] - r["started"]) / bound for r in runs]
    median = sorted(zip(ratios, runs, strict=True), key=lambda pair: pair[0])[len(runs) // 2]
    return {
        "R/s": rate,
        "headers": "sent" if headers else "stripped",
        "pages": pages,
        "bound_s": bound,
        "wall_s": median[1]["ended"] - median[1]["started"],
        "ratio": median[0],
        "ratios": ratios,
        "429s": median[1]["rate_limited"],
        "429s_each": [r["rate_limited"] for r in runs],
        "requests": median[1]["requests"],
        "target": ("<= 1.15" if headers else "<= 1.3" if rate == SHARED_RATE else "-") if how is scan else "-",
    }


def _threads(account: dict[str, str]) -> list[dict[str, Any]]:
    ready = threading.Barrier(2)
    runs: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: runs.append(scan(account, ready.wait))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs


def _processes(account: dict[str, str]) -> list[dict[str, Any]]:
    """Two child processes that connect, say ready, and scan when told to go (both at once)."""
    children = [subprocess.Popen([sys.executable, __file__, "--child", json.dumps(account)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for child in children:
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise SystemExit("a scanning process did not start")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        return [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()


def bench_two(rows: int, latency_ms: float, headers: bool, processes: bool, process: bool) -> dict[str, Any]:
    pages = math.ceil(rows / PAGE_SIZE)
    bound = 2 * pages / SHARED_RATE
    with _emulator(rows, SHARED_RATE, latency_ms, headers, process) as emu:
        runs = [_checked(run, rows) for run in (_processes if processes else _threads)(_account(emu))]
    wall = max(r["ended"] for r in runs) - min(r["started"] for r in runs)
    return {
        "connections": "2 processes" if processes else "2 threads",
        "headers": "sent" if headers else "stripped",
        "pages": 2 * pages,
        "bound_s": bound,
        "wall_s": wall,
        "ratio": wall / bound,
        "429s": sum(r["rate_limited"] for r in runs),
        "429s_each": [r["rate_limited"] for r in runs],
        "requests": sum(r["requests"] for r in runs),
    }


def child(account: dict[str, str]) -> None:
    """``--child``: one scan in this process, started when the parent writes ``go``."""

    def told_to_go() -> None:
        print("ready", flush=True)
        sys.stdin.readline()

    print(json.dumps(scan(account, told_to_go)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each single scan (the median is reported)")
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer runs (results/rate-quick.json)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    with tempfile.TemporaryDirectory(prefix="bench-rate-") as cache:
        os.environ["CLICKSEND_SQL_CACHE_DIR"] = cache  # learnt rates of these throwaway accounts stay here
        if args.quick:
            args.rows, args.repeats = 1500, 1
            grid = [(rate, True) for rate in RATES] + [(SHARED_RATE, False)]
            sql_rates: tuple[float, ...] = (SHARED_RATE,)
            pairs = [(True, False)]
        else:
            grid = [(rate, headers) for headers in (True, False) for rate in RATES]
            sql_rates = RATES
            pairs = [(headers, processes) for headers in (True, False) for processes in (False, True)]
        apart = not args.quick
        single = [bench_single(args.rows, rate, args.latency_ms, headers, args.repeats, apart) for rate, headers in grid]
        print_table(f"Every page of {args.rows:,} SMSHistory rows through a client with no settings, latency "
                    f"{args.latency_ms:g} ms: wall / max(P / R, P * L / {MAX_CONCURRENCY})", [_shown(r) for r in single])
        sql = [bench_single(args.rows, rate, args.latency_ms, True, args.repeats, apart, sql_scan) for rate in sql_rates]
        print_table(f"The same as SQL on connect() with no settings: {SCAN}", [_shown(r) for r in sql])
        two = [bench_two(args.rows, args.latency_ms, headers, processes, apart) for headers, processes in pairs]
        print_table(f"Two such scans at once against one {SHARED_RATE:g}/s server: combined wall / (2 P / R)",
                    [_shown(r) for r in two])
    write_json("rate-quick" if args.quick else "rate", {
        "settings": {k: v for k, v in vars(args).items() if k != "child"}, "single": single, "sql": sql, "two": two,
    })


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.endswith("_each") and k != "ratios"}


if __name__ == "__main__":
    main()
