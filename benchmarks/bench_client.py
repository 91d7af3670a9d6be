"""How close a paged scan gets to the best the server allows.

A scan of P pages against a server that answers in L seconds and admits R requests per second,
through a client with C concurrent slots, cannot finish faster than max(P / R, P * L / C).
This fetches N sms-history rows from an emulator in its own process for a few (R, L, C) and
reports wall time as a ratio to that bound (1.0 is perfect; the target is <= 1.15).

    python benchmarks/bench_client.py                 # the default grid
    python benchmarks/bench_client.py --rows 20000 --rate 50 --latency-ms 100 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from clicksend_sql.config import Settings
from clicksend_sql.emulator import Emulator
from clicksend_sql.http import ClickSendClient

RESULTS = Path(__file__).parent / "results" / "client.json"
PAGE_SIZE = 100  # ClickSend's maximum limit
DEFAULT_GRID = [  # (rate per second or None, latency ms, concurrency)
    (50.0, 100, 8),  # rate-bound: the limiter must keep the server's budget full without 429s
    (50.0, 100, 4),  # latency-bound: the slots must never sit idle
    (20.0, 50, 8),  # a slower account limit
    (None, 100, 16),  # no rate limit: pure concurrency
]


@dataclass
class Result:
    rows: int
    pages: int
    rate_limit: float | None
    latency_ms: int
    concurrency: int
    seconds: float
    bound_seconds: float
    ratio: float
    raw_httpx_seconds: float | None  # bare httpx, same concurrency; only without a rate limit
    requests: int
    retries: int
    rate_limited: int


async def raw_scan(settings: Settings, pages: int, concurrency: int) -> float:
    """The same scan with bare httpx (no limiter, retries or stats): the floor this machine allows."""
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=settings.base_url + "/", auth=(settings.username, settings.api_key),
                                 limits=httpx.Limits(max_connections=concurrency)) as http:

        async def page(n: int) -> None:
            async with slots:
                (await http.get("sms/history", params={"page": n, "limit": PAGE_SIZE})).raise_for_status()

        started = time.perf_counter()
        await page(1)
        await asyncio.gather(*(page(n) for n in range(2, pages + 1)))
        return time.perf_counter() - started


async def scan(settings: Settings, rate: float | None, concurrency: int) -> tuple[float, int, ClickSendClient]:
    """Wall time and row count of one full scan of /sms/history."""
    async with ClickSendClient(settings, rate_limit=rate, concurrency=concurrency) as client:
        started = time.perf_counter()
        pages = [r async for r in client.paginate("/sms/history", page_size=PAGE_SIZE)]
        seconds = time.perf_counter() - started
    return seconds, sum(len(p.data["data"]) for p in pages), client


def measure(rows: int, rate: float | None, latency_ms: int, concurrency: int) -> Result:
    with Emulator(
        seed=0, sizes={"sms-history": rows}, latency_ms=latency_ms, jitter_ms=0, rate_limit=rate, process=True
    ) as emu:
        settings = Settings(emu.username, emu.api_key, emu.base_url)
        seconds, fetched, client = asyncio.run(scan(settings, rate, concurrency))
        pages = math.ceil(rows / PAGE_SIZE)
        # bare httpx would only collect 429s against a rate-limited server, so no floor there
        raw = None if rate else round(asyncio.run(raw_scan(settings, pages, concurrency)), 3)
    if fetched != rows:
        raise SystemExit(f"scan returned {fetched} rows, expected {rows}")
    bound = max(pages / rate if rate else 0.0, pages * latency_ms / 1000 / concurrency)
    s = client.stats
    return Result(rows, pages, rate, latency_ms, concurrency, round(seconds, 3), round(bound, 3),
                  round(seconds / bound, 3), raw, s.requests, s.retries, s.rate_limited)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rate", type=float, help="server and client requests per second (0 = unlimited)")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    grid = DEFAULT_GRID if args.rate is None else [(args.rate or None, args.latency_ms, args.concurrency)]
    header = f"{'rows':>6} {'pages':>5} {'R/s':>5} {'L ms':>5} {'C':>3} {'wall s':>7} {'bound s':>7} {'ratio':>6} " \
             f"{'raw s':>6} {'reqs':>5} {'retry':>5} {'429':>4}"
    print(header)
    results = []
    for rate, latency_ms, concurrency in grid:
        r = measure(args.rows, rate, latency_ms, concurrency)
        results.append(r)
        print(f"{r.rows:>6} {r.pages:>5} {r.rate_limit or '-':>5} {r.latency_ms:>5} {r.concurrency:>3} "
              f"{r.seconds:>7.2f} {r.bound_seconds:>7.2f} {r.ratio:>6.3f} {r.raw_httpx_seconds or '-':>6} "
              f"{r.requests:>5} {r.retries:>5} "
              f"{r.rate_limited:>4}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
