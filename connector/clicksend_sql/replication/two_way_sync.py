"""Two-way sync of a ClickSend table (Contacts) with a table of the user's in the destination database.

The user's table has the copy's column names (``contact_id``, ``list_id``, ``phone_number``,
``first_name``...: any subset of the writable columns) and, optionally, ``updated_date``. A row
with ``contact_id`` NULL is new. Each run:

1. replicates the table (incremental, deletes included) so ClickSend's side is read cheaply;
2. compares both sides with the versions agreed at the last sync, kept in the database beside the
   copy (``_sync_<table>``: the id mapping and a hash of each row as last agreed);
3. applies the local changes to ClickSend through the connector's write path (validated first,
   per-row outcomes), then ClickSend's changes to the user's table in one transaction.

A row changed on both sides goes to the newer ``UpdatedDate`` (the user's ``updated_date``; a table
without one lets ClickSend win), and is reported. A row deleted on one side and changed on the other
is kept with the change. A create is recorded as pending before it is sent, so a run interrupted
after ClickSend created the contact adopts it the next time instead of creating it twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog import Column, Table
from ..errors import ClickSendSQLError
from .copy import Copy
from .runner import pipeline_for, replicate
from .source import copy_name

if TYPE_CHECKING:
    from ..connection import Connection

UPDATED = "updated_date"  # the user's table: when its row last changed (conflicts go to the newer side)


@dataclass
class Conflict:
    """A row changed on both sides, and which side's version was kept."""

    contact_id: Any
    kept: str  # "clickSend" or "database"
    why: str


