"""Replication (``clicksend_sql.replicate``) through dlt: time against the API bound and against
dlt's generic ``rest_api`` source, requests of a second run, memory, PostgreSQL. One run, ratios.

Every measured replication runs in a child process of its own (like ``bench_streaming.py``): it
imports dlt and the package, connects, then times one ``replicate()`` call (pipeline creation,
extract, normalize, load, the delete check and the copy's counts included; imports and the
interpreter's start-up not). dlt's step times of each ``pipeline.run`` are taken from its trace.
Requests are counted by the emulator (its counters are reset before each run). dlt's telemetry
is off in the children (``RUNTIME__DLTHUB_TELEMETRY=false``): this machine has no internet.

1. first: 20,000 SMSHistory rows and 5,000 contacts (6 lists) into a fresh DuckDB file, emulator
   latency L = 100 ms and a server limit R = 50 requests/s, our client at ``rate_limit=R`` and
   ``concurrency=8`` (a user matches the server's limit; 8, the default, is more than the
   R x L = 5 requests in flight needed to reach R). The API bound is N / min(R, C / L) =
   max(N / R, N x L / C) for the N requests a first copy needs at the least (one per 100 SMS, the
   lists' page, one per 100 contacts of each list); here the rate: 253 / 50 = 5.1 s. (The
   server's bucket also allows a burst of R requests at the start, about 1 s, not counted.)
   Target: wall time <= 1.3 x bound (median of ``--repeats``).
2. rest_api: dlt's ``rest_api`` source on the same emulator into DuckDB: HTTP basic auth, page
   numbers with the total from ``data.last_page``, rows at ``data.data``, 100 rows a page, SMS
   history incremental on ``date`` through ``date_from``, contacts as a child of lists
   (``lists/{resources.lists.list_id}/contacts``, the lists not loaded) incremental on
   ``date_updated`` through ``updated_after``, merge on the keys. Two set-ups: dlt's defaults
   (resources one after the other, INSERT files) and tuned (``parallelized`` resources, Parquet
   files). Figure: our time / the faster rest_api time. Target <= 1/3.
3. second: after C changes to contacts made with the connector's SQL (2/5 INSERT, 2/5 UPDATE,
   1/5 DELETE, random contacts and lists), the copy of (1) replicated again, with ``lag=0`` and
   with the default lag (3 days), each from its own copy of the destination. Requests against
   the minimum: one lists page, per list the pages of its contacts changed since the cursor
   (at least one), a key scan (every page) of each list whose count differs from the copy's once
   the new and updated rows are in it (the lists with a delete), and the SMS pages of the lag
   window (at least one). Also: the copy then holds exactly ClickSend's contacts (key, name).
4. memory: SMSHistory alone, 1,000,000 rows against 100,000, no latency, no rate limit, each
   from its own emulator. Peak RSS growth of the child over its RSS after a warm-up (a
   replication of ContactLists into another file), measured as ``bench_streaming.py`` does
   (VmHWM reset through /proc/self/clear_refs, and a 5 ms sampler). Target: the large run grows
   at most 50 MB more than the small one.
5. postgres: (1) into PostgreSQL (a local server through tests/postgres_server.py, pgserver):
   wall time and its ratio to the DuckDB run.

    python benchmarks/bench_replicate.py [--sms 20000] [--contacts 5000] [--latency-ms 100]
        [--rate 50] [--concurrency 8] [--changes 100] [--small 100000] [--large 1000000]
        [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import clicksend_sql
from bench_streaming import _cpu_seconds
from clicksend_sql.emulator import Emulator
from report import print_table, write_json

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = 100
FIRST_TARGET = 1.3  # wall time / API bound
REST_API_TARGET = 1 / 3  # our time / rest_api's
MEMORY_TARGET_MB = 50.0
DEFAULT_LAG_S = 3 * 86_400  # clicksend_sql.replication.source.DEFAULT_LAG_SECONDS
DATASET = "clicksend"
# The destination's DuckDB runs in the replicating process; by default it may take 80% of the machine's memory.
MEMORY_VARIANTS = {"package": {}, "duckdb memory_limit 256MB": {
    "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG": '{"memory_limit": "256MB"}'}}
# --quick: every figure at toy sizes (latency 10 ms); the memory limit variant only in full runs.
REST_VARIANTS = (("default", False, None), ("tuned", True, "parquet"))  # dlt's rest_api: as it comes, and tuned
QUICK = {"sms": 1_000, "contacts": 300, "latency_ms": 10.0, "changes": 10, "small": 1_000, "large": 5_000, "repeats": 1,
         "pause": 0.0, "memory_variants": ["package"], "rest_variants": ["tuned"]}

# The measured process: imports, connection, then one replication; its figures as JSON on stdout.
CHILD = r"""
import json, os, sys, time
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["benchmarks"])
from peak_memory import PeakMemory

