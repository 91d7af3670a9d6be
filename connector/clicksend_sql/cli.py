"""The ``clicksend-sql`` command line.

``query`` runs SQL once, ``shell`` (the default when no command is given) reads statements
interactively or from a pipe, ``emulator`` serves a local ClickSend. Modules that pull in DuckDB
and Arrow are imported inside the commands.
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from click.core import ParameterSource

from . import __version__
from .errors import ClickSendSQLError
from .output import (
    FORMATS,
    Interrupted,
    OutputError,
    ProgressDisplay,
    check_output,
    failed_rows,
    print_error,
    print_stats,
    resolve_format,
    run_statements,
    write_result,
    write_results,
)

if TYPE_CHECKING:  # these, rich's console, DuckDB, Arrow and sqlglot load only when a command runs
    from rich.console import Console

    from .connection import Connection

F = TypeVar("F", bound=Callable[..., Any])
SQL_COMMANDS = ("query", "shell")  # the commands the top-level connection options are passed on to

class _Limit(click.ParamType):
    """``auto``, a positive number of ``kind``, or (``none=True``) ``none``: connect()'s rate_limit and concurrency."""

    name = "limit"

    def __init__(self, kind: type[int] | type[float], *, none: bool = False) -> None:
        self.kind, self.none = kind, none

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip().lower()
        if text == "auto" or (self.none and text == "none"):
            return None if text == "none" else "auto"
        try:
            number = self.kind(text)
        except ValueError:
            number = 0
        if not 0 < number < math.inf:
            self.fail(f"{value!r} is not auto{', none' if self.none else ''} or a positive {self.kind.__name__}", param, ctx)
        return number


_ACCOUNT_OPTIONS = (
    click.option("--demo", is_flag=True, help="Use a built-in emulator with demo data (no account needed)."),
    click.option("--profile", help="Profile in the config file to take credentials from."),
    click.option("--username", envvar="CLICKSEND_USERNAME", help="API username [env CLICKSEND_USERNAME]."),
    click.option("--base-url", envvar="CLICKSEND_BASE_URL", help="API base URL [env CLICKSEND_BASE_URL]."),
    click.option("--rate-limit", type=_Limit(float, none=True), default="auto", show_default=True,
                 help="Requests per second at most: auto (learnt from ClickSend's answers), a number, or none."),
    click.option("--concurrency", type=_Limit(int), default="auto", show_default=True,
                 help="Requests in flight at most: auto (what the rate needs at the measured latency) or a number."),
)
_WRITE_OPTIONS = (
    click.option("--dry-run", is_flag=True, help="Show the requests (and price) of writes and changing CALLs; send nothing."),
    click.option("--max-messages", type=click.IntRange(0), help="Refuse a statement or CALL that would send more messages."),
    click.option("--max-cost", type=click.FloatRange(0), help="Refuse a statement or CALL ClickSend quotes at more than this."),
    click.option("--invalid-rows", type=click.Choice(["error", "skip"]), default="error", show_default=True,
                 help="A write's invalid rows: fail the statement, or send the others and report them skipped."),
    click.option("--default-country", help="Country (e.g. AU) phone numbers without + are read in."),
)
_CONNECTION_OPTIONS = (
    *_ACCOUNT_OPTIONS,
    click.option("--format", "fmt", type=click.Choice(FORMATS),
                 help="Output format [default: the --output file's extension, else table]."),
    click.option("--stats", is_flag=True, help="Print requests, bytes and time spent to stderr."),
    click.option("--no-cache", "cache_ttl", flag_value=0.0, default=None,
                 help="Fetch every page again (default: reads repeated within 5 minutes come from the connection's cache)."),
    *_WRITE_OPTIONS,
)
WRITE_FAILED = 3  # exit status: a write ran, but some row's outcome is error or unknown


def sql_options(command: F) -> F:
    """Credentials, request limits and output format: the same on ``query``, ``shell`` and the bare command."""
    for option in reversed(_CONNECTION_OPTIONS):
        command = option(command)
    return command


def account_options(command: F) -> F:
    """Credentials and request limits alone (``replicate``, ``sync``): the account, not how results print."""
    for option in reversed(_ACCOUNT_OPTIONS):
        command = option(command)
    return command


def statement_options(command: F) -> F:
    """The account and what limits a statement's writes (``listen``): caps and dry runs, no output format."""
    for option in reversed((*_ACCOUNT_OPTIONS, *_WRITE_OPTIONS)):
        command = option(command)
    return command