@dataclass
class SyncReport:
    """What one sync did on each side."""

    created: int = 0  # in ClickSend, from new rows of the table
    updated: int = 0  # in ClickSend
    deleted: int = 0  # in ClickSend
    pulled_new: int = 0  # rows added to the table from ClickSend
    pulled_updated: int = 0
    pulled_deleted: int = 0
    adopted: int = 0  # creates an interrupted run had sent, found in ClickSend and not sent again
    conflicts: list[Conflict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # rows ClickSend refused: retried by the next sync
    requests: int = 0

    def __str__(self) -> str:
        return (f"ClickSend: {self.created} created, {self.updated} updated, {self.deleted} deleted; "
                f"table: {self.pulled_new} new, {self.pulled_updated} updated, {self.pulled_deleted} deleted; "
                f"{len(self.conflicts)} conflicts, {len(self.errors)} errors, {self.requests} requests")


@dataclass
class _Side:
    """One side's rows by contact id, and the fields compared."""

    rows: dict[Any, dict[str, Any]]
    fields: Sequence[str]
    _versions: dict[Any, str] = field(default_factory=dict, repr=False)  # each row hashed once (adoption asks often)

    def version(self, contact_id: Any) -> str:
        if contact_id not in self._versions:
            self._versions[contact_id] = row_hash(self.rows[contact_id], self.fields)
        return self._versions[contact_id]


def row_hash(row: dict[str, Any], fields: Iterable[str]) -> str:
    """A row's version over the synced fields (NULL and '' are the same: ClickSend answers '' for unset).

    >>> row_hash({"first_name": "Ann", "email": None}, ["first_name", "email"]) == row_hash({"first_name": "Ann", "email": ""}, ["first_name", "email"])
    True
    """
    text = "\x1f".join("" if row.get(f) is None else str(row[f]) for f in fields)
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def synced_columns(table: Table, present: Iterable[str]) -> list[Column]:
    """The writable columns of ``table`` that the user's table has (by its copy name), key and list first."""
    have = set(present)
    key = table.primary_key[0]
    return [c for c in table.columns if copy_name(c.name) in have and (c.name == key or not c.read_only)]


def sync(
    con: Connection,
    table: str = "Contacts",
    *,
    with_table: str,
    destination: str | None = None,
    dataset: str = "clicksend",
    pipelines_dir: str | Path | None = None,
) -> SyncReport:
    """Make ``with_table`` (``schema.table`` in ``destination``) and ClickSend's ``table`` equal, both ways."""
    target = con.catalog.table(table)
    if target.parent is None or target.update is None or target.insert is None or target.delete is None:
        raise ClickSendSQLError(f"sync works with a table ClickSend lets you insert, update and delete under a parent "
                                f"list (Contacts); {target.name} is not one.")
    report = SyncReport()
    replicated = replicate(con, [target.name], destination=destination, dataset=dataset, lag=0,
                           pipelines_dir=pipelines_dir)
    report.requests += replicated.requests
    pipeline = pipeline_for(destination, dataset, pipelines_dir)
    with Copy(pipeline) as copy:
        session = _Session(con, copy, target, with_table, report)
        session.run()
    return report


class _Session:
    """One sync run's reads, decisions and writes."""

    def __init__(self, con: Connection, copy: Copy, table: Table, with_table: str, report: SyncReport) -> None:
        self.con, self.copy, self.table, self.report = con, copy, table, report
        self.local_name = with_table
        self.state_name = copy.qualified(f"_sync_{with_table.replace('.', '_')}")
        local_columns = copy.columns(with_table)
        if local_columns is None:
            raise ClickSendSQLError(f"sync: the table {with_table!r} does not exist in the destination. Create it with "
                                    "the copy's column names (contact_id, list_id, phone_number, first_name, ...).")
        self.columns = synced_columns(table, local_columns)
        self.sql_names = {copy_name(c.name): c.name for c in self.columns}
        self.key = copy_name(table.primary_key[0])
        self.list = copy_name(table.parent.column) if table.parent else ""
        names = [copy_name(c.name) for c in self.columns]
        if self.key not in names or self.list not in names:
            raise ClickSendSQLError(f"sync: {with_table} needs the columns {self.key} and {self.list} (and the fields "
                                    f"to sync: {', '.join(copy_name(c.name) for c in table.columns if not c.read_only)}).")
        self.fields = [n for n in names if n != self.key]
        self.has_updated = UPDATED in local_columns

    def run(self) -> None:
        self.copy.execute(f"CREATE TABLE IF NOT EXISTS {self.state_name} "
                          f"({self.key} BIGINT, {self.list} BIGINT, version TEXT, pending TEXT)")
        wanted = ", ".join([self.key, *self.fields])
        remote = _Side({r[self.key]: r for r in self.copy.dicts(f"SELECT {wanted}, {UPDATED} FROM "
                                                                f"{self.copy.qualified(copy_name(self.table.name))}")},
                       self.fields)
        local_rows = self.copy.dicts(f"SELECT {wanted}{', ' + UPDATED if self.has_updated else ''} FROM {self.local_name}")
        state = self.copy.dicts(f"SELECT {self.key}, version, pending FROM {self.state_name}")
        agreed = {s[self.key]: s["version"] for s in state if s[self.key] is not None}
        pending = Counter(s["pending"] for s in state if s[self.key] is None)
        local = _Side({r[self.key]: r for r in local_rows if r[self.key] is not None}, self.fields)
        new_rows = [r for r in local_rows if r[self.key] is None]
        plan = _Plan()
        self._adopt(new_rows, pending, remote, agreed, local, plan)
        self._compare(local, remote, agreed, plan, new_rows)
        self._push(plan)
        self._pull(plan, remote)

    def _adopt(self, new_rows: list[dict[str, Any]], pending: Counter[str], remote: _Side, agreed: dict[Any, str],
               local: _Side, plan: _Plan) -> None:
        """Creates an interrupted run sent: a ClickSend row no one maps, with a pending row's version, is that row."""
        if not pending:
            return
        unmapped = [i for i in remote.rows if i not in agreed and i not in local.rows]
        for row in list(new_rows):
            version = row_hash(row, self.fields)
            found = next((i for i in unmapped if pending[version] and remote.version(i) == version), None)
            if found is not None:
                unmapped.remove(found)
                pending[version] -= 1
                new_rows.remove(row)
                plan.assign.append((row, found))
                local.rows[found] = {**row, self.key: found}
                agreed[found] = version
                self.report.adopted += 1

    def _compare(self, local: _Side, remote: _Side, agreed: dict[Any, str], plan: _Plan,
                 new_rows: list[dict[str, Any]]) -> None:
        """Decide each row's fate from its two versions and the one agreed last time."""
        plan.create.extend(new_rows)
        for contact_id in {*local.rows, *remote.rows, *agreed}:
            here, there, base = contact_id in local.rows, contact_id in remote.rows, agreed.get(contact_id)
            mine = local.version(contact_id) if here else None
            theirs = remote.version(contact_id) if there else None
            if here and there:
                if local.rows[contact_id][self.list] != remote.rows[contact_id][self.list] and mine != base:
                    self.report.errors.append(
                        f"{self.key} {contact_id}: its {self.list} changed in the table; ClickSend cannot move a contact "
                        "between lists by an update (CALL TransferContactToList, then sync)")
                    continue
                if mine == theirs:
                    plan.agree[contact_id] = local.version(contact_id)
                elif theirs == base:
                    plan.push_update.append(local.rows[contact_id])
                elif mine == base:
                    plan.pull_update.append(remote.rows[contact_id])
                elif self._local_is_newer(local.rows[contact_id], remote.rows[contact_id]):
                    self._conflict(contact_id, "database", "changed on both sides; the table's updated_date is newer")
                    plan.push_update.append(local.rows[contact_id])
                else:
                    why = "changed on both sides; ClickSend's UpdatedDate is newer" if self.has_updated else \
                        f"changed on both sides; {self.local_name} has no updated_date, so ClickSend wins"
                    self._conflict(contact_id, "clicksend", why)
                    plan.pull_update.append(remote.rows[contact_id])
            elif here:  # gone from ClickSend
                if base is not None and mine == base:
                    plan.pull_delete.append(contact_id)
                else:
                    if base is not None:
                        self._conflict(contact_id, "database", "deleted in ClickSend but changed in the table: created again")
                    plan.create.append(local.rows[contact_id])
                    plan.recreated.add(contact_id)
            elif there:  # gone from the table, or new in ClickSend
                if base is None:
                    plan.pull_new.append(remote.rows[contact_id])
                elif theirs == base:
                    plan.push_delete.append(remote.rows[contact_id])
                else:
                    self._conflict(contact_id, "clicksend", "deleted in the table but changed in ClickSend: kept")
                    plan.pull_new.append(remote.rows[contact_id])
            else:
                plan.forget.append(contact_id)

    def _local_is_newer(self, mine: dict[str, Any], theirs: dict[str, Any]) -> bool:
        stamp = mine.get(UPDATED)
        return self.has_updated and isinstance(stamp, datetime) and theirs.get(UPDATED) is not None \
            and _aware(stamp) > theirs[UPDATED]

    def _conflict(self, contact_id: Any, kept: str, why: str) -> None:
        self.report.conflicts.append(Conflict(contact_id, kept, why))

    def _push(self, plan: _Plan) -> None:
        """Local changes to ClickSend: creates (recorded as pending first), updates, deletes."""
        if plan.create:
            self._record_pending([row_hash(r, self.fields) for r in plan.create])
            for row, outcome in zip(plan.create, self._create(plan.create), strict=True):
                if outcome["status"] == "ok" and outcome["key"] is not None:
                    plan.assign.append((row, int(outcome["key"])))
                    self.report.created += 1
                else:  # refused, or the answer was lost: it stays pending, for the next sync to adopt or send again
                    plan.unsettled.append(row_hash(row, self.fields))
                    self.report.errors.append(f"create {self._describe(row)}: {outcome['error']}")
        for row in plan.push_update:
            outcome = self._update(row)
            if outcome["status"] == "ok":
                plan.agree[row[self.key]] = row_hash(row, self.fields)
                self.report.updated += 1
            else:
                self.report.errors.append(f"update {self.key} {row[self.key]}: {outcome['error']}")
        if plan.push_delete:
            for row, outcome in zip(plan.push_delete, self._delete(plan.push_delete), strict=True):
                if outcome["status"] == "ok":
                    plan.forget.append(row[self.key])
                    self.report.deleted += 1
                else:
                    self.report.errors.append(f"delete {self.key} {row[self.key]}: {outcome['error']}")

    def _create(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """INSERT the rows; each one's outcome, in their order."""
        columns = ", ".join(self._sql_name(c) for c in self.fields)
        values = ", ".join("(" + ", ".join("?" * len(self.fields)) + ")" for _ in rows)
        by_row = {o["row"]: o for o in self._write(f'INSERT INTO "{self.table.name}" ({columns}) VALUES {values}',
                                                  [_param(r.get(c)) for r in rows for c in self.fields])}
        return [by_row[i + 1] for i in range(len(rows))]

    def _update(self, row: dict[str, Any]) -> dict[str, Any]:
        """UPDATE one contact (its list stays: ClickSend moves none by an update); its outcome."""
        columns = [c for c in self.fields if c != self.list]
        sets = ", ".join(f"{self._sql_name(c)} = ?" for c in columns)
        return self._write(f'UPDATE "{self.table.name}" SET {sets} WHERE {self._sql_name(self.list)} = ? AND '
                           f'{self._sql_name(self.key)} = ?',
                           [*(_param(row.get(c)) for c in columns), row[self.list], row[self.key]])[0]

    def _delete(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """DELETE the contacts; each one's outcome, in their order (a contact no outcome names: an error)."""
        pairs = " OR ".join(f"({self._sql_name(self.list)} = ? AND {self._sql_name(self.key)} = ?)" for _ in rows)
        by_key = {o["key"]: o for o in self._write(f'DELETE FROM "{self.table.name}" WHERE {pairs}',
                                                   [v for r in rows for v in (r[self.list], r[self.key])])}
        return [by_key.get(str(r[self.key]), {"status": "error", "error": None}) for r in rows]

    def _write(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """One statement through the connector's write path, in a session of its own; its outcome rows."""
        with self.con.cursor() as session:
            outcome = session.sql(sql, params)
            self.report.requests += session.last_stats.requests
        return outcome.arrow().to_pylist()

    def _sql_name(self, copy_column: str) -> str:
        """A synced column's name in the connector's SQL, quoted (``phone_number`` is ``"PhoneNumber"``)."""
        return '"' + self.sql_names[copy_column] + '"'

    def _record_pending(self, versions: list[str]) -> None:
        """Before creating: the versions of the rows being created (the last run's pending ones were adopted or are
        among these again)."""
        with self.copy.transaction():
            self.copy.execute(f"DELETE FROM {self.state_name} WHERE {self.key} IS NULL")
            self.copy.insert(self.state_name, [self.key, self.list, "version", "pending"],
                             [(None, None, None, v) for v in versions])

    def _pull(self, plan: _Plan, remote: _Side) -> None:
        """ClickSend's changes into the user's table, and the agreed versions, in one transaction."""
        wanted = [self.key, *self.fields]
        with self.copy.transaction():
            for contact_id in plan.pull_delete:
                self.copy.execute(f"DELETE FROM {self.local_name} WHERE {self.key} = %s", contact_id)
            for contact_id in plan.recreated:
                self.copy.execute(f"DELETE FROM {self.local_name} WHERE {self.key} = %s", contact_id)
            for row in plan.pull_update:
                sets = ", ".join(f"{c} = %s" for c in self.fields)
                self.copy.execute(f"UPDATE {self.local_name} SET {sets} WHERE {self.key} = %s",
                                  *[row.get(c) for c in self.fields], row[self.key])
                plan.agree[row[self.key]] = remote.version(row[self.key])
            for row, contact_id in plan.assign:
                if row.get(self.key) is None:
                    self._set_new_id(row, contact_id)
                else:  # created again after ClickSend deleted it: the old row goes, the row with its new id comes
                    self.copy.insert(self.local_name, wanted, [tuple({**row, self.key: contact_id}.get(c) for c in wanted)])
                plan.agree[contact_id] = row_hash(row, self.fields)
            self.copy.insert(self.local_name, wanted, [tuple(r.get(c) for c in wanted) for r in plan.pull_new])
            for row in plan.pull_new:
                plan.agree[row[self.key]] = remote.version(row[self.key])
            self.report.pulled_new = len(plan.pull_new)
            self.report.pulled_updated = len(plan.pull_update)
            self.report.pulled_deleted = len(plan.pull_delete)
            # the agreed versions replace the last ones whole; creates without a confirmed id stay pending
            self.copy.execute(f"DELETE FROM {self.state_name}")
            forgotten = set(plan.forget) | set(plan.pull_delete)
            self.copy.insert(self.state_name, [self.key, self.list, "version", "pending"],
                             [(i, None, v, None) for i, v in plan.agree.items() if i not in forgotten]
                             + [(None, None, None, v) for v in plan.unsettled])

    def _set_new_id(self, row: dict[str, Any], contact_id: int) -> None:
        """Give a new row its ClickSend id (found by its values: the row has no other key)."""
        conditions = " AND ".join(f"{c} IS NULL" if row.get(c) is None else f"{c} = %s" for c in self.fields)
        values = [row[c] for c in self.fields if row.get(c) is not None]
        self.copy.execute(f"UPDATE {self.local_name} SET {self.key} = %s WHERE {self.key} IS NULL AND {conditions}",
                          contact_id, *values)

    def _describe(self, row: dict[str, Any]) -> str:
        return ", ".join(f"{c}={row[c]!r}" for c in self.fields if row.get(c) not in (None, ""))


@dataclass
class _Plan:
    """What a sync will do, decided before anything is written."""

    create: list[dict[str, Any]] = field(default_factory=list)
    push_update: list[dict[str, Any]] = field(default_factory=list)
    push_delete: list[dict[str, Any]] = field(default_factory=list)
    pull_new: list[dict[str, Any]] = field(default_factory=list)
    pull_update: list[dict[str, Any]] = field(default_factory=list)
    pull_delete: list[Any] = field(default_factory=list)
    recreated: set[Any] = field(default_factory=set)
    assign: list[tuple[dict[str, Any], int]] = field(default_factory=list)  # local row -> its new ClickSend id
    agree: dict[Any, str] = field(default_factory=dict)  # contact id -> the version both sides now hold
    forget: list[Any] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)  # versions of creates with no confirmed id


def _param(value: Any) -> Any:
    """A value for a ClickSend column: NULL is sent as '' (ClickSend's unset)."""
    return "" if value is None else value


def _aware(stamp: datetime) -> datetime:
    """A time from the user's table, in UTC if it says no zone (ClickSend's are UTC)."""
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=timezone.utc)
