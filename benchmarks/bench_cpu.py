"""CPU per row (issue 23 §4): what a full scan costs this process's cores, against a bare
synchronous httpx loop fetching the same pages.

The emulator runs in a process of its own at latency 0, so the client's own work shows. Each
figure is this process's CPU time (every thread: the I/O loop, DuckDB's, Arrow's) over the scan
alone, after one warm-up scan, median of ``--repeat`` rounds in which the three reads take turns. Read: ``SELECT * FROM SMSHistory`` into
DuckDB's result with the cache off, with ``rate_limit=None`` and with the default (auto) pace.
Target: whole-scan CPU <= 1.25x the bare fetch.

    python benchmarks/bench_cpu.py [--rows 50000] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import orjson

import clicksend_sql
from clicksend_sql.emulator import Emulator
from report import in_turns, print_table, write_json

QUERY = "SELECT * FROM SMSHistory"
TARGET = 1.25


def measured(reads: dict[str, Callable[[], int]], repeat: int) -> dict[str, dict[str, float]]:
    """Per read: median CPU and wall seconds of ``repeat`` rounds in which every read runs once
    (:func:`report.in_turns`, after one warm-up each), and the rows it read."""
    for read in reads.values():
        read()
    runs = in_turns({name: partial(timed, read) for name, read in reads.items()}, repeat)
    return {name: {"rows": done[-1][2], "cpu_s": statistics.median(cpu for cpu, _, _ in done),
                   "wall_s": statistics.median(wall for _, wall, _ in done)} for name, done in runs.items()}


def timed(read: Callable[[], int]) -> tuple[float, float, int]:
    """CPU and wall seconds of one ``read``, and the rows it read."""
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    rows = read()
    return time.process_time() - started_cpu, time.perf_counter() - started_wall, rows


def bare_fetch(emu: Emulator) -> Callable[[], int]:
    """Every page, one after the other, with one keep-alive httpx client, each parsed by orjson
    only to read its page count and rows: the floor."""
    client = httpx.Client(base_url=emu.base_url, auth=(emu.username, emu.api_key), timeout=30)

    def read() -> int:
        rows, page = 0, 1
        while True:
            data = orjson.loads(client.get("/sms/history", params={"page": page, "limit": 100}).content)["data"]
            rows += len(data["data"])
            if page >= data["last_page"]:
                return rows
            page += 1

    return read


def scan(con: clicksend_sql.Connection) -> Callable[[], int]:
    return lambda: len(con.sql(QUERY))


def measure(rows: int, repeat: int) -> dict[str, Any]:
    with Emulator(sizes={"sms-history": rows}, process=True) as emu:
        options: dict[str, Any] = {"base_url": emu.base_url, "cache_ttl": 0}
        with clicksend_sql.connect(emu.username, emu.api_key, rate_limit=None, **options) as unpaced, \
                clicksend_sql.connect(emu.username, emu.api_key, **options) as default:
            runs = measured({"bare httpx loop": bare_fetch(emu), "con.sql, rate_limit=None": scan(unpaced),
                             "con.sql, default settings": scan(default)}, repeat)
    floor = runs["bare httpx loop"]["cpu_s"]
    assert all(run["rows"] == rows for run in runs.values()), runs
    return {"rows": rows, "repeat": repeat, "target": TARGET,
            "runs": [{"read": name, **run, "cpu_ratio": run["cpu_s"] / floor} for name, run in runs.items()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 rows, one repeat (a smoke test).")
    args = parser.parse_args()
    rows, repeat = (2_000, 1) if args.quick else (args.rows, args.repeat)
    figures = measure(rows, repeat)
    print_table(f"{QUERY}: {rows:,} rows at latency 0, CPU of this process, median of {repeat} "
                f"(target <= {TARGET}x the bare loop)", figures["runs"])
    write_json("cpu-quick" if args.quick else "cpu", figures)


if __name__ == "__main__":
    main()