def _parse_params(values: tuple[str, ...]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not name=value", param_hint="--param")
        params[name.lstrip(":$")] = value
    return params or None


class LazyCommand(click.Command):
    """A command whose module loads only when the command runs; ``--help`` lists it from ``help`` alone."""

    def __init__(self, name: str, target: str, help: str) -> None:
        super().__init__(name, help=help)
        self._target = target  # "module:attribute"

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        module, _, attribute = self._target.partition(":")
        command: click.Command = getattr(import_module(module, __package__), attribute)
        return command.make_context(info_name, args, parent=parent, **extra)


class _Commands(click.Group):
    """The top-level group; SQL given where a command belongs gets a hint instead of 'No such command'."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        if args and " " in args[0] and self.get_command(ctx, args[0]) is None:
            raise click.UsageError(
                f"{args[0]!r} is not a command. To run SQL: clicksend-sql query {shlex.quote(args[0])}, "
                "or pipe statements in: echo 'SELECT 1;' | clicksend-sql"
            )
        return super().resolve_command(ctx, args)


@contextmanager
def reported(err: Console) -> Iterator[None]:
    """Failures as one line on stderr: exit 2 for an unusable output, 130 after Ctrl-C, 1 otherwise
    (3, :data:`WRITE_FAILED`, is a write that ran with rows not written)."""
    try:
        yield
    except OutputError as exc:
        print_error(err, str(exc))
        sys.exit(2)
    except Interrupted as exc:
        from rich.markup import escape

        err.print(escape(str(exc)), highlight=False)
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("Interrupted.", highlight=False)
        sys.exit(130)
    except ClickSendSQLError as exc:
        print_error(err, str(exc))
        sys.exit(1)
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as Python's docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as exc:  # writing the output failed (disk full...)
        print_error(err, f"{exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}.")
        sys.exit(1)


@contextmanager
def connection_for(options: dict[str, Any], display: ProgressDisplay) -> Iterator[Connection]:
    from .connection import connect

    with connect(progress=display, **options) as con:
        yield con


@click.group(cls=_Commands, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="clicksend-sql")
@sql_options
@click.pass_context
def main(ctx: click.Context, **options: Any) -> None:
    """Query and change a ClickSend account with SQL.

    With no command, opens the interactive shell (or, with statements piped in, runs them).
    """
    given = {k: v for k, v in options.items() if ctx.get_parameter_source(k) is ParameterSource.COMMANDLINE}
    if ctx.invoked_subcommand is None:
        ctx.invoke(shell, **options)
    elif ctx.invoked_subcommand in SQL_COMMANDS:
        ctx.default_map = {name: given for name in SQL_COMMANDS}
    elif given:
        names = ", ".join("--" + k.replace("_", "-") for k in given)
        raise click.UsageError(f"{names}: options of the shell and query commands, not of {ctx.invoked_subcommand}.")


@main.command()
@click.argument("sql")
@click.option("--output", "-o", type=click.Path(), help="Write the last statement's result to FILE instead of stdout.")
@click.option("--param", "-p", "params", multiple=True, help="Statement parameter name=value (repeatable).")
@sql_options
def query(sql: str, output: str | None, params: tuple[str, ...], fmt: str | None, stats: bool, **options: Any) -> None:
    """Run SQL over ClickSend tables (and local files/tables); SQL '-' reads stdin.

    Several statements print one result after the other. The API key comes from
    CLICKSEND_API_KEY or the profile, never from the command line.
    """
    from rich.console import Console

    err = Console(stderr=True)
    bound = _parse_params(params)
    with reported(err):
        if output is not None:
            check_output(output)
        fmt = resolve_format(fmt, output)
        text = sys.stdin.read() if sql == "-" else sql
        display = ProgressDisplay(err)
        with connection_for(options, display) as con:
            results = run_statements(con, display, text, bound)
        if output is not None:
            write_result(results[-1], fmt, output)
            if len(results) > 1:  # the earlier statements' results are printed, not lost
                write_results(results[:-1], fmt if fmt != "parquet" else "table", sys.stdout.buffer)
                err.print(f"{output} has the last statement's result; the {len(results) - 1} before it are printed above.",
                          highlight=False, soft_wrap=True)
        else:
            write_results(results, fmt, sys.stdout.buffer)
        if stats:
            print_stats(err, results)
        failed = failed_rows(results)
        if failed:
            print_error(err, f"{failed} row(s) of a write were not written or may not have been (status error or unknown); "
                             "see the status and error columns.")
            sys.exit(WRITE_FAILED)


@main.command()
@sql_options
def shell(fmt: str | None, stats: bool, **options: Any) -> None:
    """Interactive SQL shell: statements end with ';', .help lists the dot-commands.

    With stdin not a terminal, runs the statements read from it and stops at the first error.
    """
    from rich.console import Console

    from .shell import Shell

    err = Console(stderr=True)
    with reported(err):
        if fmt == "parquet":
            raise OutputError("The shell prints to the terminal; --format parquet needs the query command's --output.")
        display = ProgressDisplay(err)
        with connection_for(options, display) as con:
            session = Shell(con, display, fmt=fmt or "table", stats=stats, out=sys.stdout.buffer, err=err)
            if sys.stdin.isatty():
                session.interact()
            else:
                session.run_script(sys.stdin)


main.add_command(LazyCommand("emulator", ".emulator.cli:emulator_command",
                             "Run a local ClickSend REST v3 emulator (for tests, demos and benchmarks)."))
main.add_command(LazyCommand("replicate", ".replication.cli:replicate_command",
                             "Copy ClickSend tables into DuckDB, PostgreSQL or any dlt destination, incrementally."))
main.add_command(LazyCommand("sync", ".replication.cli:sync_command",
                             "Keep a table of yours and ClickSend's Contacts equal, both ways."))
main.add_command(LazyCommand("listen", ".listen.cli:listen_command",
                             "Run SQL over each batch of inbound SMS (or delivery receipts) as they arrive."))
main.add_command(LazyCommand("serve", ".pgwire.cli:serve_command",
                             "Serve the account over the PostgreSQL protocol (psql, drivers, BI tools)."))


def run() -> NoReturn:
    """The ``clicksend-sql`` console script: :func:`main`, then a fast exit.

    By the time :func:`main` returns, every connection it opened is closed (DuckDB files
    checkpointed, HTTP connections and the I/O thread gone) and only output remains to flush.
    Tearing down the interpreter's modules after that (DuckDB's, Arrow's, sqlglot's) took
    0.1-0.2 s of a one-page query's 1 s, and a one-shot command has nothing to gain from it."""
    try:
        main()
        status: object = 0
    except SystemExit as done:
        status = done.code
    if not isinstance(status, int):  # sys.exit("message") or sys.exit(None)
        if status is not None:
            print(status, file=sys.stderr)
        status = 0 if status is None else 1
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # the reader went away (| head): nothing more can be said
        status = status or 1
    os._exit(status)
