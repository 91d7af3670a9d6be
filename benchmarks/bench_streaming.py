"""Streaming scans (issue 11 §1): the connector's memory and time over a large SMSHistory.

Each statement runs in a child process that does only this: connect, a warm-up (a one-page
SELECT of SMSHistory and a COPY of the small ContactLists, so DuckDB, the catalog, the converter
and the Parquet writer are loaded), any ``--setting``, then the statement. The figures are that
process's RSS growth over its post-warm-up RSS (peak: VmHWM after resetting it through
/proc/self/clear_refs, and a 5 ms VmRSS sampler; ``arrow_mb`` is the peak of Arrow's memory pool,
i.e. the connector's converted batches, the rest is DuckDB and Python), and the wall time. The emulator runs in its
own process with latency L and rate limit R.

1. copy: ``COPY (SELECT * FROM SMSHistory) TO 'x.parquet'`` over N rows (default 1,000,000).
   Peak RSS growth. Target <= 150 MB. Wall time as a ratio to the API bound
   max(pages / R, pages * L / concurrency). Target <= 1.15. Also as a ratio to a bare httpx
   client fetching the same pages from the same emulator (same concurrency, paced at R), which
   is the real bound when the emulator's own CPU caps the throughput.
2. distinct: ``SELECT count(DISTINCT MessageId) FROM SMSHistory``, the same figures
   (informational). A statement given as ``STREAM <query>`` is read through ``con.stream``
   batch by batch instead (``bench_stream_read.py``).
3. old (``--old PATH``): both statements with the connector found on PATH, e.g. a worktree of
   525881c (collect every page, then run) made with ``git worktree add /tmp/old 525881c`` and
   passed as ``--old /tmp/old/connector``.

Default knobs: L = 50 ms, R = 100 requests/s, concurrency 8, so the bound is the rate
(pages / R = 2 x pages * L / concurrency) and the emulator is far from its own limit (it serves
well over 1,000 pages/s per core; its CPU share during the run is reported as ``emulator_cpu``).

    python benchmarks/bench_streaming.py [--rows 1000000] [--rate 100] [--latency-ms 50]
                                         [--concurrency 8] [--old /tmp/old/connector]
                                         [--setting 'SET threads = 1' ...] [--quick]
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
import time
from pathlib import Path
from typing import Any

import httpx

from clicksend_sql.emulator import Emulator
from report import print_table, write_json

PAGE_SIZE = 100
STATEMENTS = {
    "copy": "COPY (SELECT * FROM SMSHistory) TO '{out}' (FORMAT parquet)",
    "distinct": "SELECT count(DISTINCT MessageId) FROM SMSHistory",
}

# The measured process: connect, warm up, reset the peak, run one statement, report as JSON.
CHILD = r"""
import json, os, sys, time
base_url, username, api_key, rate, concurrency, sql, tmp, benchmarks = sys.argv[1:9]
settings = json.loads(sys.argv[9])
sys.path.insert(0, benchmarks)
from peak_memory import PeakMemory

import clicksend_sql
con = clicksend_sql.connect(username, api_key, base_url=base_url, rate_limit=float(rate), concurrency=int(concurrency))
con.sql("SELECT * FROM SMSHistory LIMIT 100").fetchall()
warm_requests = con.last_stats.requests
con.sql(f"COPY (SELECT * FROM ContactLists) TO '{tmp}/warm.parquet' (FORMAT parquet)")  # a small table
warm_requests += con.last_stats.requests
for setting in settings:
    con.sql(setting)
time.sleep(0.2)
import pyarrow as pa
memory = PeakMemory(counter=pa.total_allocated_bytes)  # Arrow's pool too
cpu = time.process_time()
started = time.perf_counter()
if sql.startswith("STREAM "):  # con.stream: read batch by batch, keep none
    streamed = 0
    with con.stream(sql[len("STREAM "):]) as reader:
        for batch in reader:
            streamed += batch.num_rows
    answer = [(streamed,)]
else:
    result = con.sql(sql.format(out=f"{tmp}/out.parquet"))
    answer = result.fetchall()
seconds = time.perf_counter() - started
cpu = time.process_time() - cpu
figures = memory.stop()
stats = con.last_stats
rows = None
if os.path.exists(f"{tmp}/out.parquet"):
    import pyarrow.parquet as pq
    rows = pq.ParquetFile(f"{tmp}/out.parquet").metadata.num_rows
    parquet_mb = os.path.getsize(f"{tmp}/out.parquet") / 1e6
else:
    rows, parquet_mb = (answer[0][0] if len(answer) == 1 and len(answer[0]) == 1 else len(answer)), None
con.close()
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "baseline_mb": figures["baseline_mb"],
                  "peak_mb": figures["peak_mb"], "growth_mb": figures["growth_mb"], "peak_from": figures["peak_from"],
                  "samples": figures["samples"], "arrow_peak_mb": figures["counter_peak_mb"], "rows": rows,
                  "parquet_mb": parquet_mb, "requests": stats.requests, "retries": stats.retries,
                  "rate_limited": stats.rate_limited, "warm_up_requests": warm_requests}))
