"""``replicate()``: copy ClickSend tables into a database with dlt, and say what changed.

A run is two loads. The first merges what changed since each table's cursor (and replaces the
small tables whole); the second, only when something was deleted, removes the rows ClickSend no
longer has (and closes their last version in the history). dlt keeps the cursors in the
destination, so a run on a fresh machine resumes where the last one stopped, and a load package
an interruption left behind is completed by the next run before anything else.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import dlt
import pyarrow as pa
from dlt.common.exceptions import SignalReceivedException
from dlt.common.pipeline import get_dlt_pipelines_dir
from dlt.common.runtime import signals
from dlt.pipeline.exceptions import PipelineStepFailed

from ..errors import ClickSendSQLError
from .copy import Copy
from .deletes import Deletes, find_deletes
from .destinations import destination as resolve_destination
from .destinations import identity, masked_destination
from .source import (
    DEFAULT_LAG_SECONDS,
    TableTally,
    Tally,
    chosen_tables,
    copy_name,
    copy_plan,
    dlt_source,
    history_hints,
    table_hints,
)

if TYPE_CHECKING:
    from ..connection import Connection

E = TypeVar("E", bound=BaseException)


@dataclass
class TableReport:
    """One table's part of a run."""

    table: str
    copy: str  # its name in the destination
    read: int
    new: int
    updated: int
    deleted: int
    requests: int
    seconds: float