began = time.perf_counter()
import dlt
if spec["client"] == "ours":
    import clicksend_sql
    import clicksend_sql.replication
else:
    from dlt.sources.rest_api import rest_api_source
imports = time.perf_counter() - began

dlt_runs = []  # the time of every call of dlt's steps (pipeline.run makes them too): [{step: seconds}]
phase = ["outside dlt"]  # what the process is doing, for the sampler's peak per phase

def in_phase(step):
    method = getattr(dlt.Pipeline, step)

    def marked(self, *args, **kwargs):
        phase[0] = step
        started = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            phase[0] = "outside dlt"
            dlt_runs.append({step: time.perf_counter() - started})

    setattr(dlt.Pipeline, step, marked)

for step in ("extract", "normalize", "load"):
    in_phase(step)

if spec["client"] == "ours":
    con = clicksend_sql.connect(spec["username"], spec["api_key"], base_url=spec["base_url"], rate_limit=spec["rate"],
                                concurrency=spec["concurrency"])
    if spec["warm"]:  # load dlt's extract, normalize and load paths before the baseline
        clicksend_sql.replicate(con, tables=["ContactLists"], destination="duckdb:///" + spec["tmp"] + "/warm-up.duckdb",
                                dataset="warm", pipelines_dir=spec["tmp"] + "/warm-pipelines")
        dlt_runs.clear()
    time.sleep(spec["pause"])  # the server's rate bucket refills
time.sleep(0.2)
memory = PeakMemory(sample=spec["sample"], phase=lambda: phase[0])  # the peak per dlt step too
out = {}
cpu = time.process_time()
started = time.perf_counter()
if spec["client"] == "ours":
    kwargs = {} if spec["lag"] is None else {"lag": spec["lag"]}
    report = clicksend_sql.replicate(con, tables=spec["tables"], destination=spec["destination"], dataset=spec["dataset"],
                                     pipelines_dir=spec["pipelines_dir"], **kwargs)
    seconds = time.perf_counter() - started
    out["tables"] = [dict(vars(t)) for t in report.tables]
    out["report_requests"] = report.requests
else:
    destination = dlt.destinations.duckdb(spec["destination"].split("://", 1)[1][1:])
    source = rest_api_source(spec["config"], name="clicksend_rest_api")
    pipeline = dlt.pipeline(pipeline_name="clicksend_rest_api", destination=destination, dataset_name=spec["dataset"],
                            pipelines_dir=spec["pipelines_dir"])
    pipeline.run(source, loader_file_format=spec["file_format"])
    seconds = time.perf_counter() - started