"""


def _cpu_seconds(pid: int | None) -> float:
    """User+system CPU time of a process (Linux /proc), 0 when unknown."""
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(emu: Emulator, sql: str, rate: float, concurrency: int, pythonpath: str | None,
              settings: list[str]) -> dict[str, Any]:
    """One statement in a fresh process; its figures and the emulator's CPU share meanwhile."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        emu_cpu = _cpu_seconds(emu.pid)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, emu.base_url, emu.username, emu.api_key, str(rate), str(concurrency),
             sql, tmp, str(Path(__file__).resolve().parent), json.dumps(settings)],
            capture_output=True, text=True, env=env, check=False,
        )
        emu_cpu = _cpu_seconds(emu.pid) - emu_cpu
    if done.returncode != 0:
        raise RuntimeError(f"the measured process exited {done.returncode}: {done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["emulator_cpu_seconds"] = emu_cpu
    return figures


async def _bare_fetch(emu: Emulator, pages: int, rate: float, concurrency: int) -> float:
    """Seconds for plain httpx to GET every page (``concurrency`` at once, paced at ``rate``)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=emu.base_url, auth=(emu.username, emu.api_key), limits=limits,
                                 timeout=60) as client:
        await client.get("/sms/history", params={"page": 1, "limit": PAGE_SIZE})  # open a connection first
        await asyncio.sleep(max(1.0, rate) / rate)  # let the emulator's bucket refill
        todo = iter(range(1, pages + 1))
        started = time.perf_counter()

        async def worker() -> None:
            for page in todo:
                wait = started + (page - 1) / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                reply = await client.get("/sms/history", params={"page": page, "limit": PAGE_SIZE})
                if reply.status_code != 200:
                    raise RuntimeError(f"page {page}: HTTP {reply.status_code}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def bench(rows: int, rate: float, latency_ms: float, concurrency: int, old: str | None,
          settings: list[str]) -> dict[str, Any]:
    pages = math.ceil(rows / PAGE_SIZE)
    bound = max(pages / rate, pages * latency_ms / 1000 / concurrency)
    started = time.perf_counter()
    with Emulator(sizes={"sms-history": rows}, latency_ms=latency_ms, rate_limit=rate, process=True) as emu:
        emulator_start = time.perf_counter() - started
        emu_cpu = _cpu_seconds(emu.pid)
        bare = asyncio.run(_bare_fetch(emu, pages, rate, concurrency))
        bare_emu_cpu = _cpu_seconds(emu.pid) - emu_cpu
        time.sleep(1.5)  # the bucket refills
        runs = []
        for version, path in (("current", None), *((("old", old),) if old else ())):
            for name, sql in STATEMENTS.items():
                figures = run_child(emu, sql, rate, concurrency, path, settings)
                time.sleep(1.5)
                runs.append({
                    "statement": name, "connector": version, "rows": figures["rows"], "requests": figures["requests"],
                    "rate_limited": figures["rate_limited"], "baseline_mb": figures["baseline_mb"],
                    "growth_mb": figures["growth_mb"], "growth_ratio": figures["growth_mb"] / 150,
                    "arrow_mb": figures["arrow_peak_mb"],
                    "seconds": figures["seconds"], "bound_s": bound, "ratio": figures["seconds"] / bound,
                    "bare_s": bare, "bare_ratio": figures["seconds"] / bare,
                    "cpu_share": figures["cpu_seconds"] / figures["seconds"],
                    "emulator_cpu": figures["emulator_cpu_seconds"] / figures["seconds"],
                    "details": figures,
                })
    return {
        "rows": rows, "pages": pages, "rate": rate, "latency_ms": latency_ms, "concurrency": concurrency,
        "emulator_start_s": emulator_start, "bare_fetch_s": bare, "bare_emulator_cpu": bare_emu_cpu / bare,
        "bound_s": bound, "settings": settings, "targets": {"growth_mb": "<= 150", "ratio": "<= 1.15"}, "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--old", metavar="PATH", help="Also run with the connector package found on PATH.")
    parser.add_argument("--setting", action="append", default=[], metavar="SQL",
                        help="A statement run after the warm-up, before the measured one (e.g. 'SET threads = 1').")
    parser.add_argument("--quick", action="store_true", help="20,000 rows (a smoke test).")
    args = parser.parse_args()
    rows = 20_000 if args.quick else args.rows
    figures = bench(rows, args.rate, args.latency_ms, args.concurrency, args.old, args.setting)
    title = (f"{rows:,} SMSHistory rows, {figures['pages']:,} pages (latency {args.latency_ms:g} ms, "
             f"rate {args.rate:g}/s, concurrency {args.concurrency}); "
             f"emulator started in {figures['emulator_start_s']:.1f} s")
    table = [{k: v for k, v in run.items() if k != "details"} for run in figures["runs"]]
    print_table(title, table)
    print(f"  bound {figures['bound_s']:.2f} s; bare httpx fetch {figures['bare_fetch_s']:.2f} s "
          f"(emulator CPU {figures['bare_emulator_cpu']:.0%} of it); targets: growth_mb <= 150 (growth_ratio <= 1), "
          "ratio <= 1.15")
    if args.setting:
        print(f"  settings: {'; '.join(args.setting)}")
    name = "streaming-quick" if args.quick else "streaming"
    write_json(name + ("-settings" if args.setting else ""), figures)


if __name__ == "__main__":
    main()
