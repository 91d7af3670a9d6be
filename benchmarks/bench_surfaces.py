"""The same query through every surface (issue 22 §5): what DB-API, SQLAlchemy and the Postgres
server add to ``con.sql``.

One 20,000-row query (``SELECT * FROM SMSHistory``) against an emulator in a process of its own
(no rate limit; latency 0 by default, so the client's own work is all there is to compare), read
in the form each surface gives, against ``con.sql`` reading the same form, in one run:

- DB-API ``cursor.execute(...).fetchall()`` against ``con.sql(...).fetchall()`` (tuples);
- SQLAlchemy ``pandas.read_sql(sql, engine)`` against ``con.sql(...).df()`` (a DataFrame);
- the Postgres-protocol server (``clicksend-sql serve`` in a process of its own) read by psycopg
  ``fetchall()`` against ``con.sql(...).fetchall()``.

Each is timed ``--repeat`` times (median), with the result cache off. Targets: DB-API and
SQLAlchemy <= 1.1x, the server <= 1.3x.

    python benchmarks/bench_surfaces.py [--rows 20000] [--latency-ms 0] [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlalchemy as sa

import clicksend_sql
import clicksend_sql.dbapi
from clicksend_sql.emulator import Emulator
from report import print_table, write_json

QUERY = "SELECT * FROM SMSHistory"
os.environ["CLICKSEND_SQL_CACHE_TTL"] = "0"  # every read fetches (the cache would answer the repeats); the server too
TARGETS = {"DB-API": 1.1, "SQLAlchemy (pandas.read_sql)": 1.1, "Postgres server (psycopg)": 1.3}
PASSWORD = "bench-password"


def timed(read: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Median seconds of ``repeat`` reads after one warm-up, and the rows the last one read."""
    rows = read()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = read()
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server(emu: Emulator) -> Iterator[str]:
    """``clicksend-sql serve`` against the emulator, in a process of its own; its psycopg conninfo."""
    port = _free_port()
    env = {**os.environ, "CLICKSEND_USERNAME": emu.username, "CLICKSEND_API_KEY": emu.api_key,
           "CLICKSEND_BASE_URL": emu.base_url, "CLICKSEND_SQL_PASSWORD": PASSWORD}
    server = subprocess.Popen([sys.executable, "-c", "from clicksend_sql.cli import run; run()", "serve", "--port",
                               str(port), "--rate-limit", "none"],  # like rate_limit=None here
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {server.stderr.read().decode() if server.stderr else ''}")
                time.sleep(0.1)
        yield f"host=127.0.0.1 port={port} user=clicksend dbname=clicksend password={PASSWORD}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(rows: int, latency_ms: float, repeat: int) -> dict[str, Any]:
    import psycopg

    with Emulator(sizes={"sms-history": rows}, latency_ms=latency_ms, process=True) as emu:
        options = {"base_url": emu.base_url, "rate_limit": None}
        con = clicksend_sql.connect(emu.username, emu.api_key, **options)
        db = clicksend_sql.dbapi.connect(emu.username, emu.api_key, **options)
        engine = sa.create_engine(sa.URL.create("clicksend", username=emu.username, password=emu.api_key,
                                                query={"base_url": emu.base_url, "rate_limit": "none"}))
        try:
            tuples, read = timed(lambda: len(con.sql(QUERY).fetchall()), repeat)
            frame, _ = timed(lambda: len(con.sql(QUERY).df()), repeat)
            cursor = db.cursor()
            dbapi_s, dbapi_rows = timed(lambda: len(cursor.execute(QUERY).fetchall()), repeat)
            pandas_s, pandas_rows = timed(lambda: len(pd.read_sql(QUERY, engine)), repeat)
            with postgres_server(emu) as conninfo, psycopg.connect(conninfo) as pg:
                server_s, server_rows = timed(lambda: len(pg.execute(QUERY).fetchall()), repeat)
        finally:
            engine.dispose()
            db.close()
            con.close()
    assert read == dbapi_rows == pandas_rows == server_rows == rows, (read, dbapi_rows, pandas_rows, server_rows)
    surfaces = [
        ("con.sql().fetchall()", tuples, tuples, None),
        ("con.sql().df()", frame, frame, None),
        ("DB-API", dbapi_s, tuples, TARGETS["DB-API"]),
        ("SQLAlchemy (pandas.read_sql)", pandas_s, frame, TARGETS["SQLAlchemy (pandas.read_sql)"]),
        ("Postgres server (psycopg)", server_s, tuples, TARGETS["Postgres server (psycopg)"]),
    ]
    return {"rows": rows, "latency_ms": latency_ms, "repeat": repeat,
            "runs": [{"surface": name, "seconds": seconds, "baseline_s": base, "ratio": seconds / base,
                      "target": target} for name, seconds, base, target in surfaces]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 1 repeat (a smoke test).")
    args = parser.parse_args()
    rows, repeat = (2_000, 1) if args.quick else (args.rows, args.repeat)
    figures = measure(rows, args.latency_ms, repeat)
    print_table(f"{QUERY}: {rows:,} rows, emulator latency {args.latency_ms:g} ms, median of {repeat}",
                [{k: v for k, v in run.items() if k != "baseline_s"} for run in figures["runs"]])
    write_json("surfaces-quick" if args.quick else "surfaces", figures)


if __name__ == "__main__":
    main()
