"""Finding rows deleted in ClickSend, which shows no deleted rows, at a cost in proportion to the deletes.

A table counted by its parent (Contacts, by ``ContactLists.ContactsCount``) is checked with one
read of the parents: only a parent whose count differs from the copy's gets a key scan, and a
parent gone from ClickSend takes all its rows in the copy with it, with no request at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..catalog import Table
from .copy import Copy
from .source import DELETED, ROW_HASH, copy_plan, required

if TYPE_CHECKING:
    from ..connection import Connection


@dataclass
class Deletes:
    """A table's rows missing from ClickSend, and the requests it took to find them."""

    table: Table
    keys: list[object]
    requests: int = 0

    def tombstones(self) -> pa.Table:
        """One row per deleted key, marked for dlt's hard delete (and scd2's retirement)."""
        key = self.table.primary_key[0]
        rows = pa.table({
            key: self.keys,
            DELETED: pa.array([True] * len(self.keys)),
            ROW_HASH: pa.array([f"deleted {k}" for k in self.keys], pa.string()),
        })
        return rows.cast(required(rows.schema, {key, ROW_HASH}))


def find_deletes(con: Connection, copy: Copy, table: Table, read: dict[Any, set[Any]]) -> Deletes:
    """The keys of ``table``'s rows that the copy holds and ClickSend no longer has.

    Found before this run's rows are loaded: a parent's count in the copy after the load is its
    count now plus the rows read that the copy does not hold yet (``read``: keys per parent).
    """
    plan = copy_plan(table)
    assert plan.counted_by is not None and table.parent is not None
    parent_table, count_column = plan.counted_by
    child, parent_key, key = table.parent.column, table.parent.parent_column, table.primary_key[0]
    held = copy.counts_by(table.name, child)
    if not held:
        return Deletes(table, [])
    known = copy.keys_where(table, key, {k for keys in read.values() for k in keys})
    expected = {p: held.get(p, 0) + len(read.get(p, set()) - known) for p in {*held, *read}}
    with con.cursor() as session:
        counted = dict(session.sql(f'SELECT "{parent_key}", "{count_column}" FROM "{parent_table}"', cache=False).fetchall())
        requests = session.last_stats.requests
        differing = sorted(p for p, n in expected.items() if p in counted and counted[p] != n and p in held)
        gone = sorted(p for p in held if p not in counted)
        present: set[object] = set()
        if differing:
            present = {row[0] for row in session.sql(
                f'SELECT "{key}" FROM "{table.name}" WHERE "{child}" IN ({", ".join("?" * len(differing))})', differing,
                cache=False).fetchall()}
            requests += session.last_stats.requests
    missing = copy.keys_where(table, child, [*differing, *gone]) - present
    return Deletes(table, sorted(missing, key=str), requests)
