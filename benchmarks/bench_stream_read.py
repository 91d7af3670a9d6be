"""Streaming reads (issue 19 §1): ``con.stream`` keeps memory flat however many rows it reads.

``con.stream("SELECT * FROM SMSHistory")`` is read batch by batch (nothing kept) in a child
process, once over a small and once over a large history, each from an emulator of its own in a
process of its own (no rate limit, no latency: memory is the figure here, not time). The figure
is the child's peak RSS growth over its post-warm-up RSS, as ``bench_streaming.py`` measures it;
the target is that the large read grows at most 50 MB more than the small one. For scale, the
small read is also made with ``con.sql`` (every row held as one Arrow table).

    python benchmarks/bench_stream_read.py [--small 100000] [--large 1000000] [--concurrency 8] [--quick]
"""

from __future__ import annotations

import argparse
from typing import Any

from bench_streaming import run_child
from clicksend_sql.emulator import Emulator
from report import print_table, write_json

QUERY = "SELECT * FROM SMSHistory"
TARGET_MB = 50.0


def measure(rows: int, concurrency: int, sql: str) -> dict[str, Any]:
    with Emulator(sizes={"sms-history": rows}, process=True) as emu:
        figures = run_child(emu, sql, 1_000_000.0, concurrency, None, [])
    return {"rows": figures["rows"], "read": "stream" if sql.startswith("STREAM ") else "sql",
            "growth_mb": figures["growth_mb"], "arrow_mb": figures["arrow_peak_mb"], "seconds": figures["seconds"],
            "requests": figures["requests"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 rows (a smoke test).")
    args = parser.parse_args()
    small, large = (2_000, 20_000) if args.quick else (args.small, args.large)
    runs = [measure(small, args.concurrency, f"STREAM {QUERY}"), measure(large, args.concurrency, f"STREAM {QUERY}"),
            measure(small, args.concurrency, QUERY)]
    difference = runs[1]["growth_mb"] - runs[0]["growth_mb"]
    print_table(f"{QUERY}: con.stream over {small:,} and {large:,} rows, con.sql over {small:,}", runs)
    print(f"  stream growth, {large:,} rows minus {small:,} rows: {difference:.1f} MB "
          f"(target <= {TARGET_MB:g} MB, ratio {difference / TARGET_MB:.2f})")
    write_json("stream-read-quick" if args.quick else "stream-read",
               {"small": small, "large": large, "difference_mb": difference, "target_mb": TARGET_MB,
                "ratio": difference / TARGET_MB, "runs": runs})


if __name__ == "__main__":
    main()
