"""What the command line and the shell show: results in a format, EXPLAIN blocks, stats, progress.

The ``query`` command and the interactive shell print through these functions, so a result looks
the same whichever way it was asked for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from rich.filesize import decimal

from .errors import ClickSendSQLError

if TYPE_CHECKING:  # rich.console and rich.markup load when something is printed (``--help`` prints without them)
    from rich.console import Console
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from .connection import Connection, Params
    from .execution import Progress
    from .result import Result, StatementStats

FORMATS = ("table", "csv", "json", "jsonl", "parquet")
EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
              ".txt": "table"}
PROGRESS_AFTER_SECONDS = 0.5  # scans quicker than this show no progress display
_EXPLAIN_HIDDEN = ("table", "duckdb_sql")  # the block's title, and SQL with internal view names


class OutputError(ClickSendSQLError):
    """An output file or format that cannot be used; reported before any request is made."""


def failed_rows(results: Sequence[Result]) -> int:
    """Rows of the writes among ``results`` whose outcome is ``error`` or ``unknown``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    failed = 0
    for result in results:
        table = result.arrow() if result.kind == "write" else None
        if table is not None and "status" in table.column_names:
            failed += pc.sum(pc.is_in(table.column("status"), value_set=pa.array(["error", "unknown"]))).as_py() or 0
    return failed


def resolve_format(fmt: str | None, output: str | None) -> str:
    """The format to write: ``--format`` if given, else the ``--output`` file's extension, else a table.

    >>> resolve_format(None, "out.JSONL"), resolve_format("csv", "out.json"), resolve_format(None, None)
    ('jsonl', 'csv', 'table')
    """
    if output is None:
        if fmt == "parquet":
            raise OutputError("--format parquet writes a file: add --output FILE.parquet.")
        return fmt or "table"
    suffix = Path(output).suffix.lower()
    if fmt is None and suffix not in EXTENSIONS:
        raise OutputError(
            f"Cannot tell the format of --output {output!r} from its extension; use one of "
            f"{', '.join(EXTENSIONS)} or say --format {'|'.join(FORMATS)}."
        )
    return fmt or EXTENSIONS[suffix]


def check_output(output: str) -> None:
    """Refuse an output file that cannot be written, before a statement spends any requests."""
    path = Path(output)
    if path.is_dir():
        raise OutputError(f"--output {output!r} is a directory; give a file name, e.g. {path / 'result.csv'}.")
    if not path.parent.is_dir():
        raise OutputError(f"--output {output!r}: the directory {str(path.parent)!r} does not exist.")
    existed = path.exists()
    try:  # a real probe: permission bits say nothing about read-only mounts, /proc, or root
        with path.open("ab"):
            pass
    except OSError as exc:
        raise OutputError(f"--output {output!r} is not writable ({exc.strerror}).") from None
    if not existed:
        path.unlink()


def write_result(result: Result, fmt: str, sink: BinaryIO | str) -> None:
    """Write one result to a binary stream or a file path in one of :data:`FORMATS`."""
    table = result.arrow()
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, sink)
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, sink)
    else:
        _write_bytes(_render(result, fmt), sink)


def _render(result: Result, fmt: str) -> bytes:
    import orjson

    if fmt == "json":
        return orjson.dumps(result.arrow().to_pylist(), default=str, option=orjson.OPT_INDENT_2) + b"\n"
    if fmt == "jsonl":
        return b"".join(orjson.dumps(row, default=str) + b"\n" for row in result.arrow().to_pylist())
    return (explain_text(result) if result.kind == "explain" else repr(result).rstrip("\n") + "\n").encode()


def _write_bytes(data: bytes, sink: BinaryIO | str) -> None:
    if isinstance(sink, str):
        Path(sink).write_bytes(data)
    else:
        sink.write(data)
        sink.flush()


def write_results(results: list[Result], fmt: str, sink: BinaryIO) -> None:
    """Every statement's result in order, a blank line between; statements without columns show nothing."""
    shown = [r for r in results if r.columns]
    for index, result in enumerate(shown):
        if index:
            _write_bytes(b"\n", sink)
        write_result(result, fmt, sink)


def explain_text(result: Result) -> str:
    """An EXPLAIN result as one block per table, each field on its own line.

    Any column the planner adds shows up too; empty fields are left out.
    """
    blocks = []
    for row in result.arrow().to_pylist():
        fields = {k: v for k, v in row.items() if k not in _EXPLAIN_HIDDEN and v not in (None, "")}
        width = max((len(k) for k in fields), default=0)
        lines = [str(row.get("table", ""))]
        lines += [f"  {k.replace('_', ' '):<{width}}  {_explain_value(v)}" for k, v in fields.items()]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _explain_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,}" if isinstance(value, int) else str(value)


