"""A long scan in a real notebook kernel (issue 23 §3): a progress bar in the cell's output,
updated in place, and an interrupt (the notebook's stop button) that ends the scan within a second."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

from clicksend_sql.emulator import Emulator
from clicksend_sql.output import PROGRESS_AFTER_SECONDS

TIMEOUT_S = 60


@pytest.fixture(scope="module")
def slow() -> Iterator[Emulator]:
    """Pages that take a while: a full scan of SMSHistory's 3,000 rows lasts several seconds, of
    MMSHistory's 20,000 half a minute (an interrupt sent late, by a test loop starved on a loaded
    machine, still finds that scan running)."""
    with Emulator(seed=12, latency_ms=250, sizes={"sms-history": 3000, "mms-history": 20_000}) as emu:
        yield emu


@pytest.fixture(scope="module")
def kernel(slow: Emulator) -> Iterator[Any]:
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=TIMEOUT_S)
    _run(client, "import os; os.environ['CLICKSEND_SQL_CACHE_TTL'] = '0'\nimport clicksend_sql\n"
                 f"con = clicksend_sql.connect({slow.username!r}, {slow.api_key!r}, base_url={slow.base_url!r}, "
                 "rate_limit=None, concurrency=2)")
    # a kernel's first traceback imports IPython's formatting (0.4-0.7 s, more on a loaded machine):
    # shown once here, so the interrupt test times the scan stopping, not those imports
    reply, _, _ = _run(client, "raise ValueError('warm-up')")
    assert reply["status"] == "error"
    yield manager, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def _run(client: Any, code: str, *, interrupt_when: Callable[[], bool] | None = None, manager: Any = None
         ) -> tuple[dict[str, Any], list[dict[str, Any]], float]:
    """Execute ``code`` (interrupting the kernel once ``interrupt_when()`` holds); its reply, its
    output messages, and the seconds from the interrupt to the reply."""
    msg_id = client.execute(code)
    sent = time.monotonic()
    interrupted_at = None
    messages: list[dict[str, Any]] = []
    while True:
        if interrupt_when is not None and interrupted_at is None and interrupt_when():
            manager.interrupt_kernel()
            interrupted_at = time.monotonic()
        try:
            message = client.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
        assert time.monotonic() - sent < TIMEOUT_S, "the cell did not finish"
    # wait_for_ready asks again each second the kernel is slow to start, and leaves the spare
    # kernel_info replies queued: the reply is the one whose parent is this execute
    while (reply := client.get_shell_msg(timeout=TIMEOUT_S))["parent_header"].get("msg_id") != msg_id:
        pass
    return reply["content"], messages, time.monotonic() - interrupted_at if interrupted_at else 0.0


def test_a_long_scan_shows_a_bar_updated_in_place(kernel: Any) -> None:
    _, client = kernel
    reply, messages, _ = _run(client, "len(con.sql('SELECT * FROM SMSHistory'))")
    assert reply["status"] == "ok"
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1 and len(updates) >= 2  # one output, updated in place (not a line per page)
    first = shown[0]["content"]["data"]["text/html"]
    last = updates[-1]["content"]["data"]["text/html"]
    assert "<progress" in first and "SMSHistory" in first and "s left" in first
    assert "3,000 of 3,000 rows" in last and "s left" not in last  # the final figures
    assert all(m["content"]["transient"].get("display_id") == shown[0]["content"]["transient"]["display_id"]
               for m in updates)


def test_a_quick_statement_shows_no_bar(kernel: Any) -> None:
    _, client = kernel
    _, messages, _ = _run(client, "import time; started = time.monotonic()\n"
                                  "con.sql('SELECT count(*) FROM SMSHistory').fetchall()\n"
                                  "print(time.monotonic() - started)")
    took = float("".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream"))
    shown = [m for m in messages if m["msg_type"] in ("display_data", "update_display_data")]
    # one page at 250 ms: no bar, unless a loaded machine stretched it past the bar's half second
    assert not shown or took >= PROGRESS_AFTER_SECONDS, took


def test_interrupting_the_kernel_stops_the_scan_within_a_second(kernel: Any, slow: Emulator) -> None:
    manager, client = kernel
    slow.reset_stats()
    reply, messages, waited = _run(client, "con.sql('SELECT * FROM MMSHistory')", manager=manager,
                                   interrupt_when=lambda: slow.stats()["total"] >= 4)  # the scan is under way
    shown = [(m["msg_type"], m["content"].get("text") or m["content"].get("ename")) for m in messages
             if m["msg_type"] in ("stream", "error", "execute_result")]
    assert (reply["status"], reply.get("ename")) == ("error", "KeyboardInterrupt"), (slow.stats()["total"], shown)
    assert waited < 1.0
    served = slow.stats()["total"]
    time.sleep(0.6)
    assert slow.stats()["total"] == served < 30  # nothing more was asked after the interrupt (of 200 pages)
    reply, _, _ = _run(client, "con.sql('SELECT count(*) FROM ContactLists').fetchall()")
    assert reply["status"] == "ok"  # the connection still works
