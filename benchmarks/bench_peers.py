"""Peers (issue 23 §5): a full scan of SMSHistory by us, by ClickSend's official Python SDK and by
dlt's ``rest_api`` source, on the same emulator in the same run, as ratios.

One emulator in a process of its own: N rows (P = N / 100 pages), latency L, a server limit of R
requests/s with its rate headers. Each reader starts from the credentials and ends with every row
in this process; timed: its set-up and the scan, with this process's CPU time, after one warm-up
read of each (imports and first calls) from a one-page emulator, another account.

- ours, ``con.sql``: ``clicksend_sql.connect(username, api_key, base_url=...)`` with no other
  settings, ``con.sql("SELECT * FROM SMSHistory").fetchall()``; the result cache is off
  (``CLICKSEND_SQL_CACHE_TTL=0``) and the learnt pace kept in a throwaway directory, so the first
  run is a fresh account's and later ones start from what it learnt.
- ours, ``con.stream``: the same query through ``con.stream(...)``, every Arrow batch read.
- SDK: ``clicksend-client`` (module ``clicksend``, 6.x), ``SmsApi.view_sms_history(page=p,
  limit=100)`` page after page until ``data.last_page``, its rows (pydantic models) into a list.
  Its host is the emulator's root: the SDK's paths start with /v3.
- rest_api: dlt's ``rest_api`` source as ``bench_replicate.py`` configures it (basic auth, page
  numbers to ``data.last_page``, rows at ``data.data``, 100 a page) with one plain resource,
  ``sms/history``, iterated here into a list of dicts: the same end as the others, no pipeline
  (``bench_replicate.py`` measures rest_api loading DuckDB).

Bound: max(P / R, P x L / 32), the API's (32: the most ours keeps in flight). Floor: the same with
the requests the reader keeps in flight (1 for both page loops). 429s: requests the emulator served
more than once (no faults are set, so a repeat is a retry after a 429). Each reader runs
``--repeats`` times, the readers taking turns, ``--pause`` s apart so the server's bucket refills;
the median run is reported. Every run must return the same N message ids.

    python benchmarks/bench_peers.py [--rows 20000] [--latency-ms 100] [--rate 50] [--repeats 3]
    python benchmarks/bench_peers.py --quick     # 2,000 rows, L = 10 ms, R = 200/s, one run each (a smoke test)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import clicksend
import clicksend_sql
from bench_replicate import rest_api_clicksend
from clicksend_sql.emulator import Emulator
from clicksend_sql.http.rate_control import MAX_CONCURRENCY
from dlt.sources.rest_api import rest_api_source
from report import print_table, write_json

PAGE_SIZE = 100
QUERY = "SELECT * FROM SMSHistory"
OURS = "ours, con.sql"


def ours_sql(emu: Emulator) -> list[str]:
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url) as con:
        result = con.sql(QUERY)
        column = result.columns.index("MessageId")
        return [row[column] for row in result.fetchall()]


def ours_stream(emu: Emulator) -> list[str]:
    with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url) as con, con.stream(QUERY) as reader:
        return [value for batch in reader for value in batch.column("MessageId").to_pylist()]


def sdk(emu: Emulator) -> list[str]:
    configuration = clicksend.Configuration(username=emu.username, password=emu.api_key,
                                            host=emu.base_url.removesuffix("/v3"))
    rows: list[Any] = []
    with clicksend.ApiClient(configuration) as api_client:
        sms_api = clicksend.SmsApi(api_client)
        page = 1
        while True:
            data: Any = sms_api.view_sms_history(page=page, limit=PAGE_SIZE).data  # every field typed Optional
            rows.extend(data.data)
            if page >= data.last_page:
                break
            page += 1
    return [row.message_id for row in rows]


def rest_api(emu: Emulator) -> list[str]:
    config: Any = {**rest_api_clicksend(emu), "resources": [{"name": "sms_history", "endpoint": {"path": "sms/history"}}]}
    rows = list(rest_api_source(config, name="clicksend_rest_api"))
    return [row["message_id"] for row in rows]


READERS: dict[str, tuple[Callable[[Emulator], list[str]], int]] = {  # name: (reader, the requests it keeps in flight)
    OURS: (ours_sql, MAX_CONCURRENCY), "ours, con.stream": (ours_stream, MAX_CONCURRENCY),
    "SDK page loop": (sdk, 1), "dlt rest_api": (rest_api, 1),
}


def measured(read: Callable[[Emulator], list[str]], emu: Emulator) -> dict[str, Any]:
    """One scan: wall and CPU seconds, the requests the emulator served and the repeated ones."""
    emu.reset_stats()
    started_cpu, started = time.process_time(), time.perf_counter()
    ids = read(emu)
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    served = emu.requests()
    return {"ids": ids, "rows": len(ids), "wall_s": wall, "cpu_s": cpu, "requests": len(served),
            "429s": len(served) - len(set(served))}


def measure(rows: int, latency_ms: float, rate: float, repeats: int, pause: float) -> dict[str, Any]:
    pages = math.ceil(rows / PAGE_SIZE)
    bound = max(pages / rate, pages * latency_ms / 1000 / MAX_CONCURRENCY)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in READERS}
    with Emulator(sizes={"sms-history": PAGE_SIZE}) as warm_up:  # another account: lazy imports and first calls
        for read, _ in READERS.values():
            read(warm_up)
    with Emulator(sizes={"sms-history": rows}, latency_ms=latency_ms, rate_limit=rate, process=True) as emu:
        for _ in range(repeats):
            for name, (read, _) in READERS.items():
                time.sleep(pause)
                runs[name].append(measured(read, emu))
    expected = set(runs[OURS][0]["ids"])
    for name, each in runs.items():
        for run in each:
            if len(expected) != rows or run["rows"] != rows or set(run.pop("ids")) != expected:
                raise SystemExit(f"{name} read {run['rows']} rows, not the same {rows} message ids as {OURS}")
    medians = {name: sorted(each, key=lambda run: run["wall_s"])[len(each) // 2] for name, each in runs.items()}
    ours = medians[OURS]["wall_s"]
    table = []
    for name, run in medians.items():
        floor = max(pages / rate, pages * latency_ms / 1000 / READERS[name][1])
        table.append({"reader": name, "in_flight": READERS[name][1], **run, "floor_s": floor,
                      "wall/floor": run["wall_s"] / floor, "wall/bound": run["wall_s"] / bound,
                      "ours/this": ours / run["wall_s"], "walls_s": [r["wall_s"] for r in runs[name]],
                      "429s_each": [r["429s"] for r in runs[name]]})
    return {"rows": rows, "pages": pages, "latency_ms": latency_ms, "rate": rate, "repeats": repeats,
            "bound_s": bound, "sdk_version": importlib.metadata.version("clicksend-client"), "runs": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each reader (the median is reported)")
    parser.add_argument("--pause", type=float, default=1.5, help="seconds before a run: the server's bucket refills")
    parser.add_argument("--quick", action="store_true", help="2,000 rows at L = 10 ms, R = 200/s, one run each (results/peers-quick.json)")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats, args.pause, args.latency_ms, args.rate = 2_000, 1, 0.0, 10.0, 200.0
    os.environ.update(CLICKSEND_SQL_CACHE_TTL="0", RUNTIME__DLTHUB_TELEMETRY="false")  # no internet here
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as cache:
        os.environ["CLICKSEND_SQL_CACHE_DIR"] = cache  # the throwaway account's learnt pace stays here
        figures = measure(args.rows, args.latency_ms, args.rate, args.repeats, args.pause)
    print_table(f"Every row of SMSHistory ({args.rows:,} rows, {figures['pages']} pages), latency {args.latency_ms:g} ms, "
                f"server limit {args.rate:g}/s: median of {args.repeats}; bound max(P / R, P * L / {MAX_CONCURRENCY}) = "
                f"{figures['bound_s']:.2f} s", [{k: v for k, v in run.items() if not k.endswith("_each") and k != "walls_s"}
                                                for run in figures["runs"]])
    write_json("peers-quick" if args.quick else "peers", {"settings": vars(args), **figures})


if __name__ == "__main__":
    main()
