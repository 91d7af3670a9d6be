"""``clicksend-sql replicate`` and ``sync``: the command-line faces of :func:`~.runner.replicate` and :func:`~.two_way_sync.sync`."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

import click

from ..cli import WRITE_FAILED, account_options, connection_for, reported
from ..output import ProgressDisplay
from .source import DEFAULT_LAG_SECONDS, TableTally

if TYPE_CHECKING:
    from .runner import ReplicationReport

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def seconds_of(text: str) -> float:
    """A duration as typed (``3d``, ``12h``, ``90m``, ``45s``, a bare number of seconds) in seconds.

    >>> seconds_of("3d"), seconds_of("12h"), seconds_of("0"), seconds_of("1.5h")
    (259200.0, 43200.0, 0.0, 5400.0)
    """
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text.lower())
    if found is None:
        raise click.BadParameter(f"{text!r} is not a duration; give e.g. 3d, 12h, 90m, 45s or 0.", param_hint="--lag")
    return float(found.group(1)) * _UNITS.get(found.group(2) or "s", 1)


@click.command("replicate")
@click.argument("tables", nargs=-1)
@click.option("--destination", "-d", metavar="URI|NAME",
              help="duckdb:///FILE.duckdb, postgresql://USER:PASSWORD@HOST:PORT/DB, or a dlt destination name "
                   "configured through dlt (motherduck, snowflake, bigquery, ...) [default: clicksend_copy.duckdb here].")
@click.option("--dataset", default="clicksend", show_default=True, help="Schema (dataset) the tables are copied into.")
@click.option("--full-refresh", is_flag=True, help="Drop the copies of these tables and read everything again.")
@click.option("--lag", default=f"{DEFAULT_LAG_SECONDS // 86_400}d", show_default=True,
              help="Re-read this much recent history each run, so late status changes arrive (e.g. 3d, 12h, 0).")
@click.option("--history", multiple=True, metavar="TABLE",
              help="Also keep every version of every row of TABLE in TABLE_history (repeatable), e.g. Contacts.")
@click.option("--pipelines-dir", type=click.Path(file_okay=False), hidden=True,
              help="dlt's working folder (a cache: the state lives in the destination).")
@account_options
def replicate_command(tables: tuple[str, ...], destination: str | None, dataset: str, full_refresh: bool, lag: str,
                      history: tuple[str, ...], pipelines_dir: str | None, **options: Any) -> None:
    """Copy ClickSend TABLES (default: every table that can be listed whole) into a database.

    Each run reads only what changed since the last one (and re-reads the --lag window), merges it
    on the table's key, removes rows deleted in ClickSend, and prints what it did per table. Run
    it again at any time: an interrupted run is completed by the next.
    """
    from rich.console import Console

    from .runner import replicate

    err = Console(stderr=True)

    def progress_line(table: str, counts: TableTally) -> None:
        err.print(f"{table}: {counts.read:,} rows read, {counts.requests:,} requests, {counts.seconds:.1f} s",
                  highlight=False, soft_wrap=True)

    with reported(err):
        with connection_for(options, ProgressDisplay(err)) as con:
            report = replicate(con, list(tables) or None, destination=destination, dataset=dataset,
                               full_refresh=full_refresh, lag=seconds_of(lag), history=history,
                               pipelines_dir=pipelines_dir, on_table_done=progress_line)
        _summary(report)
        # soft_wrap: one line whatever the terminal's width, so a long destination path stays whole
        err.print(f"{report.requests:,} requests in {report.seconds:.1f} s into {report.destination} "
                  f"(dataset {report.dataset}).", highlight=False, soft_wrap=True)


def _summary(report: ReplicationReport) -> None:
    """Every table's line of the run on stdout (all of them: this is the run's record, not a preview)."""
    from rich.console import Console
    from rich.table import Table

    table = Table("table", "copy", "read", "new", "updated", "deleted", "requests", "seconds", box=None)
    for t in report.tables:
        table.add_row(t.table, t.copy, f"{t.read:,}", f"{t.new:,}", f"{t.updated:,}", f"{t.deleted:,}",
                      f"{t.requests:,}", f"{t.seconds:.1f}")
    Console(file=sys.stdout, width=120).print(table)


@click.command("sync")
@click.argument("table", default="Contacts")
@click.option("--with", "with_table", required=True, metavar="SCHEMA.TABLE",
              help="Your table in the destination, with the copy's column names (contact_id, list_id, phone_number, ...).")
@click.option("--destination", "-d", metavar="URI|NAME", help="Where that table lives (as for replicate).")
@click.option("--dataset", default="clicksend", show_default=True, help="Dataset of the copy and of the sync's state.")
@click.option("--pipelines-dir", type=click.Path(file_okay=False), hidden=True)
@account_options
def sync_command(table: str, with_table: str, destination: str | None, dataset: str, pipelines_dir: str | None,
                 **options: Any) -> None:
    """Make a table of yours and ClickSend's TABLE (Contacts) equal, both ways.

    Rows added (contact_id NULL), changed or deleted in your table since the last sync go to
    ClickSend through the write path; ClickSend's changes come back to your table. A row changed
    on both sides goes to the newer UpdatedDate (your table's updated_date; without one, ClickSend
    wins) and is listed. Exit status 3 when ClickSend refused some rows (they are retried next time).
    """
    from rich.console import Console

    from .two_way_sync import sync

    err = Console(stderr=True)
    with reported(err):
        with connection_for(options, ProgressDisplay(err)) as con:
            report = sync(con, table, with_table=with_table, destination=destination, dataset=dataset,
                          pipelines_dir=pipelines_dir)
        for conflict in report.conflicts:
            err.print(f"conflict: contact_id {conflict.contact_id}: {conflict.why} (kept {conflict.kept}'s)", highlight=False)
        for error in report.errors:
            err.print(f"error: {error}", highlight=False)
        click.echo(str(report))
        if report.errors:
            sys.exit(WRITE_FAILED)
