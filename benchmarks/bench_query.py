"""The query engine's figures, each as a ratio measured in one run (these machines are noisy).

1. scan: SELECT over all of SMSHistory (N rows) from an emulator with latency L and rate limit R,
   as a ratio to the bound max(pages / R, pages * L / concurrency). Target <= 1.15.
2. conversion: rows per second from raw page bytes to a typed Arrow table, as a ratio to DuckDB's
   own read_json over the same bytes. Target >= 0.5.
3. pushdown: requests issued for key lookup, parent key, date range, LIMIT and count(*) queries,
   against the minimum. Target: equal.

    python benchmarks/bench_query.py [--rows 20000] [--rate 50] [--latency-ms 100] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

import clicksend_sql
from clicksend_sql.catalog import load_catalog
from clicksend_sql.conversion import bodies_to_arrow
from clicksend_sql.emulator import Emulator
from report import print_table, write_json

PAGE_SIZE = 100


def bench_scan(rows: int, rate: float, latency_ms: float, concurrency: int) -> dict[str, object]:
    with Emulator(sizes={"sms-history": rows}, latency_ms=latency_ms, rate_limit=rate, process=True) as emu:
        with clicksend_sql.connect(
            emu.username, emu.api_key, base_url=emu.base_url, rate_limit=rate, concurrency=concurrency
        ) as con:
            started = time.perf_counter()
            result = con.sql("SELECT count(DISTINCT MessageId) AS n, sum(MessagePrice) AS spent FROM SMSHistory")
            seconds = time.perf_counter() - started
            stats = con.last_stats
    pages = math.ceil(rows / PAGE_SIZE)
    bound = max(pages / rate, pages * latency_ms / 1000 / concurrency)
    return {
        "rows": result.fetchone()[0],
        "pages": pages,
        "requests": stats.requests,
        "retries": stats.retries,
        "rate_limited": stats.rate_limited,
        "seconds": seconds,
        "bound_seconds": bound,
        "ratio": seconds / bound,
        "target": "<= 1.15",
    }


def _pages(rows: int) -> list[bytes]:
    with Emulator(sizes={"sms-history": rows}, process=True) as emu:
        with httpx.Client(base_url=emu.base_url, auth=(emu.username, emu.api_key)) as http:
            last = math.ceil(rows / PAGE_SIZE)
            return [
                http.get("/sms/history", params={"page": p, "limit": PAGE_SIZE}).content for p in range(1, last + 1)
            ]


def bench_conversion(rows: int, repeats: int = 5) -> dict[str, object]:
    bodies = _pages(rows)
    table = load_catalog().table("SMSHistory")
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        # One file per page: the fastest of the read_json forms tried (one NDJSON file of all
        # pages was slower, as was unnest(..., recursive := true)).
        for i, body in enumerate(bodies):
            Path(tmp, f"page{i:05}.json").write_bytes(body)
        con = duckdb.connect()
        query = f"SELECT d.* FROM (SELECT unnest(data.data) AS d FROM read_json('{tmp}/page*.json'))"
        for _ in range(repeats):
            started = time.perf_counter()
            converted = bodies_to_arrow(table, bodies, "paginator")
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            reference = con.sql(query).to_arrow_table()
            theirs.append(time.perf_counter() - started)
    assert converted.num_rows == reference.num_rows == rows
    ours_rps, theirs_rps = rows / statistics.median(ours), rows / statistics.median(theirs)
    return {
        "rows": rows,
        "megabytes": sum(map(len, bodies)) / 1e6,
        "ours_rows_per_s": ours_rps,
        "duckdb_read_json_rows_per_s": theirs_rps,
        "ratio": ours_rps / theirs_rps,
        "target": ">= 0.5",
    }


PUSHDOWN_QUERIES = [  # (name, sql, minimum requests)
    ("key lookup", "SELECT * FROM ContactLists WHERE ListId = {list_id}", 1),
    ("key IN", "SELECT * FROM ContactLists WHERE ListId IN ({list_id}, {list_id2})", 2),
    ("contact by key", "SELECT * FROM Contacts WHERE ListId = {list_id} AND ContactId = {contact_id}", 1),
    ("parent key", "SELECT * FROM Contacts WHERE ListId = {list_id}", "pages_of_list"),
    ("date range", "SELECT * FROM SMSHistory WHERE Date >= '{date_from}' AND Date < '{date_to}'", "pages_of_range"),
    ("LIMIT", "SELECT * FROM SMSHistory LIMIT 10", 1),
    ("ORDER BY + LIMIT", "SELECT * FROM SMSHistory ORDER BY Date DESC LIMIT 10", 1),
    ("count(*)", "SELECT count(*) FROM SMSHistory", 1),
    ("count(*) of a list", "SELECT count(*) FROM Contacts WHERE ListId = {list_id}", 1),
    ("join, no N+1", "SELECT l.ListName, count(*) FROM Contacts c JOIN ContactLists l USING (ListId) GROUP BY 1",
     "lists_plus_pages"),
    # issue 11: pushdown through the fan-out and across the statement
    ("LIMIT through lists -> contacts", "SELECT * FROM Contacts LIMIT 5", 2),
    ("count(*) of all contacts", "SELECT count(*) FROM Contacts", 1),
    ("searchable field, no hit", "SELECT * FROM Contacts WHERE Email = 'nobody@example.invalid'", 1),
    # the search names a hit's contact id but not its list: one GET per list finds it
    ("searchable field, one hit", "SELECT * FROM Contacts WHERE Email = '{email}'", "search_lists_gets"),
    ("rough filter + ORDER BY + LIMIT", "SELECT * FROM SMSHistory WHERE Status = 'Failed' ORDER BY Date DESC LIMIT 10", 1),
    ("bound from a local copy, nothing new", "SELECT * FROM SMSHistory WHERE Date > (SELECT max(Date) FROM my_copy)", 1),
]


def bench_pushdown() -> list[dict[str, object]]:
    with Emulator(sizes={"sms-history": 3000, "contacts": 1200, "lists": 4}) as emu:
        with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None) as con:
            lists = con.sql("SELECT ListId, ContactsCount FROM ContactLists ORDER BY ListId").fetchall()
            list_id, size = lists[0]
            contact_id = con.sql(f"SELECT min(ContactId) FROM Contacts WHERE ListId = {list_id}").fetchone()[0]
            low, high = con.sql("SELECT min(Date), max(Date) FROM SMSHistory").fetchone()
            middle = low + (high - low) / 3
            date_from, date_to = middle.isoformat(), (middle + (high - low) / 3).isoformat()
            in_range = con.sql(
                f"SELECT count(*) FROM SMSHistory WHERE Date >= '{date_from}' AND Date <= '{date_to}'"
            ).fetchone()[0]
            email = con.sql(f"SELECT min(Email) FROM Contacts WHERE ListId = {list_id}").fetchone()[0]
            con.sql("CREATE TABLE my_copy AS SELECT * FROM SMSHistory")
            minimum = {
                "search_lists_gets": 2 + len(lists),
                "pages_of_list": max(1, math.ceil(size / PAGE_SIZE)),
                "pages_of_range": max(1, math.ceil(in_range / PAGE_SIZE)),
                "lists_plus_pages": 1 + sum(max(1, math.ceil(n / PAGE_SIZE)) for _, n in lists),
            }
            values = {"list_id": list_id, "list_id2": lists[1][0], "contact_id": contact_id, "email": email,
                      "date_from": date_from, "date_to": date_to}
            rows = []
            for name, sql, least in PUSHDOWN_QUERIES:
                emu.reset_stats()
                con.sql(sql.format(**values))
                made = emu.stats()["total"]
                least = minimum.get(least, least) if isinstance(least, str) else least
                rows.append({"query": name, "requests": made, "minimum": least, "ratio": made / least})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    scan = bench_scan(args.rows, args.rate, args.latency_ms, args.concurrency)
    print_table(f"Full scan of SMSHistory (latency {args.latency_ms:g} ms, rate {args.rate:g}/s)", [scan])
    conversion = bench_conversion(args.rows)
    print_table("Page bytes -> Arrow vs DuckDB read_json (same bytes)", [conversion])
    pushdown = bench_pushdown()
    print_table("Requests per pushdown query vs the minimum", pushdown)
    write_json("query", {"scan": scan, "conversion": conversion, "pushdown": pushdown})


if __name__ == "__main__":
    main()
