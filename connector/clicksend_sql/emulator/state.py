"""The emulated account's in-memory state: tables of rows, id counters, credentials.

One :class:`Store` per emulator instance. All access happens on the server's single event loop,
so no locking is needed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .messaging import ENABLED_COUNTRIES

if TYPE_CHECKING:
    from .delivery import Delivery

Row = dict[str, Any]

TEST_ACCOUNT_KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"


class Table:
    """Rows of one resource keyed by id (as a string), in insertion order.

    ``rows()`` returns a cached list so list pages without filters never copy or re-sort.
    """

    def __init__(self, id_field: str) -> None:
        self.id_field = id_field
        self._rows: dict[str, Row] = {}
        self._snapshot: list[Row] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows.values())

    def rows(self) -> list[Row]:
        if self._snapshot is None:
            self._snapshot = list(self._rows.values())
        return self._snapshot

    def get(self, row_id: object) -> Row | None:
        return self._rows.get(str(row_id))

    def add(self, row: Row) -> Row:
        self._rows[str(row[self.id_field])] = row
        self._snapshot = None
        return row

    def update(self, row_id: object, changes: Row) -> Row:
        """Change a row in place (pages hold references, so the snapshot stays valid)."""
        row = self._rows[str(row_id)]
        row.update(changes)
        return row

    def remove(self, row_id: object) -> Row | None:
        row = self._rows.pop(str(row_id), None)
        self._snapshot = None
        return row


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as."""

    username: str
    user_id: int
    subaccount_id: int
    no_credit: bool = False


@dataclass
class Store:
    """Everything the emulated account holds."""

    rng: random.Random
    account: Row = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    contacts: dict[int, Table] = field(default_factory=dict)  # list_id -> its contacts
    read: dict[str, set[str]] = field(default_factory=dict)  # "sms-receipts" -> read message ids
    # "inbound-sms" -> ids of messages no enabled POLL rule caught when they arrived: never listed
    unpolled: dict[str, set[str]] = field(default_factory=dict)
    # webhook calls made by handlers, started by the app once the request is handled (delivery.py)
    outbox: list[Delivery] = field(default_factory=list)
    ids: dict[str, Iterator[int]] = field(default_factory=dict)
    # countries the account may send to (global sending, NOTES.md §12); POST /user-countries sets them
    enabled_countries: set[str] = field(default_factory=lambda: set(ENABLED_COUNTRIES))
    recent_sends: dict[str, int] = field(default_factory=dict)  # "channel:to:body" -> unix time (THROTTLED)

    def table(self, name: str, id_field: str) -> Table:
        return self.tables.setdefault(name, Table(id_field))

    def next_id(self, kind: str, start: int = 1) -> int:
        """A fresh integer id of ``kind`` (after every seeded one)."""
        return next(self.ids.setdefault(kind, itertools.count(start)))

    def read_set(self, name: str) -> set[str]:
        return self.read.setdefault(name, set())

    def unpolled_set(self, name: str) -> set[str]:
        return self.unpolled.setdefault(name, set())

    def list_contacts(self, list_id: int) -> Table:
        return self.contacts.setdefault(list_id, Table("contact_id"))
