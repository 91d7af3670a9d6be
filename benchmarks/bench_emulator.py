"""Throughput of the emulator's hot path: list pages of /v3/sms/history (limit=100).

The emulator runs in a child process (``process=True``) so the clients do not share its GIL.
Concurrent httpx clients (spread over a few client processes, since one httpx client costs more
CPU per request than the server does) page through the history for a bounded time. The figure
that matters is requests per second: it must stay well above ~500 req/s for the connector's
tests and benchmarks not to be bound by the emulator. On a shared machine the wall-clock figure
depends on other load, so the server's CPU time per request (from /proc) is reported too:
1000 / that is what one server core sustains.

    python benchmarks/bench_emulator.py [--seconds 5] [--concurrency 1,4,8] [--processes 2] [--rows 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

from clicksend_sql.emulator import Emulator

RESULTS = Path(__file__).parent / "results" / "emulator.json"
LIMIT = 100


async def _worker(client: httpx.AsyncClient, pages: int, deadline: float, page: int, latencies: list[float]) -> int:
    done = 0
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        r = await client.get("/sms/history", params={"page": page, "limit": LIMIT})
        latencies.append(time.perf_counter() - t0)
        if r.status_code != 200 or not orjson.loads(r.content)["data"]["data"]:  # orjson: keep the client cheap
            raise RuntimeError(f"unexpected answer for page {page}: {r.status_code}")
        done += 1
        page = page % pages + 1
    return done


async def _clients(base_url: str, auth: tuple[str, str], concurrency: int, deadline: float, pages: int,
                   first_page: int) -> tuple[int, list[float], float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, auth=auth, limits=limits, timeout=30) as client:
        await client.get("/sms/history", params={"limit": LIMIT})  # open the connection before timing
        cpu = time.process_time()
        counts = await asyncio.gather(*(_worker(client, pages, deadline, 1 + (first_page + i * pages // concurrency) % pages,
                                                latencies) for i in range(concurrency)))
        return sum(counts), latencies, time.process_time() - cpu


def _client_process(args: tuple[str, tuple[str, str], int, float, int, int]) -> tuple[int, list[float], float]:
    """One client process: ``concurrency`` connections until the shared wall-clock deadline."""
    return asyncio.run(_clients(*args))


def _cpu_seconds(pid: int | None) -> float | None:
    """User+system CPU time of the server process (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(pool: ProcessPoolExecutor, emu: Emulator, concurrency: int, processes: int, seconds: float,
         rows: int) -> dict[str, Any]:
    pages = -(-rows // LIMIT)
    procs = min(processes, concurrency)
    auth = (emu.username, emu.api_key)
    cpu_before = _cpu_seconds(emu.pid)
    start = time.perf_counter()
    deadline = start + seconds + 0.5  # the processes are already running (warmed up) but need to connect
    shares = [concurrency // procs + (i < concurrency % procs) for i in range(procs)]
    outcomes = list(pool.map(_client_process, [(emu.base_url, auth, n, deadline, pages, i * pages // procs)
                                               for i, n in enumerate(shares)]))
    elapsed = time.perf_counter() - start
    cpu_after = _cpu_seconds(emu.pid)
    served = sum(o[0] for o in outcomes)
    latencies = sorted(x for o in outcomes for x in o[1])
    server_ms = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / served
    return {
        "concurrency": concurrency,
        "client_processes": procs,
        "requests": served,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(served / elapsed, 1),
        "rows_per_second": round(served * LIMIT / elapsed),
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
        "client_cpu_ms_per_request": round(sum(o[2] for o in outcomes) * 1000 / served, 3),
        "server_cpu_ms_per_request": None if server_ms is None else round(server_ms, 3),
        "server_req_per_cpu_second": None if not server_ms else round(1000 / server_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per concurrency level")
    parser.add_argument("--concurrency", default="1,4,8", help="comma-separated connection counts")
    parser.add_argument("--processes", type=int, default=2, help="client processes sharing the connections")
    parser.add_argument("--rows", type=int, default=20_000, help="seeded sms-history rows")
    args = parser.parse_args()
    t0 = time.perf_counter()
    with Emulator(process=True, sizes={"sms-history": args.rows}) as emu, \
            ProcessPoolExecutor(max_workers=args.processes) as pool:
        startup = time.perf_counter() - t0
        results = [_run(pool, emu, int(c), args.processes, args.seconds, args.rows) for c in args.concurrency.split(",")]
        counted = emu.stats()["total"]
    load = os.getloadavg()[0]
    print(f"emulator: {args.rows} sms-history rows, startup {startup:.2f}s (child process), limit={LIMIT}")
    print(f"{'conns':>5} {'procs':>5} {'requests':>8} {'req/s':>8} {'rows/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'client cpu ms/req':>17} {'server cpu ms/req':>17} {'server req/cpu-s':>16}")
    for r in results:
        print(f"{r['concurrency']:>5} {r['client_processes']:>5} {r['requests']:>8} {r['requests_per_second']:>8} "
              f"{r['rows_per_second']:>8} {r['latency_ms_p50']:>7} {r['latency_ms_p95']:>7} "
              f"{r['client_cpu_ms_per_request']:>17} {r['server_cpu_ms_per_request']!s:>17} "
              f"{r['server_req_per_cpu_second']!s:>16}")
    print(f"load average: {load:.1f} on {os.cpu_count()} CPUs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "emulator list pages (/v3/sms/history, limit=100)", "rows": args.rows,
        "startup_seconds": round(startup, 3), "server_requests_counted": counted,
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average_1m": round(load, 2), "results": results,
    }, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
