"""The write pipeline's figures, each as a ratio measured in one run (these machines are noisy).

1. send: INSERT of N messages into SMSHistory, latency L, rate limit R, concurrency C. Requests
   issued as a ratio to ceil(N / 1,000), one POST /sms/send per 1,000 messages (target 1.00).
   Wall time as a ratio to the same sends made with bare httpx at the same concurrency, the floor
   this machine allows (each run on a fresh emulator; the median over repeats of each pair's
   ratio). The emulator's own CPU time per message is most of the wall time (reported for both
   sides) and varies by a quarter between identical runs on a shared machine, so this ratio is
   only good to about +-0.25. The latency bound requests * L / C is reported but is not a bound.
   Rows per second are reported too.
2. contacts: INSERT of M contacts (one POST each) with the emulator and the client limited to R
   requests/s: wall time / (M / R). Target <= 1.15.
3. update: UPDATE of K contacts chosen by FirstName (no key, so every list is read), with requests
   issued compared to the minimum: one page of the lists, one page per 100 contacts of each list,
   and one PUT per matched row. Target 1.00.

    python benchmarks/bench_writes.py [--messages 10000] [--contacts 500] [--updates 1000]
        [--rate 50] [--latency-ms 100] [--concurrency 8] [--repeats 5]
    python benchmarks/bench_writes.py --quick     # small sizes, a few seconds (tests run it)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
import uuid
from typing import Any

import httpx

import clicksend_sql
from clicksend_sql.emulator import Emulator
from bench_emulator import _cpu_seconds
from report import print_table, write_json

BATCH = 1000  # messages per POST /sms/send
WARM_UP = 500  # messages
PAGE_SIZE = 100
SEND_SQL = (
    'INSERT INTO SMSHistory ("To", Body) '
    "SELECT '+614' || lpad((10000000 + i)::VARCHAR, 8, '0'), 'Hi ' || i || ' {tag}' FROM range({n}) t(i)"
)
CONTACTS_SQL = (
    "INSERT INTO Contacts (ListId, PhoneNumber, FirstName) "
    "SELECT {list_id}, '+6141' || lpad(i::VARCHAR, 7, '0'), 'n' || i FROM range({n}) t(i)"
)
UPDATE_SQL = "UPDATE Contacts SET Custom1 = 'x' WHERE FirstName LIKE 'bench-%'"


def _all_ok(out: Any, expected: int, what: str) -> None:
    statuses = out.column("status").to_pylist()
    if len(statuses) != expected or set(statuses) != {"ok"}:
        errors = sorted({e for e in out.column("error").to_pylist() if e})[:3]
        raise SystemExit(f"{what}: {len(statuses)} outcome rows, statuses {sorted(set(statuses))}; "
                         f"expected {expected} ok; {errors}")


async def raw_sends(emu: Emulator, messages: int, concurrency: int, tag: str) -> float:
    """The same sends (same batches, one CustomString per message) with bare httpx: no planning,
    validation, outcome rows or limiter, so the floor of the emulator and this machine."""
    run = uuid.uuid4().hex[:12]
    bodies = [
        {"messages": [{"to": f"+614{10000000 + i:08d}", "body": f"Hi {i} {tag}", "custom_string": f"csql-{run}-{i + 1}"}
                      for i in range(start, min(start + BATCH, messages))]}
        for start in range(0, messages, BATCH)
    ]
    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=emu.base_url + "/", auth=(emu.username, emu.api_key), timeout=120,
                                 limits=httpx.Limits(max_connections=concurrency)) as http:

        async def send(body: dict[str, Any]) -> None:
            async with slots:
                (await http.post("sms/send", json=body)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(send(b) for b in bodies))
        return time.perf_counter() - started


def _send_once(raw: bool, messages: int, rate: float, latency_ms: float, concurrency: int) -> dict[str, Any]:
    """One measured send, by bare httpx or by SQL, on an emulator of its own: the seeded balance
    pays for about 14,000 AU messages, and the same body to the same number within a minute is
    THROTTLED, so the warm-up and the measured run use different bodies."""
    with Emulator(latency_ms=latency_ms, rate_limit=rate, process=True) as emu:
        if raw:  # the warm-up pays the first request's costs (imports, validators, connections)
            asyncio.run(raw_sends(emu, WARM_UP, concurrency, "w"))
            cpu = _cpu_seconds(emu.pid)
            seconds = asyncio.run(raw_sends(emu, messages, concurrency, "m"))
            return {"seconds": seconds, "server_cpu": _difference(_cpu_seconds(emu.pid), cpu)}
        with clicksend_sql.connect(
            emu.username, emu.api_key, base_url=emu.base_url, rate_limit=rate, concurrency=concurrency
        ) as con:
            _all_ok(con.sql(SEND_SQL.format(n=WARM_UP, tag="w")).arrow(), WARM_UP, "warm-up send")
            emu.reset_stats()
            cpu = _cpu_seconds(emu.pid)
            started = time.perf_counter()
            result = con.sql(SEND_SQL.format(n=messages, tag="m"))
            seconds = time.perf_counter() - started
            server_cpu = _difference(_cpu_seconds(emu.pid), cpu)
            _all_ok(result.arrow(), messages, "send")
            return {"seconds": seconds, "server_cpu": server_cpu, "requests": emu.stats()["total"],
                    "retries": con.last_stats.retries}


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def bench_send(messages: int, rate: float, latency_ms: float, concurrency: int, repeats: int) -> dict[str, object]:
    ours, floor = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        floor.append(_send_once(True, messages, rate, latency_ms, concurrency))
        ours.append(_send_once(False, messages, rate, latency_ms, concurrency))
    least = math.ceil(messages / BATCH)
    requests = max(r["requests"] for r in ours)
    seconds = statistics.median(r["seconds"] for r in ours)
    floor_seconds = statistics.median(r["seconds"] for r in floor)
    return {
        "messages": messages,
        "requests": requests,
        "minimum": least,
        "requests_ratio": requests / least,
        "retries": max(r["retries"] for r in ours),
        "seconds": seconds,
        "rows_per_s": messages / seconds,
        "raw_httpx_seconds": floor_seconds,
        # each repeat's pair ran back to back, so the median of the pairs' ratios tracks the load best
        "ratio_to_raw": statistics.median(o["seconds"] / f["seconds"] for o, f in zip(ours, floor, strict=True)),
        # the single-process emulator's CPU time for the same run: it, not the client, is most of the wall time
        "server_cpu_seconds": _median([r["server_cpu"] for r in ours]),
        "raw_server_cpu_seconds": _median([r["server_cpu"] for r in floor]),
        "latency_bound_seconds": least * latency_ms / 1000 / concurrency,
        "repeats": repeats,
        "target": "requests 1.00",
    }


def bench_contacts(contacts: int, rate: float, latency_ms: float, concurrency: int) -> dict[str, object]:
    with Emulator(latency_ms=latency_ms, rate_limit=rate, process=True) as emu:
        with clicksend_sql.connect(
            emu.username, emu.api_key, base_url=emu.base_url, rate_limit=rate, concurrency=concurrency
        ) as con:
            list_id = con.sql("SELECT min(ListId) FROM ContactLists").fetchone()[0]
            emu.reset_stats()
            started = time.perf_counter()
            result = con.sql(CONTACTS_SQL.format(list_id=list_id, n=contacts))
            seconds = time.perf_counter() - started
            stats, made = con.last_stats, emu.stats()["total"]
            _all_ok(result.arrow(), contacts, "contacts")
    bound = contacts / rate
    return {
        "contacts": contacts,
        "requests": made,
        "retries": stats.retries,
        "rate_limited": stats.rate_limited,
        "seconds": seconds,
        "bound_seconds": bound,
        # the server's bucket starts full (a burst of R), so (M - R) / R + L could be beaten by nothing
        "burst_bound_seconds": max(0.0, contacts - rate) / rate + latency_ms / 1000,
        "ratio": seconds / bound,
        "target": "<= 1.15",
    }


def bench_update(updates: int, seeded: int, concurrency: int) -> dict[str, object]:
    """No latency or rate limit: the figure is a count of requests, not a time."""
    with Emulator(sizes={"contacts": seeded}, process=True) as emu:
        with clicksend_sql.connect(
            emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None, concurrency=concurrency
        ) as con:
            created = con.sql("INSERT INTO ContactLists (ListName) VALUES ('bench-writes')").arrow()
            list_id = int(created.column("key")[0].as_py())
            _all_ok(con.sql(
                f"INSERT INTO Contacts (ListId, PhoneNumber, FirstName) "
                f"SELECT {list_id}, '+6142' || lpad(i::VARCHAR, 7, '0'), 'bench-' || i FROM range({updates}) t(i)"
            ).arrow(), updates, "update setup")
            matching = con.sql("SELECT count(*) FROM Contacts WHERE FirstName LIKE 'bench-%'").fetchone()[0]
            if matching != updates:
                raise SystemExit(f"update: {matching} contacts match the predicate, expected {updates}")
            sizes = [n for (n,) in con.sql("SELECT ContactsCount FROM ContactLists").fetchall()]
            emu.reset_stats()
            started = time.perf_counter()
            result = con.sql(UPDATE_SQL)
            seconds = time.perf_counter() - started
            by_operation = emu.stats()["by_operation"]
            _all_ok(result.arrow(), updates, "update")
            changed = con.sql(
                "SELECT count(*) FROM Contacts WHERE FirstName LIKE 'bench-%' AND Custom1 = 'x'"
            ).fetchone()[0]
            if changed != updates:
                raise SystemExit(f"update: {changed} contacts read back changed, expected {updates}")
    reads = max(1, math.ceil(len(sizes) / PAGE_SIZE)) + sum(max(1, math.ceil(n / PAGE_SIZE)) for n in sizes)
    made = sum(by_operation.values())
    return {
        "contacts": sum(sizes),
        "lists": len(sizes),
        "updated": updates,
        "reads": made - by_operation.get("PUT /v3/lists/{list_id}/contacts/{contact_id}", 0),
        "puts": by_operation.get("PUT /v3/lists/{list_id}/contacts/{contact_id}", 0),
        "requests": made,
        "minimum": reads + updates,
        "ratio": made / (reads + updates),
        "seconds": seconds,
        "target": "1.00",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--seeded-contacts", type=int, default=2000, help="contacts the update's account starts with")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs of the send and its floor")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (results/writes-quick.json)")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.contacts, args.updates, args.seeded_contacts, args.repeats = 2000, 100, 100, 300, 1
    send = bench_send(args.messages, args.rate, args.latency_ms, args.concurrency, args.repeats)
    print_table(f"INSERT of {args.messages:,} messages into SMSHistory (latency {args.latency_ms:g} ms, "
                f"rate {args.rate:g}/s, C = {args.concurrency})", [send])
    contacts = bench_contacts(args.contacts, args.rate, args.latency_ms, args.concurrency)
    print_table(f"INSERT of {args.contacts:,} Contacts at {args.rate:g} requests/s: wall time / (M / R)", [contacts])
    update = bench_update(args.updates, args.seeded_contacts, args.concurrency)
    print_table(f"UPDATE of {args.updates:,} contacts by FirstName: requests vs the minimum", [update])
    write_json("writes-quick" if args.quick else "writes", {
        "settings": {k: v for k, v in vars(args).items()}, "send": send, "contacts": contacts, "update": update,
    })


if __name__ == "__main__":
    main()
