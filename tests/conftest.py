"""Shared fixtures: one seeded emulator per test session (per xdist worker) and connections to it.

The emulator is modest on purpose (a few thousand rows) so the whole SQL suite runs in seconds,
yet large enough that SMSHistory and the contact lists span several pages of 100.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator

SQL_SIZES = {"sms-history": 2500, "contacts": 600}


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


def open_connection(emulator: Emulator) -> Connection:
    """No client-side rate limit: tests count requests, they do not time them."""
    return clicksend_sql.connect(
        emulator.username, emulator.api_key, base_url=emulator.base_url, rate_limit=None, concurrency=8
    )


def api_client(emulator: Emulator) -> httpx.Client:
    """A raw httpx client authenticated as the emulator's demo account (for emulator-level tests)."""
    return httpx.Client(base_url=emulator.base_url, auth=(emulator.username, emulator.api_key), timeout=30)


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