def stats_line(stats: StatementStats) -> str:
    """What a statement cost, in one line.

    >>> from clicksend_sql.result import StatementStats
    >>> stats_line(StatementStats(requests=12, bytes_received=1_234_567, elapsed_seconds=0.84,
    ...                           rows_fetched={"SMSHistory": 2000}))
    '12 requests, 0 retries, 1.2 MB, 0.84 s, rows: SMSHistory 2,000'
    """
    parts = [
        _count(stats.requests, "request", "requests"),
        _count(stats.retries, "retry", "retries"),
        decimal(stats.bytes_received),
        f"{stats.elapsed_seconds:.2f} s",
    ]
    if stats.rate_limited:
        parts.append(f"{stats.rate_limited:,} rate-limited")
    if stats.cached:
        parts.insert(1, f"{stats.cached:,} from cache")
    line = ", ".join(parts)
    if stats.rows_fetched:
        line += ", rows: " + ", ".join(f"{table} {rows:,}" for table, rows in stats.rows_fetched.items())
    return line


def print_stats(err: Console, results: list[Result]) -> None:
    """One stats line per statement, on stderr."""
    for result in results:
        err.print(stats_line(result.stats), highlight=False, soft_wrap=True)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def print_error(err: Console, message: str) -> None:
    """One line on stderr, the way every command reports a failure (DuckDB's hints join the line)."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    from rich.markup import escape

    err.print("[red]Error:[/red]", escape(line), highlight=False, soft_wrap=True)


class Interrupted(ClickSendSQLError):
    """Ctrl-C stopped a statement; the message says how far it got."""


def run_statements(con: Connection, display: ProgressDisplay, text: str, params: Params = None) -> list[Result]:
    """Every statement's result, in order (``Connection.sql_each`` where this version has it).

    Ctrl-C stops the statement's requests and comes out as :class:`Interrupted`.
    """
    from .result import StatementStats

    before = con.last_stats
    display.restart()
    sql_each = getattr(con, "sql_each", None)
    try:
        return sql_each(text, params) if sql_each is not None else [con.sql(text, params)]
    except KeyboardInterrupt:
        stats = con.last_stats if con.last_stats is not before else StatementStats()
        raise Interrupted(interrupted_message(stats, display.rows_fetched)) from None
    finally:
        display.close()


def interrupted_message(stats: StatementStats, rows: int) -> str:
    """What an interrupted statement had done when Ctrl-C stopped it.

    >>> from clicksend_sql.result import StatementStats
    >>> interrupted_message(StatementStats(requests=12, bytes_received=1_234_567), 3400)
    'Interrupted after 12 requests (1.2 MB, 3,400 rows fetched).'
    """
    spent = f"{_count(stats.requests, 'request', 'requests')} ({decimal(stats.bytes_received)}, {rows:,} rows fetched)"
    return f"Interrupted after {spent}."


class ProgressDisplay:
    """Rows (of how many, once the first page said), pages and time left per table on stderr, once a
    scan takes more than a moment.

    It also counts the rows fetched, so an interrupted statement can say how far it got.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._started = time.monotonic()
        self._bar: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._scans: dict[int, Progress] = {}

    @property
    def rows_fetched(self) -> int:
        return sum(p.rows for p in self._scans.values())

    def restart(self) -> None:
        """Forget the last statement (the shell runs many through one display)."""
        self.close()
        self._started, self._bar, self._tasks, self._scans = time.monotonic(), None, {}, {}

    def __call__(self, progress: Progress) -> None:
        self._scans[id(progress)] = progress
        if self._bar is None:
            if time.monotonic() - self._started < PROGRESS_AFTER_SECONDS or not self._console.is_terminal:
                return
            self._bar = self._start()
        expected = getattr(progress, "expected_rows", None)  # known once the first page gave a total
        rows = f"{progress.rows:,} of {expected:,} rows" if expected is not None else f"{progress.rows:,} rows"
        if progress.table in self._tasks:
            self._bar.update(self._tasks[progress.table], completed=progress.rows, total=expected, rows=rows,
                             pages=progress.pages)
        else:
            self._tasks[progress.table] = self._bar.add_task(progress.table, completed=progress.rows, total=expected,
                                                             rows=rows, pages=progress.pages)

    def _start(self) -> RichProgress:
        from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[rows]}, {task.fields[pages]:,} pages"),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        bar.start()
        return bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
