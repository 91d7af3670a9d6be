"""How fast the command line starts, as ratios measured in one run (these machines are noisy).
Every figure is the median wall time of fresh subprocesses.

1. help: ``clicksend-sql --help`` against ``python -c "import click"``. Target <= 1.5.
2. query: ``clicksend-sql query "SELECT count(*), min(ListName) FROM ContactLists"`` against an
   emulator in its own process, as a ratio to a plain script that imports duckdb and httpx, makes
   the same GET (/v3/lists?page=1&limit=100), loads the JSON into DuckDB and runs the same SQL.
   Target <= 1.5. Also without pandas (an optional extra pyarrow imports whenever it is installed),
   and the design's floor: a process that imports the libraries the design names (DuckDB; pyarrow
   with its JSON reader and the compute module DuckDB's Arrow scan imports; sqlglot with its
   DuckDB dialect and optimizer; asyncio and httpx's async client), makes that client and a DuckDB
   connection, and does nothing else. The three commands take turns, so a machine slowing down
   mid-run slows each alike. The package's bytecode is compiled first, as pip does on install: an
   editable install under PYTHONDONTWRITEBYTECODE would otherwise compile every changed module on
   every start (25 ms and more).
3. set-up: import of ``clicksend_sql`` and of its connection module, and ``connect()`` in a fresh
   process (with the start-up cache built, and without any cache), in ms. Informational.

    python benchmarks/bench_startup.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import clicksend_sql
from clicksend_sql.emulator import Emulator
from report import in_turns, print_table, write_json

SQL = "SELECT count(*), min(ListName) FROM ContactLists"
SCRIPT = Path(sys.executable).with_name("clicksend-sql")
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-c", "from clicksend_sql.cli import main; main()"]

# What a user would write without clicksend-sql: one GET, the page's rows into DuckDB, the SQL.
PLAIN_SCRIPT = """
import sys, tempfile
import duckdb, httpx
base_url, username, api_key, sql = sys.argv[1:5]
body = httpx.get(base_url + "/lists", params={"page": 1, "limit": 100}, auth=(username, api_key)).content
with tempfile.NamedTemporaryFile(suffix=".json") as page:
    page.write(body)
    page.flush()
    con = duckdb.connect()
    con.execute(f"CREATE VIEW ContactLists AS SELECT d.list_id AS ListId, d.list_name AS ListName "
                f"FROM (SELECT unnest(data.data) AS d FROM read_json('{page.name}'))")
    print(con.sql(sql).fetchall())
"""

SETUP_SCRIPT = """
import json, time
started = time.perf_counter()
import clicksend_sql
package = time.perf_counter()
from clicksend_sql.connection import connect
imported = time.perf_counter()
con = connect("demo", "00000000-0000-4000-8000-000000000000", base_url="http://127.0.0.1:9/v3")
connected = time.perf_counter()
con.close()
print(json.dumps({"import_package_ms": (package - started) * 1000, "import_connection_ms": (imported - package) * 1000,
                  "connect_ms": (connected - imported) * 1000}))
"""


# The libraries the design cannot do without, loaded, with the two objects every statement needs.
DESIGN_FLOOR = """
import asyncio, duckdb, httpx, pyarrow.compute, pyarrow.json, sqlglot.dialects.duckdb, sqlglot.optimizer.qualify
httpx.AsyncClient()
duckdb.connect()
"""


def wall_time(command: list[str], repeats: int, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Median seconds of ``repeats`` runs, and the last run's stdout (a failed run raises)."""
    medians, outs = taking_turns({"command": (command, env)}, repeats)
    return medians["command"], outs["command"]


def taking_turns(commands: dict[str, tuple[list[str], dict[str, str] | None]], repeats: int
                 ) -> tuple[dict[str, float], dict[str, str]]:
    """Each command's median seconds over ``repeats`` rounds in which every command runs once
    (:func:`report.in_turns`), and its last stdout."""
    runs = in_turns({name: partial(timed_run, command, env) for name, (command, env) in commands.items()}, repeats)
    return ({name: statistics.median(seconds for seconds, _ in done) for name, done in runs.items()},
            {name: done[-1][1] for name, done in runs.items()})