cpu = time.process_time() - cpu
figures = memory.stop()
del figures["counter_peak_mb"]
out.update({"seconds": seconds, "cpu_seconds": cpu, "imports_seconds": imports, "dlt_runs": dlt_runs, **figures})
print(json.dumps(out))
"""


def run_child(spec: dict[str, Any], emu: Emulator, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One replication in a fresh process; its figures, the requests the emulator served meanwhile
    and the emulator's CPU seconds."""
    env = {**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **(env or {})}
    spec = {"username": emu.username, "api_key": emu.api_key, "base_url": emu.base_url, "dataset": DATASET,
            "benchmarks": str(Path(__file__).resolve().parent),
            "warm": False, "sample": False, "lag": None, "pause": 0.0, **spec}
    emu.reset_stats()
    emu_cpu = _cpu_seconds(emu.pid)
    with tempfile.TemporaryDirectory(prefix="bench-replicate-child-") as tmp:
        done = subprocess.run([sys.executable, "-c", CHILD, json.dumps({**spec, "tmp": tmp})], cwd=tmp,
                              capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the measured process exited {done.returncode}: {done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["emulator_cpu_seconds"] = _cpu_seconds(emu.pid) - emu_cpu
    stats = emu.stats()
    figures["requests"] = stats["total"]
    figures["requests_by_operation"] = {k: v for k, v in stats["by_operation"].items() if v}
    return figures


def phases(figures: dict[str, Any]) -> dict[str, float]:
    """Where a run's wall time went: dlt's steps summed over their calls, the rest outside them
    (pipeline set-up, reading the copy, the delete check), and the longest table scan (they run at once)."""
    steps = {step: sum(run.get(step, 0.0) for run in figures["dlt_runs"]) for step in ("extract", "normalize", "load")}
    in_runs = sum(steps.values())
    scans = [t["seconds"] for t in figures.get("tables", [])]
    return {"scan_s": max(scans) if scans else None, "extract_s": steps["extract"], "normalize_s": steps["normalize"],
            "load_s": steps["load"], "outside_dlt_s": figures["seconds"] - in_runs}


def destination_uri(path: Path) -> str:
    return "duckdb:///" + str(path)  # an absolute path gives the four slashes


def rest_api_clicksend(emu: Emulator, parallelized: bool = False) -> dict[str, Any]:
    """dlt's rest_api source set up for ClickSend's paginated envelope, as its docs show: the client
    and the resources' defaults, without resources (``bench_peers.py`` uses it too)."""
    return {
        "client": {
            "base_url": emu.base_url + "/",
            "auth": {"type": "http_basic", "username": emu.username, "password": emu.api_key},
            "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": "data.last_page"},
        },
        "resource_defaults": {"endpoint": {"data_selector": "data.data", "params": {"limit": PAGE_SIZE}},
                              "parallelized": parallelized},
    }


def rest_api_config(emu: Emulator, parallelized: bool) -> dict[str, Any]:
    """The replication as rest_api resources: SMS history and contacts, incremental, merged on their keys."""
    listed = {"limit": PAGE_SIZE}
    return {
        **rest_api_clicksend(emu, parallelized),
        "resources": [
            {"name": "sms_history", "primary_key": "message_id", "write_disposition": "merge",
             "endpoint": {"path": "sms/history", "params": listed,
                          "incremental": {"start_param": "date_from", "cursor_path": "date", "initial_value": 0}}},
            {"name": "lists", "primary_key": "list_id", "selected": False, "endpoint": {"path": "lists"}},
            {"name": "contacts", "primary_key": "contact_id", "write_disposition": "merge",
             "endpoint": {"path": "lists/{resources.lists.list_id}/contacts", "params": listed,
                          "incremental": {"start_param": "updated_after", "cursor_path": "date_updated",
                                          "initial_value": 0}}},
        ],
    }


def copy_counts(destination: str, tables: list[str]) -> dict[str, int]:
    """Rows per table in a copy (DuckDB file or PostgreSQL)."""
    if destination.startswith("duckdb://"):
        import duckdb

        with duckdb.connect(destination.split("://", 1)[1][1:], read_only=True) as db:
            return {t: db.sql(f"SELECT count(*) FROM {DATASET}.{t}").fetchall()[0][0] for t in tables}
    import psycopg2

    pg = psycopg2.connect(destination)
    try:
        with pg.cursor() as cur:
            counts = {}
            for t in tables:
                cur.execute(f"SELECT count(*) FROM {DATASET}.{t}")
                counts[t] = cur.fetchone()[0]
            return counts
    finally:
        pg.close()


def summary(name: str, figures: dict[str, Any], bound: float, reference: float | None) -> dict[str, Any]:
    row = {"run": name, "requests": figures["requests"], "seconds": figures["seconds"], "bound_ratio": figures["seconds"] / bound,
           "vs_ours": figures["seconds"] / reference if reference else 1.0, **phases(figures),
           "cpu_s": figures["cpu_seconds"], "emulator_cpu_s": figures["emulator_cpu_seconds"]}
    return row


def first_runs(emu: Emulator, work: Path, args: argparse.Namespace, lists: dict[int, int], server: Any) -> dict[str, Any]:
    """Items 1, 2 and 5: the first copy by us (DuckDB, repeated; PostgreSQL) and by rest_api."""
    least = math.ceil(args.sms / PAGE_SIZE) + math.ceil(len(lists) / PAGE_SIZE) + sum(
        math.ceil(n / PAGE_SIZE) for n in lists.values())
    rate_bound, latency_bound = least / args.rate, least * args.latency_ms / 1000 / args.concurrency
    bound = max(rate_bound, latency_bound)
    tables = ["SMSHistory", "Contacts"]
    ours = []
    for i in range(args.repeats):
        place = work / f"first-{i}"
        place.mkdir()
        figures = run_child({"client": "ours", "tables": tables, "rate": args.rate, "concurrency": args.concurrency,
                             "destination": destination_uri(place / "copy.duckdb"), "pipelines_dir": str(place / "pipelines"),
                             "pause": args.pause}, emu)
        figures["rows"] = copy_counts(destination_uri(place / "copy.duckdb"), ["sms_history", "contacts"])
        ours.append(figures)
    median = statistics.median(f["seconds"] for f in ours)
    rest = {}
    for variant, parallelized, file_format in REST_VARIANTS:
        if variant not in args.rest_variants:
            continue
        place = work / f"rest-api-{variant}"
        place.mkdir()
        time.sleep(args.pause)
        figures = run_child({"client": "rest_api", "config": rest_api_config(emu, parallelized), "file_format": file_format,
                             "destination": destination_uri(place / "copy.duckdb"), "pipelines_dir": str(place / "pipelines")},
                            emu)
        figures["rows"] = copy_counts(destination_uri(place / "copy.duckdb"), ["sms_history", "contacts"])
        figures.update(parallelized=parallelized, loader_file_format=file_format or "dlt's default (insert_values)")
        rest[variant] = figures
    best = min(rest, key=lambda v: rest[v]["seconds"])
    postgres = postgres_run(emu, work, args, tables, server)
    return {
        "sms": args.sms, "contacts": args.contacts, "lists": lists, "latency_ms": args.latency_ms, "rate": args.rate,
        "concurrency": args.concurrency, "least_requests": least, "rate_bound_s": rate_bound,
        "latency_bound_s": latency_bound, "bound_s": bound, "bound_by": "rate" if rate_bound >= latency_bound else "latency",
        "ours": {"seconds": median, "ratio": median / bound, "target": FIRST_TARGET,
                 "requests": ours[0]["requests"], "requests_ratio": ours[0]["requests"] / least,
                 "phases": phases(ours[0]), "runs": ours},
        "rest_api": {"best": best, "seconds": rest[best]["seconds"], "ours_over_rest_api": median / rest[best]["seconds"],
                     "speedup": rest[best]["seconds"] / median, "target": REST_API_TARGET, "variants": rest},
        "postgres": {**postgres, "ratio_to_duckdb": postgres["seconds"] / median},
    }


def postgres_run(emu: Emulator, work: Path, args: argparse.Namespace, tables: list[str], server: Any) -> dict[str, Any]:
    place = work / "postgres"
    place.mkdir()
    figures = run_child({"client": "ours", "tables": tables, "rate": args.rate, "concurrency": args.concurrency,
                         "destination": server.uri, "pipelines_dir": str(place / "pipelines"), "pause": args.pause}, emu)
    figures["rows"] = copy_counts(server.uri, ["sms_history", "contacts"])
    figures["server_start_s"] = server.started_in
    return figures


def change_contacts(con: clicksend_sql.Connection, changes: int, seed: int = 7) -> dict[str, Any]:
    """``changes`` contacts changed through SQL: 2/5 new, 2/5 updated, the rest deleted; per list."""
    rng = random.Random(seed)
    owner = dict(con.sql("SELECT ContactId, ListId FROM Contacts").fetchall())
    lists = sorted(set(owner.values()))
    new, updated = changes * 2 // 5, changes * 2 // 5
    chosen = rng.sample(sorted(owner), updated + changes - new - updated)
    update, delete = chosen[:updated], chosen[updated:]
    targets = [rng.choice(lists) for _ in range(new)]
    requests = 0
    con.sql(f"UPDATE Contacts SET FirstName = 'Changed', Custom1 = 'bench' WHERE ContactId IN ({', '.join(map(str, update))})")
    requests += con.last_stats.requests
    con.sql(f"DELETE FROM Contacts WHERE ContactId IN ({', '.join(map(str, delete))})")
    requests += con.last_stats.requests
    values = ", ".join(f"({list_id}, '+6141{rng.randrange(10**7):07d}', 'New {i}')" for i, list_id in enumerate(targets))
    con.sql(f"INSERT INTO Contacts (ListId, PhoneNumber, FirstName) VALUES {values}")
    requests += con.last_stats.requests
    return {"new": len(targets), "updated": len(update), "deleted": len(delete), "write_requests": requests,
            "new_by_list": Counter(targets), "updated_by_list": Counter(owner[c] for c in update),
            "deleted_by_list": Counter(owner[c] for c in delete)}


def second_runs(emu: Emulator, con: clicksend_sql.Connection, work: Path, args: argparse.Namespace,
                before: dict[int, int]) -> dict[str, Any]:
    """Item 3: the copy of the first DuckDB run, after the changes, replicated with lag=0 and the default lag."""
    changes = change_contacts(con, args.changes)
    after = dict(con.sql("SELECT ListId, ContactsCount FROM ContactLists").fetchall())
    recounted = sorted(lst for lst in after if after[lst] != before.get(lst))
    with_deletes = sorted(lst for lst in after if changes["deleted_by_list"][lst])
    lists_pages = max(1, math.ceil(len(after) / PAGE_SIZE))
    changed_pages = sum(max(1, math.ceil((changes["new_by_list"][lst] + changes["updated_by_list"][lst]) / PAGE_SIZE))
                        for lst in after)
    # Once the new and updated rows are merged, the copy counts a list's deletes more than ClickSend does:
    # only the lists with a delete need their keys read again.
    key_scan_pages = sum(math.ceil(after[lst] / PAGE_SIZE) for lst in with_deletes)
    first = work / "first-0"
    import duckdb

    with duckdb.connect(str(first / "copy.duckdb"), read_only=True) as db:
        window = db.sql(f"SELECT count(*) FROM {DATASET}.sms_history WHERE date >= "
                        f"(SELECT max(date) FROM {DATASET}.sms_history) - INTERVAL {DEFAULT_LAG_S} SECOND").fetchall()[0][0]
    runs, places = {}, {}
    for name, lag, sms_pages in (("lag=0", 0, 1), ("default lag (3 days)", None, max(1, math.ceil(window / PAGE_SIZE)))):
        place = places[name] = work / f"second-{'lag0' if lag == 0 else 'default'}"
        shutil.copytree(first, place)
        least = lists_pages + changed_pages + key_scan_pages + sms_pages
        figures = run_child({"client": "ours", "tables": ["SMSHistory", "Contacts"], "rate": args.rate,
                             "concurrency": args.concurrency, "destination": destination_uri(place / "copy.duckdb"),
                             "pipelines_dir": str(place / "pipelines"), "lag": lag, "pause": args.pause}, emu)
        figures.update(least_requests=least, ratio=figures["requests"] / least,
                       least_parts={"lists": lists_pages, "changed_since_cursor": changed_pages,
                                    "key_scans": key_scan_pages, "sms_window": sms_pages})
        runs[name] = figures
    held = dict(con.sql("SELECT ContactId, FirstName FROM Contacts").fetchall())
    for name, figures in runs.items():
        with duckdb.connect(str(places[name] / "copy.duckdb"), read_only=True) as db:
            copied = dict(db.sql(f"SELECT contact_id, first_name FROM {DATASET}.contacts").fetchall())
        figures["copy_matches_clicksend"] = copied == held
    return {"changes": {k: (dict(v) if isinstance(v, Counter) else v) for k, v in changes.items()},
            "lists_count_changed": recounted, "lists_with_deletes": with_deletes, "sms_window_rows": window, "runs": runs}


def memory_runs(args: argparse.Namespace) -> dict[str, Any]:
    """Item 4: SMSHistory alone into DuckDB, small and large, no latency and no rate limit; as the package
    does it, and again with the destination's DuckDB held to a memory limit through dlt's configuration."""
    variants = {variant: MEMORY_VARIANTS[variant] for variant in args.memory_variants}
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for rows in (args.small, args.large):
        started = time.perf_counter()
        with Emulator(sizes={"sms-history": rows}, process=True) as emu:
            emulator_start = time.perf_counter() - started
            for variant, env in variants.items():
                with tempfile.TemporaryDirectory(prefix="bench-replicate-memory-") as tmp:
                    copy = destination_uri(Path(tmp) / "copy.duckdb")
                    figures = run_child({"client": "ours", "tables": ["SMSHistory"], "rate": None,
                                         "concurrency": args.concurrency, "destination": copy,
                                         "pipelines_dir": tmp + "/pipelines", "warm": True, "sample": True}, emu, env)
                    figures["rows"] = copy_counts(copy, ["sms_history"])["sms_history"]
                figures.update(variant=variant, emulator_start_s=emulator_start)
                runs[variant].append(figures)
    difference = {variant: pair[1]["growth_mb"] - pair[0]["growth_mb"] for variant, pair in runs.items()}
    return {"small": args.small, "large": args.large, "difference_mb": difference["package"],
            "difference_by_variant_mb": difference, "target_mb": MEMORY_TARGET_MB,
            "ratio": difference["package"] / MEMORY_TARGET_MB, "variants": variants,
            "runs": [run for pair in runs.values() for run in pair]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sms", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="First DuckDB runs; the median counts.")
    parser.add_argument("--pause", type=float, default=1.5, help="Seconds before a run: the server's bucket refills.")
    parser.add_argument("--memory-variants", nargs="+", default=list(MEMORY_VARIANTS), choices=list(MEMORY_VARIANTS),
                        help="The memory runs' set-ups.")
    parser.add_argument("--rest-variants", nargs="+", default=[v[0] for v in REST_VARIANTS],
                        choices=[v[0] for v in REST_VARIANTS], help="Which rest_api configurations to run.")
    parser.add_argument("--quick", action="store_true", help="Tiny sizes, everything measured (a smoke test).")
    args = parser.parse_args()
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    began = time.perf_counter()
    sys.path.insert(0, str(ROOT / "tests"))
    from postgres_server import start_postgres

    with ThreadPoolExecutor(1) as pool:
        starting = pool.submit(start_postgres)  # initdb meanwhile: the memory runs measure memory, not time
        try:
            memory = memory_runs(args)
            sections = {"memory": time.perf_counter() - began}
            server = starting.result()
            with tempfile.TemporaryDirectory(prefix="bench-replicate-") as scratch, \
                    Emulator(sizes={"sms-history": args.sms, "contacts": args.contacts}, latency_ms=args.latency_ms,
                             rate_limit=args.rate, process=True) as emu:
                work = Path(scratch)
                con = clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, rate_limit=args.rate,
                                            concurrency=args.concurrency)
                lists = dict(con.sql("SELECT ListId, ContactsCount FROM ContactLists").fetchall())
                sections["set-up"] = time.perf_counter() - began - sum(sections.values())
                first = first_runs(emu, work, args, lists, server)
                sections["first"] = time.perf_counter() - began - sum(sections.values())
                second = second_runs(emu, con, work, args, lists)
                sections["second"] = time.perf_counter() - began - sum(sections.values())
                con.close()
        finally:
            with contextlib.suppress(Exception):
                starting.result().stop()
    figures = {"quick": args.quick, "seconds": time.perf_counter() - began, "section_seconds": sections,
               "first": first, "second": second, "memory": memory}
    report(figures)
    write_json("replicate-quick" if args.quick else "replicate", figures)


def report(figures: dict[str, Any]) -> None:
    first, second, memory = figures["first"], figures["second"], figures["memory"]
    ours = first["ours"]
    bound = first["bound_s"]
    rows = [summary(f"ours duckdb #{i + 1}", run, bound, None) for i, run in enumerate(ours["runs"])]
    rows.append(summary("ours postgres", first["postgres"], bound, ours["seconds"]))
    rows += [summary(f"rest_api {name}", run, bound, ours["seconds"]) for name, run in first["rest_api"]["variants"].items()]
    print_table(f"First copy: {first['sms']:,} SMSHistory rows + {first['contacts']:,} contacts ({len(first['lists'])} lists), "
                f"latency {first['latency_ms']:g} ms, server limit {first['rate']:g}/s, our client rate_limit="
                f"{first['rate']:g}, concurrency {first['concurrency']}", rows)
    print(f"  API bound: {first['least_requests']} requests at the least: max({first['rate_bound_s']:.2f} s by the rate, "
          f"{first['latency_bound_s']:.2f} s by latency) = {bound:.2f} s")
    print(f"  ours (median of {len(ours['runs'])}): {ours['seconds']:.2f} s = {ours['ratio']:.2f} x bound "
          f"(target <= {FIRST_TARGET}); {ours['requests']} requests ({ours['requests_ratio']:.3f} x least)")
    rest = first["rest_api"]
    print(f"  ours / rest_api ({rest['best']}): {rest['ours_over_rest_api']:.3f} ({rest['speedup']:.1f}x faster; "
          f"target >= 3x); postgres / duckdb: {first['postgres']['ratio_to_duckdb']:.2f}")
    rows = [{"run": name, "requests": run["requests"], "least": run["least_requests"], "ratio": run["ratio"],
             **run["least_parts"], "seconds": run["seconds"],
             "new": sum(t["new"] for t in run["tables"]), "updated": sum(t["updated"] for t in run["tables"]),
             "deleted": sum(t["deleted"] for t in run["tables"]), "copy_ok": run["copy_matches_clicksend"]}
            for name, run in second["runs"].items()]
    changes = second["changes"]
    print_table(f"Second run after {changes['new']} new, {changes['updated']} updated, {changes['deleted']} deleted "
                f"contacts ({len(second['lists_count_changed'])} lists' counts changed, {len(second['lists_with_deletes'])} with a delete)", rows)
    rows = [{"variant": run["variant"], "rows": run["rows"], "growth_mb": run["growth_mb"],
             **{f"{step}_mb": run["growth_by_phase_mb"].get(step) for step in ("extract", "normalize", "load")},
             "baseline_mb": run["baseline_mb"], "seconds": run["seconds"], "requests": run["requests"], **phases(run)}
            for run in memory["runs"]]
    print_table("SMSHistory alone, no latency, no rate limit: peak RSS growth of the replicating process", rows)
    for variant, difference in memory["difference_by_variant_mb"].items():
        print(f"  {variant}: growth, {memory['large']:,} rows minus {memory['small']:,} rows: {difference:.1f} MB "
              f"(target <= {MEMORY_TARGET_MB:g} MB)")


if __name__ == "__main__":
    main()
