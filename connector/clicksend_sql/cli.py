"""The ``clicksend-sql`` command line: ``query`` runs SQL, ``emulator`` serves a local ClickSend."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress as RichProgress
from rich.progress import TaskID

from . import __version__
from .connection import connect
from .emulator.cli import emulator_command
from .errors import ClickSendSQLError
from .execution import Progress

PROGRESS_AFTER_SECONDS = 0.5  # scans quicker than this show no progress display


class ProgressDisplay:
    """Rows, pages and rate per table on stderr, shown only once a scan takes more than a moment."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._started = time.monotonic()
        self._bar: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, progress: Progress) -> None:
        if self._bar is None:
            if time.monotonic() - self._started < PROGRESS_AFTER_SECONDS or not self._console.is_terminal:
                return
            self._bar = RichProgress(
                "[bold]{task.description}",
                "{task.fields[rows]:,} rows",
                "{task.fields[pages]:,} pages",
                "{task.fields[rate]:,.0f} rows/s",
                console=self._console,
                transient=True,
            )
            self._bar.start()
        if progress.table not in self._tasks:
            self._tasks[progress.table] = self._bar.add_task(progress.table, total=None, rows=0, pages=0, rate=0.0)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        self._bar.update(
            self._tasks[progress.table], rows=progress.rows, pages=progress.pages, rate=progress.rows / elapsed
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _parse_params(values: tuple[str, ...]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not name=value", param_hint="--param")
        params[name.lstrip(":$")] = value
    return params or None


def _write(table: pa.Table, fmt: str, output: str | None) -> None:
    if fmt == "parquet":
        if output is None:
            raise click.UsageError("--format parquet needs --output FILE")
        pq.write_table(table, output)
        return
    if fmt == "csv":
        sink: Any = output if output else sys.stdout.buffer
        pacsv.write_csv(table, sink)
        return
    if fmt == "json":
        text = orjson.dumps(table.to_pylist(), default=str, option=orjson.OPT_INDENT_2) + b"\n"
    else:
        import duckdb

        text = (repr(duckdb.from_arrow(table)) + "\n").encode()
    if output:
        Path(output).write_bytes(text)
    else:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clicksend-sql")
def main() -> None:
    """Query and change a ClickSend account with SQL."""


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "parquet"]), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the result to FILE instead of stdout.")
@click.option("--demo", is_flag=True, help="Query a built-in emulator with demo data (no account needed).")
@click.option("--profile", help="Profile in the config file to take credentials from.")
@click.option("--username", envvar="CLICKSEND_USERNAME", help="API username [env CLICKSEND_USERNAME].")
@click.option("--base-url", envvar="CLICKSEND_BASE_URL", help="API base URL [env CLICKSEND_BASE_URL].")
@click.option("--param", "-p", "params", multiple=True, help="Statement parameter name=value (repeatable).")
@click.option("--rate-limit", type=float, default=20.0, show_default=True, help="Requests per second at most.")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Requests in flight at most.")
@click.option("--stats", is_flag=True, help="Print requests, bytes and time spent to stderr.")
def query(
    sql: str,
    fmt: str,
    output: str | None,
    demo: bool,
    profile: str | None,
    username: str | None,
    base_url: str | None,
    params: tuple[str, ...],
    rate_limit: float,
    concurrency: int,
    stats: bool,
) -> None:
    """Run SQL over ClickSend tables (and local files/tables); SQL '-' reads stdin.

    The API key comes from CLICKSEND_API_KEY or the profile, never from the command line.
    """
    err = Console(stderr=True)
    display = ProgressDisplay(err)
    text = sys.stdin.read() if sql == "-" else sql
    try:
        with connect(
            username=username,
            base_url=base_url,
            profile=profile,
            demo=demo,
            rate_limit=rate_limit,
            concurrency=concurrency,
            progress=display,
        ) as con:
            result = con.sql(text, _parse_params(params))
    except ClickSendSQLError as exc:
        display.close()
        err.print("[red]Error:[/red]", escape(str(exc)), highlight=False)
        sys.exit(1)
    display.close()
    _write(result.arrow(), fmt, output)
    if stats:
        s = result.stats
        err.print(
            f"{s.requests} requests, {s.retries} retries, {s.bytes_received:,} bytes, "
            f"{s.wait_seconds:.2f}s waiting, {s.elapsed_seconds:.2f}s in all; rows fetched: {s.rows_fetched}",
            highlight=False,
        )


main.add_command(emulator_command, "emulator")
