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
