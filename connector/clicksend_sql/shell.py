"""The interactive SQL shell: statements end with ``;``, dot-commands change what is shown.

Interactive input goes through prompt_toolkit (history, completion, multi-line editing); piped
input is read line by line with the same rules, the way DuckDB's own shell does it.
"""

from __future__ import annotations

import shutil

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import sqlglot
from sqlglot import exp
from platformdirs import user_data_path
from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app
from prompt_toolkit.completion import Completer, Completion, NestedCompleter, WordCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory
from rich.console import Console
from rich.markup import escape
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from . import __version__
from .errors import ClickSendSQLError
from .output import FORMATS, Interrupted, ProgressDisplay, print_error, print_stats, run_statements, write_results

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from .connection import Connection

SHELL_FORMATS = tuple(f for f in FORMATS if f != "parquet")  # parquet needs a file
DOT_COMMANDS = {
    ".tables": "List the ClickSend tables and the local ones.",
    ".schema": ".schema TABLE: the table's columns and types.",
    ".mode": f".mode {'|'.join(SHELL_FORMATS)}: how results are printed.",
    ".stats": ".stats on|off: print requests, bytes and time after each statement.",
    ".help": "This list.",
    ".quit": "Leave the shell (Ctrl-D too).",
}
PROMPT, CONTINUATION = "clicksend> ", "        -> "
TABLE_COMES_NEXT = frozenset({"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "DESCRIBE", "SUMMARIZE"})  # completion: tables first
TABLES_SQL = """
SELECT TableName AS name, 'ClickSend' AS kind, Description AS description FROM sys_tables
UNION ALL
SELECT table_name, 'local', NULL FROM information_schema.tables
WHERE table_schema = 'main' AND table_name NOT LIKE 'sys\\_%' ESCAPE '\\'
ORDER BY kind, name
"""


class ShellError(ClickSendSQLError):
    """A dot-command the shell does not know, or one given the wrong argument."""


def history_file() -> Path:
    """Where statements typed in earlier sessions are kept (the user's data directory)."""
    directory = user_data_path("clicksend-sql")
    directory.mkdir(parents=True, exist_ok=True)
    return directory / "history"


def is_complete(text: str) -> bool:
    """Whether the input ends a statement: its last token is ``;`` (not one in a string or comment).

    >>> is_complete("SELECT ';'"), is_complete("SELECT 1; -- done"), is_complete("SELECT 'open;")
    (False, True, False)
    """
    try:
        tokens = sqlglot.tokenize(text, read="duckdb")
    except TokenError:  # an unterminated string or comment
        return False
    return bool(tokens) and tokens[-1].token_type == TokenType.SEMICOLON


def ready_to_run(text: str) -> bool:
    """Enter runs the input when it is empty, a dot-command, or ends a statement; otherwise it adds a line."""
    stripped = text.strip()
    return not stripped or stripped.startswith(".") or is_complete(text)


class SQLCompleter(Completer):
    """SQL keywords, table and column names; dot-commands and their arguments at the start of a line."""

    def __init__(self, keywords: Iterable[str], tables: dict[str, list[str]]) -> None:
        columns = sorted({c for names in tables.values() for c in names})
        self._words = WordCompleter([*sorted(keywords), *sorted(tables), *columns], ignore_case=True)
        self._tables_first = WordCompleter([*sorted(tables), *sorted(keywords), *columns], ignore_case=True)
        self._commands = WordCompleter(list(DOT_COMMANDS), sentence=True)  # "." is not a word character
        self._arguments = NestedCompleter.from_nested_dict({
            ".tables": None,
            ".schema": {name: None for name in sorted(tables)},
            ".mode": {name: None for name in SHELL_FORMATS},
            ".stats": {"on": None, "off": None},
            ".help": None,
            ".quit": None,
        })

    def get_completions(self, document: Document, complete_event: Any) -> Iterable[Completion]:
        typed = document.text_before_cursor.lstrip()
        if typed.startswith("."):
            completer = self._arguments if " " in typed else self._commands
            return completer.get_completions(document, complete_event)
        words = typed.split()
        before = words[-1:] if typed.endswith((" ", "\n")) else words[-2:-1]  # the word before the one being typed
        completer = self._tables_first if before and before[0].upper() in TABLE_COMES_NEXT else self._words
        return completer.get_completions(document, complete_event)


class Shell:
    """One shell session over an open connection."""

    def __init__(self, con: Connection, display: ProgressDisplay, *, fmt: str = "table", stats: bool = False,
                 out: BinaryIO, err: Console) -> None:
        self.con = con
        self.display = display
        self.fmt = fmt
        self.stats = stats
        self.out = out
        self.err = err

    # --- input ---------------------------------------------------------------------------------

    def interact(self, *, history: Path | None = None, input: Input | None = None, output: Output | None = None) -> None:
        """Prompt until ``.quit`` or Ctrl-D. Ctrl-C drops the input being typed or stops the running statement."""
        session: PromptSession[str] = PromptSession(
            history=FileHistory(str(history or history_file())),
            completer=self.completer(),
            complete_while_typing=False,
            multiline=Condition(lambda: not ready_to_run(get_app().current_buffer.text)),
            prompt_continuation=CONTINUATION,
            input=input,
            output=output,
        )
        self.err.print(self.greeting(), highlight=False, soft_wrap=True)
        while True:
            try:
                text = session.prompt(PROMPT)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return
            try:
                if not self.handle(text):
                    return
            except Interrupted as exc:
                self.err.print(escape(str(exc)), highlight=False)
            except KeyboardInterrupt:  # while printing or in DuckDB, not while fetching
                self.err.print("Interrupted.", highlight=False)
            except ClickSendSQLError as exc:
                print_error(self.err, str(exc))

    def greeting(self) -> str:
        """The one line the shell opens with: which account, and how to get on."""
        settings = self.con.settings
        where = ("the demo account (the built-in emulator's data: no account needed)" if self.con.is_demo
                 else f"{settings.username} at {settings.base_url}")
        return f"clicksend-sql {__version__} on {where}. End statements with ';'. .tables lists the tables, .help the commands."

    def run_script(self, lines: Iterable[str]) -> None:
        """Run statements and dot-commands read from a pipe or file; the first error stops the script."""
        pending = ""
        for line in lines:
            if not pending.strip() and line.strip().startswith("."):
                if not self.handle(line):
                    return
                continue
            pending += line
            if is_complete(pending):
                self.handle(pending)
                pending = ""
        if pending.strip():
            self.handle(pending)

    def completer(self) -> SQLCompleter:
        keywords = [row[0].upper() for row in self.con.sql("SELECT keyword_name FROM duckdb_keywords()").fetchall()]
        tables = {t.name: [c.name for c in t.columns] for t in self.con.catalog.tables.values()}
        return SQLCompleter(keywords, tables)

    # --- commands ------------------------------------------------------------------------------

    def handle(self, text: str) -> bool:
        """Run one input: a dot-command or SQL statements. False when the shell should end."""
        text = text.strip()
        if not text:
            return True
        if text.startswith("."):
            return self._dot(*text.rstrip(";").split(maxsplit=1))  # ".tables;" out of SQL habit
        self._run(text)
        return True

    def _run(self, sql: str) -> None:
        results = run_statements(self.con, self.display, sql)
        write_results(results, self.fmt, self.out)
        if self.stats:
            print_stats(self.err, results)

    def _dot(self, command: str, argument: str = "") -> bool:
        argument = argument.strip()
        if command in (".quit", ".exit"):
            return False
        if command == ".help":
            width = max(len(name) for name in DOT_COMMANDS)
            help_text = "".join(f"{name:<{width}}  {text}\n" for name, text in DOT_COMMANDS.items())
            self.out.write(f"Statements end with ';'.\n{help_text}".encode())
            self.out.flush()
        elif command == ".tables":
            if self.fmt == "table":  # a person reading: every name, in columns, as DuckDB's shell lists them
                self._list_tables()
            else:  # csv, json...: rows a program reads
                self._run(TABLES_SQL)
        elif command == ".schema":
            if not argument:
                raise ShellError(".schema needs a table name, e.g. .schema Contacts (.tables lists them).")
            self._run(f"DESCRIBE {exp.table_(argument, quoted=True).sql('duckdb')}")
        elif command == ".mode":
            self.fmt = _choice(command, argument, SHELL_FORMATS)
        elif command == ".stats":
            self.stats = _choice(command, argument, ("on", "off")) == "on"
        else:
            raise ShellError(f"Unknown command {command!r}; the shell knows {', '.join(DOT_COMMANDS)} (see .help).")
        return True


    def _list_tables(self) -> None:
        rows = self.con.sql(TABLES_SQL).fetchall()
        width = shutil.get_terminal_size((100, 24)).columns
        text = ""
        for kind, title in (("ClickSend", "ClickSend tables"), ("local", "Local tables")):
            names = [name for name, of_kind, _ in rows if of_kind == kind]
            if names:
                text += f"{title} ({len(names)}):\n{in_columns(names, width)}\n"
        self.out.write(text.encode())
        self.out.flush()


def in_columns(names: list[str], width: int) -> str:
    """Names down then across, as ``ls`` and DuckDB's ``.tables`` lay them out.

    >>> print(in_columns(["Accounts", "Contacts", "SMSHistory", "Users"], 24))
    Accounts    SMSHistory
    Contacts    Users
    """
    cell = max(len(n) for n in names) + 2
    columns = max(1, width // cell)
    rows = -(-len(names) // columns)
    lines = ("".join(names[r + c * rows].ljust(cell) for c in range(columns) if r + c * rows < len(names)).rstrip()
             for r in range(rows))
    return "\n".join(lines)


def _choice(command: str, argument: str, accepted: tuple[str, ...]) -> str:
    if argument.lower() not in accepted:
        raise ShellError(f"{command} takes one of {', '.join(accepted)}, not {argument or 'nothing'!r}.")
    return argument.lower()
