"""The ``emulator`` command as a user runs it: a blocking server in its own process."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx


def test_cli_prints_credentials_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "clicksend_sql.emulator", "--port", "0", "--seed", "4", "--size", "lists=3",
         "--size", "contacts=20"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        lines = dict(proc.stdout.readline().split(":", 1) for _ in range(3))
        base_url, username, key = (lines[k].strip() for k in ("base_url", "username", "api_key"))
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v3") and username == "demo"
        r = httpx.get(base_url + "/lists", auth=(username, key), timeout=10)
        assert r.status_code == 200 and r.json()["data"]["total"] == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_rejects_a_bad_size() -> None:
    done = subprocess.run([sys.executable, "-m", "clicksend_sql.emulator", "--size", "contacts=lots"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "NAME=COUNT" in done.stderr


def test_ctrl_c_stops_the_emulator_quietly() -> None:
    """Ctrl-C is how the command is meant to end: exit 130 (interrupted), no "Aborted!"."""
    child = subprocess.Popen([sys.executable, "-c", "from clicksend_sql.cli import run; run()", "emulator", "--port", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().startswith("base_url: http://127.0.0.1:")
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130 and "Aborted" not in err and "Traceback" not in err
