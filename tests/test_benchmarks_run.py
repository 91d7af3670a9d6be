"""The benchmark scripts run: each ``--quick`` mode exits 0 and writes its JSON (in seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _quick_run(script: str, results: str, timeout: float) -> dict[str, Any]:
    """Run ``benchmarks/<script> --quick``; the figures of the JSON it (re)wrote."""
    started = time.time()
    done = subprocess.run(
        [sys.executable, f"benchmarks/{script}", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    path = RESULTS / results
    assert path.stat().st_mtime >= started - 1
    return json.loads(path.read_text(encoding="utf-8"))


def test_bench_writes_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_writes.py", "writes-quick.json", timeout=120)
    assert figures["send"]["requests_ratio"] == 1.0  # one POST per 1,000 messages
    assert figures["update"]["ratio"] == 1.0  # the lists' pages and one PUT per row, nothing more
    assert figures["contacts"]["requests"] == figures["contacts"]["contacts"]


def test_bench_startup_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_startup.py", "startup-quick.json", timeout=180)
    assert figures["help"]["ratio"] > 0 and figures["query"]["ratio"] > 0  # ratios, not targets: CI is noisy
    assert {row["set-up"] for row in figures["setup"]} == {"cache built", "no cache"}


def test_bench_streaming_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_streaming.py", "streaming-quick.json", timeout=240)
    runs = {run["statement"]: run for run in figures["runs"] if run["connector"] == "current"}
    assert runs["copy"]["rows"] == runs["distinct"]["rows"] == figures["rows"] == 20_000
    assert runs["copy"]["requests"] == figures["pages"]  # one GET per page, nothing fetched twice
    assert all(run["growth_mb"] > 0 and run["ratio"] > 0 for run in runs.values())  # figures, not targets: CI is noisy


def test_bench_stream_read_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_stream_read.py", "stream-read-quick.json", timeout=180)
    assert [run["rows"] for run in figures["runs"]] == [2_000, 20_000, 2_000]
    assert figures["difference_mb"] < 200  # a smoke test; the 50 MB target is the full run's


def test_bench_replicate_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_replicate.py", "replicate-quick.json", timeout=300)
    first = figures["first"]
    assert first["bound_s"] > 0 and first["bound_by"] in ("rate", "latency")
    ours = first["ours"]
    assert ours["ratio"] > 0 and len(ours["runs"]) == 1  # figures, not targets: CI is noisy
    assert ours["runs"][0]["rows"] == {"sms_history": first["sms"], "contacts": first["contacts"]}
    assert ours["requests"] >= first["least_requests"] and {"extract_s", "load_s", "scan_s"} <= set(ours["phases"])
    rest = first["rest_api"]
    assert set(rest["variants"]) == {"tuned"} and rest["ours_over_rest_api"] > 0
    assert all(v["rows"] == ours["runs"][0]["rows"] for v in rest["variants"].values())  # the same copy, by rest_api
    assert first["postgres"]["rows"] == ours["runs"][0]["rows"] and first["postgres"]["ratio_to_duckdb"] > 0
    second = figures["second"]
    changes = second["changes"]
    assert changes["new"] + changes["updated"] + changes["deleted"] == 10
    for run in second["runs"].values():
        assert run["copy_matches_clicksend"]  # new, updated and deleted contacts all reached the copy
        assert run["requests"] >= run["least_requests"] > 0
        assert sum(t["deleted"] for t in run["tables"]) == changes["deleted"]
    memory = figures["memory"]
    assert [run["rows"] for run in memory["runs"]] == [memory["small"], memory["large"]]
    assert all(run["growth_mb"] > 0 for run in memory["runs"]) and "difference_mb" in memory


def test_bench_listen_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_listen.py", "listen-quick.json", timeout=300)
    runs = {run["mode"]: run for run in figures["runs"]}
    assert set(runs) == {"poll 0.1 s", "webhook"}  # --quick: one poll mode and webhooks
    for run in runs.values():  # figures, not targets: CI is noisy
        latency, burst = run["latency"], run["burst"]
        assert latency["messages"] == 5 and latency["p95_ms"] >= latency["median_ms"] > 0 and latency["post_ms"] > 0
        assert burst["messages"] == burst["posted"] == 100 and burst["msgs_per_s"] > 0 and burst["batches"] >= 1
        assert burst["processed"] + burst["lost"] == 100 and {"requests_per_msg", "by_operation", "drain_s"} <= set(burst)
        assert {"statement", "inbox put", "inbox finish"} <= set(burst["phases"])
        if not run["webhook"]:  # an unread message stays listed until done: polling loses none
            assert burst["lost"] == 0 and burst["requests"] == sum(burst["by_operation"].values()) >= 1
            assert set(burst["by_operation"]) <= {"GET /v3/sms/inbound", "PUT /v3/sms/inbound-read"}
            idle = run["after_burst"]
            assert idle["polls"] >= 1 and idle["requests_per_poll"] > 0 and idle["rows_listed_per_poll"] >= 0
    webhook = runs["webhook"]["burst"]
    assert runs["webhook"]["after_burst"] is None and webhook["requests"] == 0 and {"logged", "pending", "statuses", "retried"} <= set(webhook["deliveries"])


def test_bench_surfaces_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_surfaces.py", "surfaces-quick.json", timeout=180)
    runs = {run["surface"]: run for run in figures["runs"]}
    assert set(runs) == {"con.sql().fetchall()", "con.sql().df()", "DB-API", "SQLAlchemy (pandas.read_sql)",
                         "Postgres server (psycopg)"}
    assert figures["rows"] == 2_000 and all(run["ratio"] > 0 for run in runs.values())  # figures, not targets: CI is noisy


def test_bench_rate_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_rate.py", "rate-quick.json", timeout=120)
    single = {(row["R/s"], row["headers"]): row for row in figures["single"]}
    assert set(single) == {(10.0, "sent"), (50.0, "sent"), (100.0, "sent"), (50.0, "stripped")}
    for row in single.values():  # figures, not targets: CI is noisy and the quick scans are short
        assert row["pages"] == 15 and row["requests"] == row["pages"] + row["429s"] and row["ratio"] > 0
    assert all(single[rate, "sent"]["429s"] <= 2 for rate in (10.0, 50.0, 100.0))  # the headers say what is left
    (sql,) = figures["sql"]
    assert sql["R/s"] == 50.0 and sql["pages"] == 15 and sql["ratio"] > 0
    (two,) = figures["two"]
    assert two["connections"] == "2 threads" and two["pages"] == 30 and two["ratio"] > 0


def test_bench_cpu_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_cpu.py", "cpu-quick.json", timeout=120)
    runs = {run["read"]: run for run in figures["runs"]}
    assert set(runs) == {"bare httpx loop", "con.sql, rate_limit=None", "con.sql, default settings"}
    assert all(run["rows"] == 2_000 and run["cpu_s"] > 0 for run in runs.values())  # figures, not targets: CI is noisy


def test_bench_peers_quick_runs_and_writes_its_json() -> None:
    figures = _quick_run("bench_peers.py", "peers-quick.json", timeout=180)
    runs = {run["reader"]: run for run in figures["runs"]}
    assert set(runs) == {"ours, con.sql", "ours, con.stream", "SDK page loop", "dlt rest_api"}
    for run in runs.values():  # the script checked each read the same message ids; figures, not targets: CI is noisy
        assert run["rows"] == figures["rows"] == 2_000 and run["requests"] == figures["pages"] + run["429s"]
        assert run["wall/bound"] > 0 and run["ours/this"] > 0
