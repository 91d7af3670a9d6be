"""The benchmark scripts run: each ``--quick`` mode exits 0 and writes its JSON (in seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def test_bench_writes_quick_runs_and_writes_its_json() -> None:
    started = time.time()
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_writes.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    path = RESULTS / "writes-quick.json"
    assert path.stat().st_mtime >= started - 1
    figures = json.loads(path.read_text(encoding="utf-8"))
    assert figures["send"]["requests_ratio"] == 1.0  # one POST per 1,000 messages
    assert figures["update"]["ratio"] == 1.0  # the lists' pages and one PUT per row, nothing more
    assert figures["contacts"]["requests"] == figures["contacts"]["contacts"]
