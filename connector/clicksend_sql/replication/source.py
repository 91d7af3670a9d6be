"""The dlt source: one resource per ClickSend table, declared from the catalog.

Each resource reads through the connector's own streaming scan (``Connection.stream``) with its
cursor pushed down (``date_from``, ``updated_after``) and yields Arrow batches as pages arrive, so
dlt takes its Arrow path and memory stays flat. How a table is copied is decided from its
declaration alone (:func:`copy_plan`); nothing here names a table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dlt
import dlt.common.jsonpath as _jsonpath
import pyarrow as pa
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from ..catalog import Catalog, Table
from ..errors import ClickSendSQLError, did_you_mean

if TYPE_CHECKING:
    from ..connection import Connection

ROW_HASH = "_row_hash"  # md5 of the row as DuckDB prints it: scd2's row version, and "was it changed?"
DELETED = "_deleted"  # dlt's hard_delete column: True on a tombstone row, NULL on every row read
CHANGE_CURSOR = "UpdatedDate"  # a cursor that moves on every change needs no lag window
DEFAULT_LAG_SECONDS = 3 * 86_400  # late delivery receipts change a message's status for days
HISTORY_SUFFIX = "_history"
_NAMING = NamingConvention()  # dlt's default: the names tables and columns get in the copy

# dlt compiles each incremental's cursor path with jsonpath_ng about six times per run, and jsonpath_ng 1.8
# rebuilds its LALR tables on every parse (30-90 ms each): a quarter of a small run's time. The compiled
# paths are immutable, so one per distinct path is enough.
_jsonpath._parse = functools.lru_cache(maxsize=512)(_jsonpath._parse)


@dataclass(frozen=True)
class CopyPlan:
    """How one table is copied: merged on its key from its cursor on, or replaced whole.

    ``counted_by`` names the parent table and column that count this table's rows per parent
    (Contacts per ContactLists.ContactsCount): deletes are found by comparing those counts.

    >>> from clicksend_sql.catalog import load_catalog
    >>> catalog = load_catalog()
    >>> copy_plan(catalog.table("SMSHistory"))
    CopyPlan(table='SMSHistory', disposition='merge', cursor='Date', lag_applies=True, counted_by=None)
    >>> copy_plan(catalog.table("Contacts"))
    CopyPlan(table='Contacts', disposition='merge', cursor='UpdatedDate', lag_applies=False, counted_by=('ContactLists', 'ContactsCount'))
    >>> copy_plan(catalog.table("ContactLists")).disposition
    'replace'
    """

    table: str
    disposition: str
    cursor: str | None
    lag_applies: bool
    counted_by: tuple[str, str] | None


def copy_name(name: str) -> str:
    """The name a table or column has in the copy (dlt's snake_case).

    >>> copy_name("SMSHistory"), copy_name("ContactId"), copy_name("Contacts_history")
    ('sms_history', 'contact_id', 'contacts_history')
    """
    return _NAMING.normalize_identifier(name)


def copy_plan(table: Table) -> CopyPlan:
    """The first incremental column is the cursor; a table without a key or cursor is replaced whole
    (in one transaction, so a deleted row leaves the copy too)."""
    cursor = table.incremental[0] if table.incremental and table.primary_key else None
    parent = table.parent
    counted_by = (parent.table, parent.count_column) if parent and parent.count_column and cursor else None
    return CopyPlan(table.name, "merge" if cursor else "replace", cursor, cursor not in (None, CHANGE_CURSOR), counted_by)


def replicable(table: Table) -> bool:
    """Whether the whole table can be listed: nothing is needed in WHERE (AccountUsage needs a Year,
    AvailableNumbers a Country: those are queries, not copies). A table
    read without credentials (Countries) is listed whole all the same.

    >>> from clicksend_sql.catalog import load_catalog
    >>> catalog = load_catalog()
    >>> [name for name in ("Countries", "Contacts", "AccountUsage") if replicable(catalog.table(name))]
    ['Countries', 'Contacts']
    """
    return not table.needed_in_where


def chosen_tables(catalog: Catalog, names: Sequence[str] | None) -> list[Table]:
    """The tables named (any case), or every replicable table; a name that cannot be copied is refused."""
    everything = [t for t in catalog.tables.values() if replicable(t)]
    if not names:
        return everything
    chosen = []
    for name in names:
        if not catalog.has_table(name):
            raise ClickSendSQLError(f"No table {name!r} to replicate.{did_you_mean(name, [t.name for t in everything])}")
        table = catalog.table(name)
        if not replicable(table):
            raise ClickSendSQLError(
                f"Table {table.name} cannot be replicated: ClickSend lists it only for given "
                f"{', '.join(table.list.path_vars)}. Query it with WHERE instead."
            )
        if table not in chosen:
            chosen.append(table)
    return chosen


@dataclass
class TableTally:
    """What one table's resource read in this run, and how it compares with the copy."""

    read: int = 0
    requests: int = 0
    seconds: float = 0.0
    fresh: int = 0  # rows read that the copy's window did not hold: new, or updated since an older version
    changed: int = 0  # rows read that the copy's window held in another version
    vanished: int = 0  # a replaced table: rows of the copy not read again
    read_keys: dict[Any, set[Any]] = field(default_factory=dict)  # a table counted per parent: keys read, per parent


Versions = Callable[[Table, "str | None", Any], dict[str, str]]


@dataclass
class Tally:
    """Every table's :class:`TableTally`; ``versions`` reads the copy's key -> row hash for a window."""

    tables: dict[str, TableTally] = field(default_factory=dict)
    versions: Versions | None = None
    on_table_done: Callable[[str, TableTally], None] | None = None
    keyed: frozenset[str] = frozenset()  # tables whose keys read are kept per parent: a delete check follows

    def of(self, table: str) -> TableTally:
        return self.tables.setdefault(table, TableTally())


def _compare(batch: pa.RecordBatch, table: Table, known: dict[str, str], seen: set[str], tally: TableTally) -> None:
    """Count the batch's rows as fresh or changed against the copy's versions."""
    hashes = batch.column(ROW_HASH).to_pylist()
    keys = batch.column(table.primary_key[0]).cast(pa.string()).to_pylist() if table.primary_key else hashes
    for key, version in zip(keys, hashes, strict=True):
        held = known.get(key)
        if held is None:
            tally.fresh += 1
        else:
            seen.add(key)
            tally.changed += held != version


def scan_sql(table: Table, cursor: str | None, since: Any) -> tuple[str, list[Any] | None]:
    """The statement a resource streams: every column but secrets, plus the row hash, from the cursor on.

    >>> from clicksend_sql.catalog import load_catalog
    >>> scan_sql(load_catalog().table("SMSHistory"), "Date", "2026-01-01")
    ('SELECT t.*, md5(CAST(t AS VARCHAR)) AS "_row_hash" FROM (SELECT * FROM "SMSHistory") AS t WHERE t."Date" >= ?', ['2026-01-01'])
    >>> scan_sql(load_catalog().table("Subaccounts"), None, None)[0]
    'SELECT t.*, md5(CAST(t AS VARCHAR)) AS "_row_hash" FROM (SELECT * EXCLUDE ("ApiKey") FROM "Subaccounts") AS t'
    """
    secrets = ", ".join(f'"{c.name}"' for c in table.columns if c.secret)
    rows = f'SELECT *{f" EXCLUDE ({secrets})" if secrets else ""} FROM "{table.name}"'
    sql = f'SELECT t.*, md5(CAST(t AS VARCHAR)) AS "{ROW_HASH}" FROM ({rows}) AS t'
    if cursor is None or since is None:
        return sql, None
    return f'{sql} WHERE t."{cursor}" >= ?', [since]


def required(schema: pa.Schema, names: set[str]) -> pa.Schema:
    """The schema with ``names`` marked NOT NULL, as dlt declares a key (ClickSend never omits one).

    >>> required(pa.schema([("Id", pa.int64()), ("Name", pa.string())]), {"Id"}).field("Id").nullable
    False
    """
    return pa.schema([f.with_nullable(False) if f.name in names else f for f in schema])


def _remember_keys(batch: pa.RecordBatch, table: Table, keys: dict[Any, set[Any]]) -> None:
    """The keys read per parent (a run's new rows count before its deletes are looked for)."""
    assert table.parent is not None
    parents = batch.column(table.parent.column).to_pylist()
    for parent, key in zip(parents, batch.column(table.primary_key[0]).to_pylist(), strict=True):
        keys.setdefault(parent, set()).add(key)


def stream_table(con: Connection, table: Table, cursor: str | None, since: Any, tally: Tally,
                 ) -> Iterator[pa.RecordBatch]:
    """The table's rows from ``since`` on, batch by batch, read in a session of its own (dlt reads
    several resources' streams in turn)."""
    counts = tally.of(table.name)
    known = tally.versions(table, cursor, since) if tally.versions else {}
    seen: set[str] = set()
    sql, params = scan_sql(table, cursor, since)
    with con.cursor() as session:
        with session.stream(sql, params, cache=False) as reader:  # a copy never takes an old page
            schema = required(reader.schema, {*table.primary_key, ROW_HASH})
            for read in reader:
                batch = pa.RecordBatch.from_arrays(read.columns, schema=schema)
                counts.read += batch.num_rows
                if table.name in tally.keyed:
                    _remember_keys(batch, table, counts.read_keys)
                if known:
                    _compare(batch, table, known, seen, counts)
                else:
                    counts.fresh += batch.num_rows
                yield batch
        counts.requests += session.last_stats.requests
        counts.seconds += session.last_stats.elapsed_seconds
    if cursor is None:
        counts.vanished = len(known.keys() - seen)
    if tally.on_table_done is not None:
        tally.on_table_done(table.name, counts)


def table_hints(table: Table) -> dict[str, Any]:
    """A table's dlt hints: its key, how it is written, the row hash and (if deletes are found) dlt's hard-delete column."""
    plan = copy_plan(table)
    columns: dict[str, Any] = {ROW_HASH: {"data_type": "text", "nullable": False}}
    if plan.counted_by:
        columns[DELETED] = {"data_type": "bool", "nullable": True, "hard_delete": True}
    return dict(name=table.name, primary_key=list(table.primary_key) or None, columns=columns,
                write_disposition=plan.disposition)


def _resource(con: Connection, table: Table, plan: CopyPlan, lag: float, tally: Tally) -> DltResource:
    """One table's dlt resource, its key, disposition and cursor taken from the catalog."""
    # Not parallelized: dlt takes the resources round-robin in the calling thread, and each scan fetches its pages
    # ahead on the I/O thread meanwhile, as fast as dlt's threads made it (measured), while Ctrl-C and a closing
    # connection find every stream in the thread that reads it.
    common = table_hints(table)
    if plan.cursor is None:
        def whole() -> Iterator[pa.RecordBatch]:
            yield from stream_table(con, table, None, None, tally)

        return dlt.resource(whole, **common)
    # primary_key=() turns off dlt's de-duplication of rows at the checkpoint's second: a row changed again in
    # that second would be dropped as a duplicate. The merge on the key makes re-reading them harmless.
    cursor_hint: dlt.sources.incremental[Any] = dlt.sources.incremental(plan.cursor, primary_key=(), lag=lag if plan.lag_applies and lag else None)

    def rows(cursor: dlt.sources.incremental[Any] = cursor_hint) -> Iterator[pa.RecordBatch]:
        yield from stream_table(con, table, plan.cursor, cursor.start_value, tally)

    return dlt.resource(rows, **common)


def history_hints(table: Table) -> dict[str, Any]:
    """The hints of ``<table>_history``: every version of every row (dlt's scd2,
    ``_dlt_valid_from``/``_dlt_valid_to``).

    Only rows read in this run can be retired (the copy is incremental: a row not read is unchanged,
    not deleted); a tombstone (``_deleted``) closes its row's last version and adds none.
    """
    key = copy_name(table.primary_key[0])
    return dict(
        name=table.name + HISTORY_SUFFIX,
        write_disposition={
            "disposition": "merge", "strategy": "scd2", "row_version_column_name": ROW_HASH,
            "destination_scope": f"{key} IN (SELECT {key} FROM {{staging_table}})",
            "source_filter": f"{DELETED} IS NOT TRUE",
        },
        columns={DELETED: {"data_type": "bool", "nullable": True}, ROW_HASH: {"data_type": "text"}},
    )


def history_resource(parent: DltResource, table: Table) -> DltResource:
    """``<table>_history`` fed by the batches the table's own resource reads (no second read)."""
    def versions(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        yield batch

    return dlt.transformer(versions, data_from=parent, **history_hints(table))


def dlt_source(con: Connection, tables: Sequence[str] | None = None, *, lag: float = DEFAULT_LAG_SECONDS,
               history: Sequence[str] = (), tally: Tally | None = None) -> DltSource:
    """A dlt source over this connection's account: one resource per table (every replicable
    table by default), for ``pipeline.run(...)`` in pipelines you already run.

    ``lag`` (seconds) re-reads that much recent history on each run, so late status changes reach
    the copy; ``history`` names tables that also keep every version of every row (``<table>_history``).
    """
    chosen = chosen_tables(con.catalog, tables)
    kept = {con.catalog.table(name).name for name in history}
    for name in kept:
        if name not in {t.name for t in chosen} or copy_plan(con.catalog.table(name)).cursor is None:
            raise ClickSendSQLError(
                f"history={name!r}: history is kept for replicated tables with a key and a cursor "
                f"({', '.join(t.name for t in chosen if copy_plan(t).cursor) or 'none chosen'})."
            )
    tally = tally if tally is not None else Tally()
    resources: list[DltResource] = []
    for table in chosen:
        resource = _resource(con, table, copy_plan(table), lag, tally)
        resources.append(resource)
        if table.name in kept:
            resources.append(history_resource(resource, table))
    return DltSource(dlt.Schema("clicksend"), "clicksend", resources)


__all__ = ["CopyPlan", "TableTally", "Tally", "chosen_tables", "copy_name", "copy_plan", "dlt_source", "replicable"]
