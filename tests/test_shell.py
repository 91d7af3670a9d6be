"""The interactive shell, driven through prompt_toolkit's pipe input, and statements piped to the command."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import clicksend_sql
from click.testing import CliRunner
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from clicksend_sql import Connection
from clicksend_sql.cli import main
from clicksend_sql.emulator import Emulator
from clicksend_sql.output import ProgressDisplay
from clicksend_sql.shell import Shell

ENTER, CTRL_C, CTRL_D, UP = "\r", "\x03", "\x04", "\x1b[A"
SCRIPT = Path(sys.executable).with_name("clicksend-sql")


def drive(con: Connection, keys: str, history: Path) -> tuple[str, str]:
    """Type ``keys`` into a shell over ``con``: what it printed to stdout and to stderr after its greeting."""
    out, err = io.BytesIO(), io.StringIO()
    console = Console(file=err, width=300)
    shell = Shell(con, ProgressDisplay(console), out=out, err=console)
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        shell.interact(history=history, input=pipe, output=DummyOutput())
    greeting, _, rest = err.getvalue().partition("\n")
    assert greeting.startswith("clicksend-sql ") and "End statements with ';'" in greeting
    return out.getvalue().decode(), rest


def test_the_shell_opens_with_one_line_saying_where_and_how(con: Connection, tmp_path: Path) -> None:
    err = io.StringIO()
    console = Console(file=err, width=300)
    with create_pipe_input() as pipe:
        pipe.send_text(CTRL_D)
        Shell(con, ProgressDisplay(console), out=io.BytesIO(), err=console).interact(
            history=tmp_path / "h", input=pipe, output=DummyOutput())
    assert err.getvalue() == (f"clicksend-sql {clicksend_sql.__version__} on {con.settings.username} at "
                              f"{con.settings.base_url}. End statements with ';'. .tables lists the tables, "
                              ".help the commands.\n")


def test_tables_lists_every_table_in_columns(local_con: Connection, tmp_path: Path) -> None:
    con = local_con
    out, _ = drive(con, f"CREATE TABLE vip (Email VARCHAR);{ENTER}.tables{ENTER}{CTRL_D}", tmp_path / "h")
    clicksend, _, local = out[out.index("ClickSend tables"):].partition("Local tables (1):")
    assert clicksend.startswith(f"ClickSend tables ({len(con.catalog.tables)}):")
    listed = set(clicksend.split()[3:])
    assert listed == {t.name for t in con.catalog.tables.values()}  # SMSHistory too: nothing hidden
    assert local.split() == ["vip"] and len(clicksend.splitlines()[1].split()) >= 2  # in columns, even 80 wide


def test_a_statement_runs_once_it_ends_with_a_semicolon(con: Connection, tmp_path: Path) -> None:
    out, err = drive(con, f"SELECT 41 + 1 AS answer,{ENTER}'x' AS also{ENTER};{ENTER}{CTRL_D}", tmp_path / "h")
    assert "answer" in out and "also" in out and "42" in out and err == ""


def test_dot_commands(con: Connection, tmp_path: Path) -> None:
    keys = [".mode csv", ".tables;", ".schema ContactLists;", ".stats on", "SELECT count(*) AS n FROM ContactLists;",
            ".stats off", ".mode json", "SELECT 7 AS seven;", ".help"]
    out, err = drive(con, ENTER.join(keys) + ENTER + CTRL_D, tmp_path / "h")
    assert '"SMSHistory","ClickSend"' in out  # .tables lists the ClickSend tables
    assert '"ListName","VARCHAR"' in out  # .schema gives the columns
    assert '"n"\n' in out and '"seven": 7' in out
    assert err.count(" requests") + err.count(" request,") == 1  # .stats on for one statement only
    assert ".schema TABLE" in out  # .help


def test_errors_are_one_line_and_the_shell_goes_on(con: Connection, tmp_path: Path) -> None:
    keys = ["SELECT nope FROM ContactLists;", ".mode xml", ".frobnicate", ".schema", "SELECT 5 AS still_here;"]
    out, err = drive(con, ENTER.join(keys) + ENTER + CTRL_D, tmp_path / "h")
    lines = err.splitlines()
    assert len(lines) == 4 and all(line.startswith("Error:") for line in lines)
    assert "nope" in lines[0] and "table, csv, json, jsonl" in lines[1] and ".tables" in lines[2]
    assert "still_here" in out and "Traceback" not in err


def test_ctrl_c_drops_the_input_and_quit_ends(con: Connection, tmp_path: Path) -> None:
    out, err = drive(con, f"SELECT 99 AS dropped{CTRL_C}SELECT 1 AS kept;{ENTER}.quit{ENTER}SELECT 2 AS never;{ENTER}",
                     tmp_path / "h")
    assert "kept" in out and "dropped" not in out and "never" not in out and err == ""


def test_history_persists_between_sessions(con: Connection, tmp_path: Path) -> None:
    history = tmp_path / "history"
    drive(con, f"SELECT 3 AS remembered;{ENTER}{CTRL_D}", history)
    assert "SELECT 3 AS remembered;" in history.read_text()
    out, _ = drive(con, f"{UP}{ENTER}{CTRL_D}", history)
    assert "remembered" in out


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("SELECT * FROM Contac", {"Contacts", "ContactLists"}),
        ("SELECT * FROM ", {"Contacts", "SMSHistory"}),
        ("SELECT ListNa", {"ListName"}),
        ("sel", {"SELECT"}),
        (".sch", {".schema"}),
        (".schema SMSHist", {"SMSHistory"}),
        (".mode js", {"json", "jsonl"}),
    ],
)
def test_completion(con: Connection, typed: str, expected: set[str]) -> None:
    shell = Shell(con, ProgressDisplay(Console(file=io.StringIO())), out=io.BytesIO(), err=Console(file=io.StringIO()))
    offered = {c.text for c in shell.completer().get_completions(Document(typed), CompleteEvent(completion_requested=True))}
    assert expected <= offered


def test_table_names_come_first_after_from(con: Connection) -> None:
    shell = Shell(con, ProgressDisplay(Console(file=io.StringIO())), out=io.BytesIO(), err=Console(file=io.StringIO()))
    offered = [c.text for c in shell.completer().get_completions(Document("SELECT * FROM S"),
                                                                 CompleteEvent(completion_requested=True))]
    tables = {t.name for t in con.catalog.tables.values()}
    first_other = next(i for i, word in enumerate(offered) if word not in tables)
    assert offered[0] in tables and all(word not in tables for word in offered[first_other:])
    keywords = [c.text for c in shell.completer().get_completions(Document("S"), CompleteEvent(completion_requested=True))]
    assert keywords[0] not in tables  # elsewhere keywords still come first


def test_piped_statements_and_dot_commands_run_in_order() -> None:
    script = ".mode csv\nSELECT 1 AS a;\nSELECT 'semi;colon'\n  AS b;\n.mode jsonl\nSELECT 3 AS c\n"
    result = CliRunner().invoke(main, ["--demo"], input=script)
    assert result.exit_code == 0, result.output
    assert result.stdout == '"a"\n1\n"b"\n"semi;colon"\n{"c":3}\n'


def test_a_piped_script_stops_at_the_first_error() -> None:
    result = CliRunner().invoke(main, ["shell", "--demo", "--format", "csv"], input="SELECT 1 AS a;\nSELECT nope;\nSELECT 2 AS b;\n")
    assert result.exit_code == 1 and result.stdout == '"a"\n1\n'
    assert result.stderr.startswith("Error:") and "nope" in result.stderr


def test_statements_piped_to_the_installed_command(tmp_path: Path) -> None:
    done = subprocess.run([str(SCRIPT), "--demo", "--format", "csv"], input="SELECT count(*) AS n FROM ContactLists;\n",
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    header, value = done.stdout.splitlines()
    assert header == '"n"' and int(value) > 0


def _read(fd: int, seen: list[str]) -> None:
    """What the terminal shows within a tenth of a second (nothing once the shell has closed it)."""
    if select.select([fd], [], [], 0.1)[0]:
        try:
            seen.append(os.read(fd, 65536).decode(errors="replace"))
        except OSError:  # EIO: the child end is closed
            time.sleep(0.1)


def _read_until(fd: int, pattern: str, seen: list[str], seconds: float = 60) -> None:
    """Read the terminal until ``pattern`` shows up (escape sequences removed) in what was read."""
    deadline = time.monotonic() + seconds
    while not re.search(pattern, re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", "".join(seen))):
        assert time.monotonic() < deadline, f"no {pattern!r} in {''.join(seen)[-500:]!r}"
        _read(fd, seen)


def test_ctrl_c_in_a_terminal_stops_the_statement_and_the_shell_goes_on(tmp_path: Path) -> None:
    """The real command in a pseudo-terminal: SIGINT during a slow scan, then another statement, then Ctrl-D."""
    with Emulator(latency_ms=150, sizes={"sms-history": 3000}) as slow:
        terminal, child_end = pty.openpty()
        env = {**os.environ, "CLICKSEND_API_KEY": slow.api_key, "XDG_DATA_HOME": str(tmp_path), "TERM": "xterm"}
        child = subprocess.Popen([str(SCRIPT), "--base-url", slow.base_url, "--username", slow.username,
                                  "--concurrency", "1"], stdin=child_end, stdout=child_end, stderr=child_end, env=env)
        os.close(child_end)
        seen: list[str] = []
        try:
            _read_until(terminal, "clicksend>", seen)
            os.write(terminal, b"SELECT * FROM SMSHistory;\r")
            while slow.stats()["total"] < 3:  # the scan is under way
                time.sleep(0.05)
            child.send_signal(signal.SIGINT)
            _read_until(terminal, r"Interrupted after \d+ requests?", seen)
            os.write(terminal, b"SELECT 6 * 7 AS after_interrupt;\r")
            _read_until(terminal, r"after_interrupt[\s\S]*42[\s\S]*clicksend>", seen)
            os.write(terminal, CTRL_D.encode())
            deadline = time.monotonic() + 60
            while child.poll() is None and time.monotonic() < deadline:  # keep reading so its writes never block
                _read(terminal, seen)
            assert child.returncode == 0, "".join(seen)[-800:]
        finally:
            child.kill()
            os.close(terminal)
        assert "Traceback" not in "".join(seen)
        assert (tmp_path / "clicksend-sql" / "history").read_text().count("SMSHistory") == 1
