"""Shared fixtures: one seeded emulator per test session (per xdist worker) and connections to it,
and a PostgreSQL server per session (per xdist worker) for tests that load through dlt.

The emulator is modest on purpose (a few thousand rows) so the whole SQL suite runs in seconds,
yet large enough that SMSHistory and the contact lists span several pages of 100.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from postgres_server import start_postgres
from replication_scenarios import dlt_sandbox

SQL_SIZES = {"sms-history": 2500, "contacts": 600}
# Tests count requests and change the emulator behind the connection's back: no result cache unless
# a test asks for one (cache_ttl=...); subprocesses (the CLI) inherit this too.
os.environ["CLICKSEND_SQL_CACHE_TTL"] = "0"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="Explore more: more generated examples per operation.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: explores more; collected only with --slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --slow the exploring variants are deselected (not skipped): they are a mode, not a gap."""
    if config.getoption("--slow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    """The account every SQL test reads; tests never change it."""
    with Emulator(seed=0, sizes=SQL_SIZES) as emu:
        yield emu


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A PostgreSQL server of the session's own, started on first use, stopped and removed at the end.

    The URI (postgresql://postgres:any@<percent-encoded socket dir>:5432/postgres) is what
    dlt.destinations.postgres(credentials=...) and psycopg2.connect take.
    """
    with start_postgres() as server:
        yield server.uri


@pytest.fixture()
def pipelines_dir(tmp_path: Path) -> Iterator[Path]:
    """dlt's working folder for a test that replicates, with every other file of dlt's (its data dir,
    no telemetry id) under tmp_path too: nothing of dlt's lands in the user's home."""
    with dlt_sandbox(tmp_path) as pipelines:
        yield pipelines


def open_connection(emulator: Emulator) -> Connection:
    """No client-side rate limit: tests count requests, they do not time them."""
    return clicksend_sql.connect(
        emulator.username, emulator.api_key, base_url=emulator.base_url, rate_limit=None, concurrency=8
    )


def api_client(emulator: Emulator) -> httpx.Client:
    """A raw httpx client authenticated as the emulator's demo account (for emulator-level tests)."""
    return httpx.Client(base_url=emulator.base_url, auth=(emulator.username, emulator.api_key), timeout=30)


@pytest.fixture()
def client(emu: Emulator) -> Iterator[httpx.Client]:
    """A raw client of the module's own emulator (the module defines the fixture ``emu``)."""
    with api_client(emu) as c:
        yield c


def account_env(emu: Emulator) -> dict[str, str]:
    """This process's environment with the emulator's account, for a command run as a user would."""
    return {**os.environ, "CLICKSEND_USERNAME": emu.username, "CLICKSEND_API_KEY": emu.api_key,
            "CLICKSEND_BASE_URL": emu.base_url}


def ok(r: httpx.Response) -> Any:
    """The ``data`` of a 200 answer (anything else fails the test, showing the body)."""
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.fixture(scope="session")
def shared_connection(emulator: Emulator) -> Iterator[Connection]:
    with open_connection(emulator) as connection:
        yield connection


@pytest.fixture()
def con(shared_connection: Connection) -> Connection:
    """The session's connection, for tests that only read (creating one costs a tenth of a second)."""
    return shared_connection


@pytest.fixture()
def emu(emulator: Emulator) -> Emulator:
    """The session's emulator with its request counters at zero, for tests that count requests."""
    emulator.reset_stats()
    return emulator


@pytest.fixture()
def local_con(emulator: Emulator) -> Iterator[Connection]:
    """A connection of its own, for tests that create DuckDB tables or views."""
    with open_connection(emulator) as connection:
        yield connection


@pytest.fixture(scope="session")
def raw(emulator: Emulator) -> Iterator[RawApi]:
    """An independent view of the emulator through plain httpx (the oracle for result checks)."""
    with httpx.Client(base_url=emulator.base_url, auth=(emulator.username, emulator.api_key), timeout=30) as client:
        yield RawApi(client)


class RawApi:
    """Walks ClickSend's paginators with plain httpx, one page after the other."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def rows(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a page-paginated list (or the rows of a bare array answer)."""
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self.get(path, page=page, limit=100, **params)["data"]
            if isinstance(data, list):
                return data
            rows.extend(data["data"])
            if not data["last_page"] or data["current_page"] >= data["last_page"]:
                return rows
            page += 1


def interrupt_when_busy(child: subprocess.Popen[str], emulator: Emulator, requests: int,
                        timeout: float = 60) -> tuple[str, str]:
    """SIGINT to ``child`` once ``emulator`` has served ``requests`` (its work is under way); its output."""
    try:
        while emulator.stats()["total"] < requests:
            assert child.poll() is None, child.communicate()
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        return child.communicate(timeout=timeout)
    finally:
        child.kill()
