"""Throughput of the emulator's hot path: list pages of /v3/sms/history (limit=100).

The emulator runs in a child process (``process=True``) so the client does not share its GIL.
Several concurrent httpx clients page through the history for a bounded time; the figure that
matters is requests per second (it must stay well above ~500 req/s for the connector's tests
and benchmarks not to be bound by the emulator). On a shared machine the wall-clock figure
depends on other load, so the server's CPU time per request (from /proc) is reported too:
1000 / that is what one core sustains.

    python benchmarks/bench_emulator.py [--seconds 5] [--concurrency 1,4,8] [--rows 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from clicksend_sql.emulator import Emulator

RESULTS = Path(__file__).parent / "results" / "emulator.json"
LIMIT = 100


async def _worker(client: httpx.AsyncClient, pages: int, deadline: float, start_page: int, latencies: list[float]) -> int:
    done, page = 0, start_page
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        r = await client.get("/sms/history", params={"page": page, "limit": LIMIT})
        latencies.append(time.perf_counter() - t0)
        if r.status_code != 200 or not orjson.loads(r.content)["data"]["data"]:  # orjson: keep the client cheap
            raise RuntimeError(f"unexpected answer for page {page}: {r.status_code}")
        done += 1
        page = page % pages + 1
    return done


def _cpu_seconds(pid: int | None) -> float | None:
    """User+system CPU time of the server process (Linux /proc), to report load-independent cost."""
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run(emu: Emulator, concurrency: int, seconds: float, rows: int) -> dict[str, Any]:
    pages = -(-rows // LIMIT)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=emu.base_url, auth=(emu.username, emu.api_key), limits=limits,
                                 timeout=30) as client:
        await client.get("/sms/history", params={"limit": LIMIT})  # warm up the connection and caches
        cpu_before, client_before = _cpu_seconds(emu.pid), time.process_time()
        start = time.perf_counter()
        deadline = start + seconds
        counts = await asyncio.gather(*(_worker(client, pages, deadline, 1 + i * pages // concurrency, latencies)
                                        for i in range(concurrency)))
        elapsed = time.perf_counter() - start
        cpu_after, client_cpu = _cpu_seconds(emu.pid), time.process_time() - client_before
    latencies.sort()
    served = sum(counts)
    cpu_ms = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / served
    return {
        "concurrency": concurrency,
        "requests": sum(counts),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(sum(counts) / elapsed, 1),
        "rows_per_second": round(sum(counts) * LIMIT / elapsed),
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / served, 3),
        "server_cpu_ms_per_request": None if cpu_ms is None else round(cpu_ms, 3),
        "server_capacity_req_per_cpu_second": None if not cpu_ms else round(1000 / cpu_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per concurrency level")
    parser.add_argument("--concurrency", default="1,4,8", help="comma-separated client counts")
    parser.add_argument("--rows", type=int, default=20_000, help="seeded sms-history rows")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    t0 = time.perf_counter()
    with Emulator(process=True, sizes={"sms-history": args.rows}) as emu:
        startup = time.perf_counter() - t0
        results = [asyncio.run(_run(emu, c, args.seconds, args.rows)) for c in levels]
        served = emu.stats()["total"]
    print(f"emulator: {args.rows} sms-history rows, startup {startup:.2f}s (child process), limit={LIMIT}")
    print(f"{'clients':>7} {'requests':>9} {'req/s':>9} {'rows/s':>10} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'cli cpu ms/req':>15} {'srv cpu ms/req':>15} {'srv req/cpu-s':>14}")
    for r in results:
        print(f"{r['concurrency']:>7} {r['requests']:>9} {r['requests_per_second']:>9} {r['rows_per_second']:>10} "
              f"{r['latency_ms_p50']:>8} {r['latency_ms_p95']:>8} {r['client_cpu_ms_per_request']:>15} "
              f"{r['server_cpu_ms_per_request']!s:>15} {r['server_capacity_req_per_cpu_second']!s:>14}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "emulator list pages (/v3/sms/history, limit=100)",
        "rows": args.rows, "startup_seconds": round(startup, 3), "server_requests_counted": served,
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2), "results": results,
    }, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