def timed_run(command: list[str], env: dict[str, str] | None) -> tuple[float, str]:
    """Seconds ``command`` took, and its stdout (a failed run raises)."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds, done.stdout


def bench_help(repeats: int) -> dict[str, object]:
    medians, _ = taking_turns({"ours": ([*CLI, "--help"], None), "click": ([sys.executable, "-c", "import click"], None)},
                              repeats)
    ours, click = medians["ours"], medians["click"]
    return {"help_ms": ours * 1000, "import_click_ms": click * 1000, "ratio": ours / click, "target": "<= 1.5"}


def bench_query(repeats: int) -> dict[str, object]:
    with Emulator(process=True) as emu, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CLICKSEND_USERNAME": emu.username, "CLICKSEND_API_KEY": emu.api_key,
               "CLICKSEND_BASE_URL": emu.base_url}
        plain = Path(tmp, "plain.py")
        plain.write_text(PLAIN_SCRIPT, encoding="utf-8")
        cli = [*CLI, "query", "--format", "csv", SQL]
        wall_time(cli, 1, env)  # builds the start-up cache, as any first run does
        # pandas is an optional extra; where it is installed pyarrow imports it at the first array
        # it builds (~0.2 s). A package shadowing it with an ImportError measures a default install.
        Path(tmp, "pandas").mkdir()
        Path(tmp, "pandas", "__init__.py").write_text("raise ImportError('not installed')\n", encoding="utf-8")
        bare_env = {**env, "PYTHONPATH": tmp}
        medians, outs = taking_turns({
            "cli": (cli, env), "bare": (cli, bare_env),
            "plain": ([sys.executable, str(plain), emu.base_url, emu.username, emu.api_key, SQL], env),
            "floor": ([sys.executable, "-c", DESIGN_FLOOR], bare_env),
        }, repeats)
    ours, bare, theirs, floor = (medians[name] for name in ("cli", "bare", "plain", "floor"))
    count = int(outs["cli"].splitlines()[1].split(",")[0])
    assert outs["plain"].startswith(f"[({count}, "), outs  # both answered the same
    return {"cli_ms": ours * 1000, "plain_script_ms": theirs * 1000, "ratio": ours / theirs,
            "cli_without_pandas_ms": bare * 1000, "ratio_without_pandas": bare / theirs,
            "design_floor_ms": floor * 1000, "floor_ratio": floor / theirs,
            "over_floor_ms": (bare - floor) * 1000, "target": "<= 1.5"}


def bench_setup(repeats: int) -> list[dict[str, object]]:
    rows = []
    for name, cache in (("cache built", None), ("no cache", "")):
        env = {**os.environ} if cache is None else {**os.environ, "CLICKSEND_SQL_CACHE_DIR": cache}
        runs = []
        for _ in range(repeats):
            _, out = wall_time([sys.executable, "-c", SETUP_SCRIPT], 1, env)
            runs.append(json.loads(out))
        rows.append({"set-up": name, **{key: statistics.median(r[key] for r in runs) for key in runs[0]}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="One run of each (a smoke test).")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    compileall.compile_dir(Path(clicksend_sql.__file__).parent, quiet=1)
    help_row = bench_help(repeats)
    print_table("clicksend-sql --help vs python -c 'import click'", [help_row])
    query = bench_query(repeats)
    print_table(f"clicksend-sql query {SQL!r} vs a plain duckdb + httpx script", [query])
    setup = bench_setup(repeats)
    print_table("Import and connect() in a fresh process (ms)", setup)
    write_json("startup-quick" if args.quick else "startup",
               {"settings": {"repeats": repeats, "quick": args.quick}, "help": help_row, "query": query, "setup": setup})


if __name__ == "__main__":
    main()
