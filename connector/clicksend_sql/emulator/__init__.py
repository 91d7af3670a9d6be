"""A ClickSend REST v3 emulator: a real HTTP server on loopback that behaves like ClickSend.

Tests and benchmarks talk to it instead of the real API::

    with Emulator(seed=1, sizes={"contacts": 1000}) as emu:
        httpx.get(emu.base_url + "/lists", auth=(emu.username, emu.api_key))

``sizes`` sets how many rows each resource is seeded with (names in :data:`SIZE_NAMES`, e.g.
``contacts``, ``sms-history``, ``inbound-sms``); the defaults start in well under a second.
``rate_limit`` answers requests past that many a second with 429, and every response carries
ClickSend's ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and ``ratelimit-reset`` (a 429 also
``Retry-After``); ``rate_headers=False`` sends none of them, like a proxy that strips them.
Seeded history ends at the start of ``today`` (default: the current UTC date), so the newest
demo rows are always recent; pass ``today`` to pin every seeded date.
By default the server runs on its own event loop in a daemon thread; ``process=True`` runs it in a
child process (the ``emulator`` CLI command) so a benchmark's client does not share the
server's GIL.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from ..errors import ConfigurationError
from .app import Knobs
from .seed import SIZE_NAMES, api_key_for, check_sizes, utc_today
from ..serving import bind, quiet_server
from .server import make_app

__all__ = ["SIZE_NAMES", "Emulator"]

_START_TIMEOUT_S = 60.0


class Emulator:
    """One emulated ClickSend account served over HTTP (see the module docstring)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        sizes: Mapping[str, int] | None = None,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        rate_limit: float | None = None,
        rate_headers: bool = True,
        fault_rate: float = 0.0,
        lost_share: float = 0.5,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "demo",
        process: bool = False,
        today: dt.date | None = None,
        delivery_attempts: int = 4,
        delivery_backoff_ms: float = 200.0,
    ) -> None:
        self.sizes = dict(sizes or {})
        check_sizes(self.sizes)
        if not 0.0 <= fault_rate <= 1.0 or not 0.0 <= lost_share <= 1.0:
            raise ConfigurationError(f"fault_rate={fault_rate!r} and lost_share={lost_share!r} must be between 0 and 1.")
        if rate_limit is not None and rate_limit <= 0:
            raise ConfigurationError(f"rate_limit={rate_limit!r} must be a positive number of requests per second.")
        if delivery_attempts < 1 or delivery_backoff_ms < 0:
            raise ConfigurationError(f"delivery_attempts={delivery_attempts!r} must be at least 1 and "
                                     f"delivery_backoff_ms={delivery_backoff_ms!r} not negative.")
        self.seed = seed
        self.today = today or utc_today()  # seeded history ends at its start; pin it for fixed dates
        self.knobs = Knobs(
            latency_ms=latency_ms, jitter_ms=jitter_ms, rate_limit=rate_limit, rate_headers=rate_headers,
            fault_rate=fault_rate, lost_share=lost_share, delivery_attempts=delivery_attempts, delivery_backoff_ms=delivery_backoff_ms,
        )
        self.host = host
        self.port = port
        self.username = username
        self.api_key = api_key_for(seed)
        self.process = process
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._child: subprocess.Popen[str] | None = None

    def __repr__(self) -> str:  # never the API key
        where = self.base_url if self.running else "not started"
        return f"Emulator(seed={self.seed}, username={self.username!r}, {where})"

    @property
    def running(self) -> bool:
        return self._thread is not None or self._child is not None

    @property
    def pid(self) -> int | None:
        """The server's process id with ``process=True`` (benchmarks read its CPU time), else None."""
        return self._child.pid if self._child is not None else None

    @property
    def base_url(self) -> str:
        """``http://host:port/v3`` once started."""
        return f"http://{self.host}:{self.port}/v3"

    def start(self) -> Emulator:
        """Seed the account and serve; returns once the socket accepts connections."""
        if self.running:
            return self
        if self.process:
            self._start_process()
        else:
            self._start_thread()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._child is not None:
            self._child.terminate()
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            for stream in (self._child.stdout, self._child.stderr):
                if stream is not None:
                    stream.close()
        self._thread = self._server = self._child = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """Requests served so far: ``{"total": n, "by_operation": {"GET /v3/lists": n, ...}}``."""
        return httpx.get(self._admin_url("stats"), timeout=10).json()

    def requests(self) -> list[str]:
        """The request lines served since the last reset, as sent (``GET /v3/lists/5?page=1``)."""
        return list(httpx.get(self._admin_url("requests"), timeout=10).json()["requests"])

    def fault(self, match: str, kind: str, count: int = 1) -> None:
        """Script a fault for the next ``count`` requests whose line starts with ``match``
        (``"POST /v3/sms/send"``): ``lose`` (processed, answer lost), ``fail`` (500, not
        processed: a failing proxy) or ``drop`` (connection dropped, not processed)."""
        response = httpx.post(self._admin_url("faults"), json={"match": match, "kind": kind, "count": count}, timeout=10)
        if response.status_code != 200:
            raise ConfigurationError(f"The emulator refused the fault: {response.json()['error']}.")

    def reset_stats(self) -> None:
        """Zero the counters, the request log and any scripted faults."""
        httpx.post(self._admin_url("reset-stats"), timeout=10).raise_for_status()

    def inbound(self, **fields: Any) -> dict[str, Any]:
        """An inbound SMS arrives (``POST /_emulator/inbound``; pass ``from_`` for ``from``): it is
        stored, listed for POLL rules and pushed to the matching URL rules. Returns the message
        and, under ``deliveries``, the ids of the webhook calls it started."""
        if "from_" in fields:
            fields["from"] = fields.pop("from_")
        return self._arrive("inbound", fields)

    def receipt(self, message_id: str, **fields: Any) -> dict[str, Any]:
        """A delivery receipt for a sent SMS arrives (``POST /_emulator/receipts``; ``status_code``
        201 by default, e.g. 301 for a failure): its history row takes the new status."""
        return self._arrive("receipts", {"message_id": message_id, **fields})

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook call so far, oldest first (``GET /_emulator/deliveries``)."""
        return list(httpx.get(self._admin_url("deliveries"), timeout=10).json()["deliveries"])

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The deliveries once at least ``count`` exist and none is pending (or raise TimeoutError)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = httpx.get(self._admin_url("deliveries"), timeout=10).json()
            if len(answer["deliveries"]) >= count and not answer["pending"]:
                return list(answer["deliveries"])
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(answer['deliveries'])} deliveries ({answer['pending']} pending) after "
                                   f"{timeout} s; waited for {count}")
            time.sleep(0.01)

    def _arrive(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(self._admin_url(kind), json=fields, timeout=10)
        if response.status_code != 200:
            raise ConfigurationError(f"The emulator refused the {kind}: {response.json()['error']}.")
        answer = response.json()
        return {**answer["data"], "deliveries": answer["deliveries"]}

    def _admin_url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/_emulator/{name}"

    def _start_thread(self) -> None:
        app = make_app(seed=self.seed, sizes=self.sizes, username=self.username, knobs=self.knobs, today=self.today)
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = quiet_server(app)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"clicksend-emulator-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread = None
                raise ConfigurationError(f"The emulator could not start on {self.host}:{self.port}.")
            time.sleep(0.005)

    def _start_process(self) -> None:
        k = self.knobs
        args = [sys.executable, "-m", "clicksend_sql.emulator", "--host", self.host, "--port", str(self.port),
                "--seed", str(self.seed), "--username", self.username, "--today", self.today.isoformat(),
                "--latency-ms", str(k.latency_ms),
                "--jitter-ms", str(k.jitter_ms), "--fault-rate", str(k.fault_rate), "--lost-share", str(k.lost_share),
                "--delivery-attempts", str(k.delivery_attempts), "--delivery-backoff-ms", str(k.delivery_backoff_ms)]
        args += ["--rate-limit", str(k.rate_limit)] if k.rate_limit else []
        args += [] if k.rate_headers else ["--no-rate-headers"]
        for name, count in self.sizes.items():
            args += ["--size", f"{name}={count}"]
        self._child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self._child.stdout.readline() if self._child.stdout else ""  # "base_url: http://host:port/v3"
        if not first.startswith("base_url:"):
            self._child.wait(timeout=_START_TIMEOUT_S)
            problem = (self._child.stderr.read() if self._child.stderr else "").strip().splitlines()[-1:]
            self.stop()
            raise ConfigurationError(f"The emulator process could not start on {self.host}:{self.port}: "
                                     f"{' '.join(problem) or 'no output'}.")
        self.port = int(first.rsplit(":", 1)[1].split("/", 1)[0])


def _bind(host: str, port: int) -> Any:
    try:
        return bind(host, port)
    except OSError as err:
        raise ConfigurationError(f"The emulator cannot listen on {host}:{port}: {err.strerror}.") from None
