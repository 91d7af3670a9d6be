"""The listener's durable state in a DuckDB file: events received and not yet processed, events done,
and the rules its listeners made (so a start deletes those a killed process left).

An event is first written to the inbox (a webhook is answered only then; a polled event stays
unread in ClickSend until it is done), then handed to the statement, then moved to ``done`` and
out of the inbox together. A crash anywhere re-delivers rather than loses, and ``done`` drops a
second delivery of the same MessageId (several POLL rules, a webhook sender's retry, a restart).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from ..catalog import Table
from .events import EventKind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _clicksend_listen_inbox (kind VARCHAR, message_id VARCHAR, received DOUBLE, payload VARCHAR,
                                                    PRIMARY KEY (kind, message_id));
CREATE TABLE IF NOT EXISTS _clicksend_listen_done (kind VARCHAR, message_id VARCHAR, done DOUBLE, skipped BOOLEAN,
                                                   PRIMARY KEY (kind, message_id));
CREATE TABLE IF NOT EXISTS _clicksend_listen_started (kind VARCHAR PRIMARY KEY, started DOUBLE);
CREATE TABLE IF NOT EXISTS _clicksend_listen_rules (kind VARCHAR, rule_id BIGINT, pid INTEGER, PRIMARY KEY (kind, rule_id));
"""
KEEP_DONE_SECONDS = 30 * 86_400  # done ids older than this are forgotten (ClickSend lists unread events only)


class Inbox:
    """One kind's inbox and done-list in a DuckDB database (its own cursor: safe beside the listener's thread)."""

    def __init__(self, database: duckdb.DuckDBPyConnection, kind: EventKind, table: Table) -> None:
        self._db = database.cursor()
        self._lock = threading.Lock()
        self.events, self.kind, self.table = kind, kind.name, table
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def first_start(self) -> bool:
        """True once: the first time this kind is listened to with this state (then only new events count)."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM _clicksend_listen_started WHERE kind = ?", [self.kind]).fetchall():
                return False
            db.execute("INSERT INTO _clicksend_listen_started VALUES (?, ?)", [self.kind, time.time()])
            return True

    def rule_made(self, rule_id: int) -> None:
        """Remember a rule this process made, until :meth:`rule_gone`."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO _clicksend_listen_rules VALUES (?, ?, ?)", [self.kind, rule_id, os.getpid()])

    def rule_gone(self, rule_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM _clicksend_listen_rules WHERE kind = ? AND rule_id = ?", [self.kind, rule_id])

    def rules_left(self) -> list[int]:
        """Rules made by processes that ended without deleting them (killed: no clean-up ran).
        A live process's rules are its own listeners' business, whatever state they share."""
        with self._lock:
            rows = self._db.execute("SELECT rule_id, pid FROM _clicksend_listen_rules WHERE kind = ? ORDER BY rule_id",
                                    [self.kind]).fetchall()
        return [int(rule) for rule, pid in rows if not _alive(int(pid))]

    def skip(self, ids: Sequence[str]) -> None:
        """Events from before the first start: never handed to the statement (unless ``--backlog``)."""
        if not ids:
            return
        with self._transaction() as db:
            self._done(db, ids, skipped=True)

    def put(self, rows: pa.Table) -> int:
        """Typed rows (the catalog table's columns) into the inbox; those done or queued already are
        dropped, in the insert's own transaction (a redelivery landing while the first delivery's
        batch is finished would otherwise be queued again, and handed to the statement twice)."""
        fresh: dict[str, dict[str, Any]] = {}
        for i, r in zip(self.events.ids(rows), rows.to_pylist(), strict=True):
            fresh.setdefault(i, r)  # the first of an event listed twice, as a row-by-row insert kept
        if not fresh:
            return 0
        payloads = [json.dumps(r, default=_json_value) for r in fresh.values()]
        now = time.time()
        with self._transaction() as db:
            # one statement for the whole set (executemany runs one INSERT per row: ~2 ms a row);
            # received a microsecond apart keeps the order the events came in
            [(added,)] = db.execute(
                "INSERT OR IGNORE INTO _clicksend_listen_inbox "
                "SELECT $kind, id, received, payload FROM (SELECT unnest($ids) AS id, unnest($received) AS received, "
                "unnest($payloads) AS payload) WHERE id NOT IN (SELECT message_id FROM _clicksend_listen_done WHERE kind = $kind)",
                {"kind": self.kind, "ids": list(fresh), "received": [now + n * 1e-6 for n in range(len(fresh))],
                 "payloads": payloads}).fetchall()
        return int(added)

    def pending(self, limit: int = 1000) -> pa.Table:
        """The oldest events waiting, as the catalog table's columns and types."""
        columns = ", ".join(f"CAST(json_extract_string(payload, '$.\"{c.name}\"') AS {c.type}) AS \"{c.name}\""
                            for c in self.table.columns)
        with self._lock:
            return self._db.sql(
                f"SELECT {columns} FROM _clicksend_listen_inbox WHERE kind = $kind ORDER BY received, message_id LIMIT $limit",
                params={"kind": self.kind, "limit": limit}).to_arrow_table()

    def oldest(self, column: str) -> datetime | None:
        """The earliest ``column`` (a time) among the events waiting; None when none waits."""
        with self._lock:
            [(oldest,)] = self._db.execute(f"SELECT min(CAST(json_extract_string(payload, '$.\"{column}\"') AS TIMESTAMPTZ)) "
                                           "FROM _clicksend_listen_inbox WHERE kind = ?", [self.kind]).fetchall()
        return oldest

    def finish(self, ids: Sequence[str]) -> None:
        """The statement succeeded for these: done, and out of the inbox, together."""
        with self._transaction() as db:
            self._done(db, ids, skipped=False)
            db.execute("DELETE FROM _clicksend_listen_inbox WHERE kind = ? AND message_id IN (SELECT unnest(?))",
                       [self.kind, list(ids)])
            db.execute("DELETE FROM _clicksend_listen_done WHERE kind = ? AND done < ?",
                       [self.kind, time.time() - KEEP_DONE_SECONDS])

    def _done(self, db: duckdb.DuckDBPyConnection, ids: Sequence[str], *, skipped: bool) -> None:
        """Record ``ids`` done, in one statement (not one per id)."""
        db.execute("INSERT OR IGNORE INTO _clicksend_listen_done SELECT $kind, unnest($ids), $done, $skipped",
                   {"kind": self.kind, "ids": list(ids), "done": time.time(), "skipped": skipped})

    def processed(self) -> int:
        with self._lock:
            [(processed,)] = self._db.execute("SELECT count(*) FROM _clicksend_listen_done WHERE kind = ? AND NOT skipped",
                                              [self.kind]).fetchall()
        return int(processed)


def _json_value(value: Any) -> Any:
    """JSON for the values Arrow hands back (times as ISO text, which DuckDB casts back exactly)."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _alive(pid: int) -> bool:
    """Whether a process with this id runs (a reused id counts as alive: its rule is then kept, never
    wrongly deleted)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
