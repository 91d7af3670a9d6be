"""Listening: how soon an inbound SMS reaches SQL, and how many per second a listener keeps up with.

Each mode runs on an emulator of its own (a child process, ``process=True``, so it does not share
this process's GIL) with the listener in this process, its state and the ``replies`` table in one
DuckDB file, and the statement ``INSERT OR IGNORE INTO replies SELECT ... FROM inbound``. Modes:
poll every 0.1 s and every 2 s (the default), each with no client rate limit and with the default
20 requests/s, and webhook mode (the emulator calls the listener's receiver).

1. latency: single messages, one at a time, each after a random pause (up to one poll interval,
   so a message lands anywhere in the poll cycle). The clock starts just before the POST to
   ``/_emulator/inbound`` (one keep-alive client: ``emu.inbound()`` builds an httpx client per
   call, which costs 50-90 ms here) and stops in ``on_batch``, which the listener calls once the
   statement ran and the batch is recorded done. Median and p95; ``post_ms`` is the POST's own
   median (the emulator taking the message).
2. burst: N messages POSTed as fast as the emulator takes them from a few threads (keep-alive
   clients), timed from the first POST until the last message is done. Messages per second,
   batches, and the requests the listener made to the emulator (its counters) per message.
   ``drain_s`` is the time from the last POST's answer to the last message done.

3. after the burst (poll modes): a few quiet seconds, with the requests, rows listed and busy time
   per poll (``after_burst``): what stays unread is listed again by every poll.

``phases`` are the listener's own busy times (during the latency messages, and during the burst)
from timing wrappers around its steps (seconds summed over threads): where a listener's time
goes. Times depend on the machine's load, so compare modes within one run.

    python benchmarks/bench_listen.py [--messages 50] [--burst 2000] [--threads 4]
    python benchmarks/bench_listen.py --quick     # 5 messages, a burst of 100, one poll mode and webhooks (tests run it)
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

import clicksend_sql
from clicksend_sql.emulator import Emulator
from clicksend_sql.listen import inbox as inbox_module
from clicksend_sql.listen import listener as listener_module
from clicksend_sql.listen import webhook as webhook_module
from report import print_table, write_json

REPLIES = "CREATE TABLE IF NOT EXISTS replies (MessageId VARCHAR PRIMARY KEY, Sender VARCHAR, Body VARCHAR, Custom VARCHAR)"
KEEP = 'INSERT OR IGNORE INTO replies SELECT MessageId, "From", Body, CustomString FROM inbound'
TO = "+61480000000"
DEFAULT_RATE = 20.0
LIST_STEP = "list (GET /sms/inbound as SQL)"
STALL_S = 30.0  # longer than the emulator's retries of one webhook (4 tries, 5 s timeouts, 0.2-0.8 s apart)
# (name, webhook, poll interval, client rate limit)
MODES: list[tuple[str, bool, float, float | None]] = [
    ("poll 0.1 s", False, 0.1, None),
    ("poll 2 s", False, 2.0, None),
    ("poll 0.1 s, 20 rps", False, 0.1, DEFAULT_RATE),
    ("poll 2 s, 20 rps", False, 2.0, DEFAULT_RATE),
    ("webhook", True, 2.0, None),
]


# --- where a listener's time goes -----------------------------------------------------------------
class Phases:
    """Busy time and calls of the listener's steps, from wrappers installed around them."""

    STEPS: dict[str, tuple[Any, str]] = {
        LIST_STEP: (listener_module.Listener, "_listed"),
        "mark read": (listener_module.Listener, "_mark_read"),
        "inbox put": (inbox_module.Inbox, "put"),
        "inbox pending (JSON out)": (inbox_module.Inbox, "pending"),
        "statement": (listener_module.Listener, "_hand_over"),
        "inbox finish": (inbox_module.Inbox, "finish"),
        "webhook parse": (webhook_module, "events_of"),
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.rows: dict[str, int] = defaultdict(int)  # rows of the tables a step returned (listed, pending)
        self._originals: list[tuple[Any, str, Any]] = []

    def install(self) -> None:
        for name, (owner, attribute) in self.STEPS.items():
            original = getattr(owner, attribute)
            self._originals.append((owner, attribute, original))
            setattr(owner, attribute, self._timed(name, original))

    def uninstall(self) -> None:
        for owner, attribute, original in reversed(self._originals):
            setattr(owner, attribute, original)
        self._originals.clear()

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = None
            try:
                result = function(*args, **kwargs)
                return result
            finally:
                spent = time.perf_counter() - started
                with self._lock:
                    self.seconds[name] += spent
                    self.calls[name] += 1
                    if isinstance(result, pa.Table):
                        self.rows[name] += result.num_rows
        return timed

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.calls.clear()
            self.rows.clear()

    def snapshot(self) -> dict[str, dict[str, float | int]]:
        with self._lock:
            return {name: {"seconds": round(self.seconds[name], 4), "calls": self.calls[name],
                           **({"rows": self.rows[name]} if name in self.rows else {})}
                    for name in self.STEPS if self.calls.get(name)}


class Done:
    """When each message was done: ``on_batch`` runs after the statement and the inbox's finish."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.batches: list[int] = []
        self._changed = threading.Condition()

    def on_batch(self, batch: pa.Table) -> None:
        now = time.perf_counter()
        with self._changed:
            for message_id in batch.column("MessageId").to_pylist():
                self.at.setdefault(message_id, now)
            self.batches.append(batch.num_rows)
            self._changed.notify_all()

    def wait(self, ids: list[str], timeout: float) -> float:
        """When the last of ``ids`` was done (raise after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(i in self.at for i in ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = sum(1 for i in ids if i not in self.at)
                    raise SystemExit(f"{missing} of {len(ids)} messages not processed after {timeout:g} s")
                self._changed.wait(min(left, 0.5))
            return max(self.at[i] for i in ids)

    def settle(self, ids: list[str], stall: float) -> tuple[int, float]:
        """Wait until every one of ``ids`` is done or none has been done for ``stall`` seconds (a
        webhook the emulator gave up on is never listed again); how many were done, and when the last."""
        with self._changed:
            while True:
                count = sum(1 for i in ids if i in self.at)
                if count == len(ids) or not self._changed.wait(stall):
                    times = [self.at[i] for i in ids if i in self.at]
                    return count, max(times) if times else time.perf_counter()


# --- one mode -----------------------------------------------------------------------------------------
@contextmanager
def listening(webhook: bool, interval: float, rate: float | None, folder: Path,
              done: Done) -> Iterator[tuple[Emulator, Any, Any]]:
    """An emulator of its own, a connection (a DuckDB file with ``replies``) and its started listener."""
    with Emulator(seed=7, process=True) as emu:
        _drain_stderr(emu)
        with clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url, rate_limit=rate,
                                   database=str(folder / "replies.duckdb")) as con:
            con.sql(REPLIES)
            options: dict[str, Any] = {"interval": interval, "on_batch": done.on_batch}
            if webhook:
                port = _free_port()
                options.update(public_url=f"http://127.0.0.1:{port}", port=port)
            with con.listen(KEEP, **options) as listener:
                yield emu, con, listener
            if listener.stats.errors:
                raise SystemExit(f"the listener reported errors: {[e.error for e in listener.stats.errors][:3]}")


def _drain_stderr(emu: Emulator) -> None:
    """Read the emulator child's stderr as it comes: nothing else does after it started, and once
    its pipe is full (64 KB: a few hundred "webhook failed" warnings) the emulator blocks in logging."""
    stream = emu._child.stderr if emu._child is not None else None  # noqa: SLF001

    def drain() -> None:
        assert stream is not None
        try:
            for _ in iter(stream.readline, ""):
                pass
        except (OSError, ValueError):  # closed by Emulator.stop()
            pass

    if stream is not None:
        threading.Thread(target=drain, name="emulator-stderr", daemon=True).start()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _arrive(http: httpx.Client, emu: Emulator, sender: str, body: str) -> str:
    answer = http.post(f"http://{emu.host}:{emu.port}/_emulator/inbound", json={"from": sender, "to": TO, "body": body})
    answer.raise_for_status()
    return str(answer.json()["data"]["message_id"])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def measure_latency(emu: Emulator, done: Done, phases: Phases, messages: int, pause: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    phases.reset()
    waits, posts = [], []
    with httpx.Client(timeout=30) as http:
        http.get(f"http://{emu.host}:{emu.port}/_emulator/stats").raise_for_status()  # open the connection
        for i in range(messages):
            time.sleep(rng.uniform(0, pause))
            started = time.perf_counter()
            message_id = _arrive(http, emu, f"+614{i:08d}", f"latency {i}")
            posts.append(time.perf_counter() - started)
            waits.append(done.wait([message_id], timeout=60) - started)
    return {"messages": messages, "median_ms": statistics.median(waits) * 1000,
            "p95_ms": _percentile(waits, 0.95) * 1000, "max_ms": max(waits) * 1000,
            "post_ms": statistics.median(posts) * 1000, "phases": phases.snapshot()}


def measure_burst(emu: Emulator, con: Any, listener: Any, done: Done, phases: Phases, burst: int,
                  threads: int) -> dict[str, Any]:
    batches_before = listener.stats.batches
    emu.reset_stats()
    phases.reset()
    ids: list[list[str]] = [[] for _ in range(threads)]
    refused: list[str] = []
    gate = threading.Barrier(threads + 1)

    def post(slot: int) -> None:
        with httpx.Client(timeout=120) as http:
            http.get(f"http://{emu.host}:{emu.port}/_emulator/stats").raise_for_status()  # open the connection first
            gate.wait()
            for i in range(slot, burst, threads):
                try:
                    ids[slot].append(_arrive(http, emu, f"+615{i:08d}", f"burst {i}"))
                except httpx.HTTPError as exc:  # an emulator too busy to answer: counted, not fatal
                    refused.append(f"{type(exc).__name__}: {exc}")

    workers = [threading.Thread(target=post, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    gate.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    posted = time.perf_counter()
    sent = [i for slot_ids in ids for i in slot_ids]
    processed, finished = done.settle(sent, stall=STALL_S)
    seconds = finished - started
    stats = emu.stats()
    kept = con.sql("SELECT count(*), count(DISTINCT MessageId) FROM replies WHERE Body LIKE 'burst %'").fetchone()
    if kept != (processed, processed):
        raise SystemExit(f"burst: {kept} rows (distinct ids) in replies, {processed} messages done")
    return {
        "messages": burst,
        "posted": len(sent),
        "post_errors": len(refused),
        "processed": processed,
        "lost": len(sent) - processed,
        "seconds": seconds,
        "msgs_per_s": processed / seconds,
        "posted_s": posted - started,
        "posted_per_s": len(sent) / (posted - started),
        "drain_s": max(0.0, finished - posted),
        "batches": listener.stats.batches - batches_before,
        "requests": stats["total"],
        "requests_per_msg": stats["total"] / max(1, processed),
        "by_operation": stats["by_operation"],
        "phases": phases.snapshot(),
    }


def measure_idle(emu: Emulator, phases: Phases, interval: float) -> dict[str, Any]:
    """Polls once the burst is done and nothing arrives: a quiet poll still lists what stays unread
    (the newest listed second, which mark-read leaves as a message may still arrive in it)."""
    emu.reset_stats()
    phases.reset()
    seconds = max(2.0, 3 * interval)
    time.sleep(seconds)
    stats, steps = emu.stats(), phases.snapshot()
    listed = steps.get(LIST_STEP, {"calls": 0, "rows": 0, "seconds": 0.0})
    polls = max(1, int(listed["calls"]))
    busy = sum(float(step["seconds"]) for step in steps.values())
    return {"seconds": seconds, "polls": listed["calls"], "requests": stats["total"],
            "requests_per_poll": stats["total"] / polls, "rows_listed_per_poll": listed.get("rows", 0) / polls,
            "busy_ms_per_poll": busy / polls * 1000, "by_operation": stats["by_operation"]}


def _deliveries(emu: Emulator) -> dict[str, Any]:
    answer = httpx.get(f"http://{emu.host}:{emu.port}/_emulator/deliveries", timeout=30).json()
    log = answer["deliveries"]
    statuses: dict[str, int] = defaultdict(int)
    for delivery in log:
        statuses[delivery["status"]] += 1
    return {"logged": len(log), "pending": answer["pending"], "statuses": dict(statuses),
            "retried": sum(1 for d in log if d["attempts"] > 1)}


def run_mode(name: str, webhook: bool, interval: float, rate: float | None, messages: int, burst: int,
             threads: int, phases: Phases) -> dict[str, Any]:
    done = Done()
    with tempfile.TemporaryDirectory(prefix="bench-listen-") as folder, \
            listening(webhook, interval, rate, Path(folder), done) as (emu, con, listener):
        latency = measure_latency(emu, done, phases, messages, 0.1 if webhook else interval, seed=len(name))
        flood = measure_burst(emu, con, listener, done, phases, burst, threads)
        if webhook:
            flood["deliveries"] = _deliveries(emu)
        idle = None if webhook else measure_idle(emu, phases, interval)
    return {"mode": name, "webhook": webhook, "interval_s": None if webhook else interval, "rate_limit": rate,
            "latency": latency, "burst": flood, "after_burst": idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50, help="single messages timed for latency, per mode")
    parser.add_argument("--burst", type=int, default=2000, help="messages of the burst, per mode")
    parser.add_argument("--threads", type=int, default=4, help="threads POSTing the burst")
    parser.add_argument("--modes", default="", help="comma-separated subset of the mode names (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="5 messages, a burst of 100, modes 'poll 0.1 s' and 'webhook' (results/listen-quick.json)")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.burst, args.modes = 5, 100, args.modes or "poll 0.1 s,webhook"
    chosen = [m for m in MODES if not args.modes or m[0] in {s.strip() for s in args.modes.split(",")}]
    phases = Phases()
    phases.install()
    try:
        runs = []
        for name, webhook, interval, rate in chosen:
            runs.append(run_mode(name, webhook, interval, rate, args.messages, args.burst, args.threads, phases))
            latency, burst = runs[-1]["latency"], runs[-1]["burst"]
            print(f"{name}: latency median {latency['median_ms']:.0f} ms, burst {burst['msgs_per_s']:.0f} msgs/s "
                  f"({burst['lost']} lost)", file=sys.stderr, flush=True)
    finally:
        phases.uninstall()
    print_table(f"Latency: emulator event to statement done ({args.messages} single messages per mode)", [
        {"mode": r["mode"], "median_ms": r["latency"]["median_ms"], "p95_ms": r["latency"]["p95_ms"],
         "max_ms": r["latency"]["max_ms"], "post_ms": r["latency"]["post_ms"]} for r in runs])
    print_table(f"Burst of {args.burst:,} messages from {args.threads} threads, until all are in replies", [
        {"mode": r["mode"], "seconds": r["burst"]["seconds"], "msgs_per_s": r["burst"]["msgs_per_s"],
         "posted_per_s": r["burst"]["posted_per_s"], "drain_s": r["burst"]["drain_s"], "lost": r["burst"]["lost"],
         "batches": r["burst"]["batches"],
         "requests": r["burst"]["requests"], "requests_per_msg": r["burst"]["requests_per_msg"]} for r in runs])
    print_table("Quiet polls after the burst (nothing arrives)", [
        {"mode": r["mode"], "polls": r["after_burst"]["polls"], "requests_per_poll": r["after_burst"]["requests_per_poll"],
         "rows_listed_per_poll": r["after_burst"]["rows_listed_per_poll"],
         "busy_ms_per_poll": r["after_burst"]["busy_ms_per_poll"]} for r in runs if r["after_burst"]])
    for r in runs:
        print_table(f"{r['mode']}: the listener's busy time during the burst",
                    [{"step": step, **figures} for step, figures in r["burst"]["phases"].items()])
    write_json("listen-quick" if args.quick else "listen", {"settings": vars(args), "runs": runs})


if __name__ == "__main__":
    main()