@dataclass
class ReplicationReport:
    """What a run did, per table; ``arrow()`` for a table of it."""

    destination: str
    dataset: str
    tables: list[TableReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(t.requests for t in self.tables)

    def arrow(self) -> pa.Table:
        return pa.Table.from_pylist([asdict(t) for t in self.tables])

    def __str__(self) -> str:
        lines = [f"{t.table}: {t.read} read, {t.new} new, {t.updated} updated, {t.deleted} deleted, "
                 f"{t.requests} requests, {t.seconds:.1f} s" for t in self.tables]
        return "\n".join([*lines, f"{self.requests} requests in {self.seconds:.1f} s into {self.destination} "
                                  f"(dataset {self.dataset})"])


def pipeline_for(destination: str | None, dataset: str, pipelines_dir: str | Path | None = None,
                 pipeline_name: str | None = None) -> dlt.Pipeline:
    """The dlt pipeline of one destination and dataset.

    Its working folder is only a cache, one per destination (``<pipelines_dir>/<identity>/``): the
    cursors live in the destination under the pipeline's name, which names only the dataset, so a
    DuckDB file copied or moved elsewhere resumes where it was, and one dataset copied into two
    databases never shares a cursor through the cache."""
    # dlt's anonymous telemetry stays off unless the user turned it on (RUNTIME__DLTHUB_TELEMETRY=true), and the
    # files of a completed load are deleted (dlt keeps them by default: every run's rows, contacts' PII included)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
    cache = Path(pipelines_dir) if pipelines_dir is not None else Path(get_dlt_pipelines_dir())
    return dlt.pipeline(pipeline_name=pipeline_name or f"clicksend_{dataset}", destination=resolve_destination(destination),
                        dataset_name=dataset, pipelines_dir=str(cache / identity(destination)))


def replicate(
    con: Connection,
    tables: Sequence[str] | None = None,
    *,
    destination: str | None = None,
    dataset: str = "clicksend",
    full_refresh: bool = False,
    lag: float = DEFAULT_LAG_SECONDS,
    history: Sequence[str] = (),
    pipelines_dir: str | Path | None = None,
    on_table_done: Callable[[str, TableTally], None] | None = None,
) -> ReplicationReport:
    """Copy ``tables`` (every replicable table by default) into ``destination`` and return what changed.

    ``destination``: ``duckdb:///file.duckdb``, ``postgresql://...``, a dlt destination name, or
    None for ``clicksend_copy.duckdb`` here. ``lag`` (seconds, default 3 days) re-reads recent history so
    late status changes arrive; ``history`` names tables that also keep every version
    (``<table>_history``); ``full_refresh`` drops the copies and reads everything again.
    """
    started = time.perf_counter()
    pipeline = pipeline_for(destination, dataset, pipelines_dir)
    chosen = chosen_tables(con.catalog, tables)
    with Copy(pipeline) as copy:
        before = {t.name: 0 if full_refresh else copy.count(t.name) for t in chosen}
        # a copy that held nothing before this run has nothing to delete (a row deleted during it is found next run)
        checked = [t for t in chosen if copy_plan(t).counted_by and before[t.name]]
        tally = Tally(versions=None if full_refresh else copy.versions, on_table_done=on_table_done,
                      keyed=frozenset(t.name for t in checked))
        source = dlt_source(con, [t.name for t in chosen], lag=lag, history=history, tally=tally)
        deletes: dict[str, Deletes] = {}

        def tombstones() -> list[Any]:
            deletes.update({t.name: find_deletes(con, copy, t, tally.of(t.name).read_keys) for t in checked})
            return [r for d in deletes.values() if d.keys for r in _tombstones(d, history)]

        _load(pipeline, source, tombstones, refresh="drop_resources" if full_refresh else None)
        report = ReplicationReport(masked_destination(destination), dataset)
        for table in chosen:
            counts, gone = tally.of(table.name), deletes.get(table.name, Deletes(table, []))
            report.tables.append(_table_report(table.name, counts, gone, before[table.name], copy.count(table.name)))
    report.seconds = time.perf_counter() - started
    return report


def _table_report(name: str, counts: TableTally, gone: Deletes, before: int, after: int) -> TableReport:
    """New, updated and deleted rows from the copy's counts and the versions the run compared."""
    deleted = len(gone.keys) + counts.vanished
    new = max(after - before + deleted, 0)
    updated = max(counts.fresh - new, 0) + counts.changed
    return TableReport(name, copy_name(name), counts.read, new, updated, deleted, counts.requests + gone.requests,
                       round(counts.seconds, 3))


def _tombstones(deletes: Deletes, history: Sequence[str]) -> list[Any]:
    """The deleted rows as dlt resources: hard-deleted in the table, retired in its history."""
    rows = deletes.tombstones()
    resources = [dlt.resource([rows], **table_hints(deletes.table))]
    if deletes.table.name.lower() in {h.lower() for h in history}:
        resources.append(dlt.resource([rows], **history_hints(deletes.table)))
    return resources


def _load(pipeline: dlt.Pipeline, source: Any, tombstones: Callable[[], list[Any]], refresh: Any = None) -> None:
    """One load of what changed and what was deleted, found before anything is loaded: a run that fails
    while reading (the changes or the deletes) drops what it extracted, cursors included, and leaves
    the copy as it was; a load that an interruption cut short is completed by the next run first."""
    fmt = _file_format(pipeline)
    try:
        pipeline.sync_destination()  # a fresh machine takes the cursors from the destination
        if pipeline.has_pending_data:
            _normalize_and_load(pipeline)
        try:
            pipeline.extract(source, refresh=refresh, loader_file_format=fmt)
            deleted = tombstones()
            if deleted:
                pipeline.extract(deleted, loader_file_format=fmt)
        except BaseException:
            pipeline.abort_packages()
            raise
        _normalize_and_load(pipeline)
    except PipelineStepFailed as failed:
        interrupted = _in_chain(failed, KeyboardInterrupt)
        if interrupted is not None:  # Ctrl-C (or a signal dlt held and raised): dlt wraps it like any failure
            if isinstance(interrupted, SignalReceivedException):
                signal.raise_signal(interrupted.signal_code)  # to the handler it was meant for, as below
            raise KeyboardInterrupt from failed  # the caller (the CLI: exit 130) wants it back
        cause = failed.__cause__ or failed.exception
        ours = _in_chain(failed, ClickSendSQLError)
        if ours is not None:
            raise _restated(ours, f"Replication stopped while reading ({failed.step}): {ours}") from ours
        raise ClickSendSQLError(
            f"Replication stopped in dlt's {failed.step} step: {cause}. Nothing was half-written; run it again "
            "to complete it."
        ) from cause


def _normalize_and_load(pipeline: dlt.Pipeline) -> None:
    """dlt's normalize and load steps, a Ctrl-C or SIGTERM kept. dlt defers one that lands in them
    and forgets it if the step then completes (the command went on and printed its report): held
    here for both steps, the load is still never cut in half, and the signal goes to the handler it
    was meant for once they are done (Ctrl-C: KeyboardInterrupt; SIGTERM: by default, the end)."""
    held: SignalReceivedException | None = None
    with signals.intercepted_signals():
        pipeline.normalize()
        pipeline.load()
        if signals.was_signal_received():
            held = cast(SignalReceivedException, signals.exception_for_signal())
    if held is not None:  # the handlers are the caller's again
        signal.raise_signal(held.signal_code)
        raise held  # a handler that returned: still, the run did not finish


def _file_format(pipeline: dlt.Pipeline) -> Any:
    """The file format dlt loads with: its own choice, except csv (PostgreSQL's for Arrow data), which
    loads every empty string as NULL (dlt's CSV has one token for both), and ClickSend is full of ''."""
    destination = pipeline.destination
    return "insert_values" if destination is not None and destination.destination_name == "postgres" else None


def _in_chain(exc: BaseException | None, kind: type[E]) -> E | None:
    """The first exception of ``kind`` among those that led to ``exc`` (causes and contexts): dlt wraps a
    resource's exception in its ResourceExtractionError before PipelineStepFailed, and reports Ctrl-C as the
    cause, or as the context of a 'generator already executing' raised while closing its generators.

    >>> try:
    ...     try:
    ...         raise KeyboardInterrupt
    ...     except KeyboardInterrupt:
    ...         raise ValueError("generator already executing")
    ... except ValueError as exc:
    ...     type(_in_chain(exc, KeyboardInterrupt)).__name__, _in_chain(ValueError(), KeyboardInterrupt)
    ('KeyboardInterrupt', None)
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _restated(error: ClickSendSQLError, message: str) -> ClickSendSQLError:
    """``error`` with another message, of its own class and with its attributes (a ServerError's
    status, method and path), whatever its constructor takes.

    >>> from clicksend_sql.errors import ServerError
    >>> again = _restated(ServerError("HTTP 500", status=500, path="/sms/history"), "Stopped: HTTP 500")
    >>> type(again).__name__, str(again), again.status, again.path
    ('ServerError', 'Stopped: HTTP 500', 500, '/sms/history')
    """
    restated = type(error).__new__(type(error))
    restated.__dict__.update(error.__dict__)
    restated.args = (message,)
    return restated
