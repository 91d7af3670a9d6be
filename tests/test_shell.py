"""The interactive shell, driven through prompt_toolkit's pipe input, and statements piped to the command."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from clicksend_sql import Connection
from clicksend_sql.cli import main
from clicksend_sql.output import ProgressDisplay
from clicksend_sql.shell import Shell

ENTER, CTRL_C, CTRL_D, UP = "\r", "\x03", "\x04", "\x1b[A"


def drive(con: Connection, keys: str, history: Path) -> tuple[str, str]:
    """Type ``keys`` into a shell over ``con``: what it printed to stdout and to stderr."""
    out, err = io.BytesIO(), io.StringIO()
    console = Console(file=err, width=300)
    shell = Shell(con, ProgressDisplay(console), out=out, err=console)
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        shell.interact(history=history, input=pipe, output=DummyOutput())
    return out.getvalue().decode(), err.getvalue()


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
    script = Path(sys.executable).with_name("clicksend-sql")
    done = subprocess.run([str(script), "--demo", "--format", "csv"], input="SELECT count(*) AS n FROM ContactLists;\n",
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    header, value = done.stdout.splitlines()
    assert header == '"n"' and int(value) > 0
