"""The ``clicksend-sql query`` command: formats, --output, clean errors, and the key never printed."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from clicksend_sql.cli import main
from clicksend_sql.emulator import Emulator

LISTS = "SELECT ListId, ListName FROM ContactLists ORDER BY ListId"


@pytest.fixture(scope="module")
def demo_lists() -> list[dict[str, object]]:
    """What the demo account's lists are, read once through the CLI's JSON output."""
    result = CliRunner().invoke(main, ["query", "--demo", "--format", "json", LISTS])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) > 1
    return rows


def test_json_rows(demo_lists: list[dict[str, object]]) -> None:
    assert set(demo_lists[0]) == {"ListId", "ListName"}
    assert [r["ListId"] for r in demo_lists] == sorted(r["ListId"] for r in demo_lists)


def test_csv_matches_json(demo_lists: list[dict[str, object]]) -> None:
    result = CliRunner().invoke(main, ["query", "--demo", "--format", "csv", LISTS])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(int(r["ListId"]), r["ListName"]) for r in rows] == [(r["ListId"], r["ListName"]) for r in demo_lists]


def test_table_format_shows_the_rows(demo_lists: list[dict[str, object]]) -> None:
    result = CliRunner().invoke(main, ["query", "--demo", LISTS])
    assert result.exit_code == 0
    assert "ListId" in result.stdout and all(str(r["ListName"]) in result.stdout for r in demo_lists)


def test_output_files_in_every_format(demo_lists: list[dict[str, object]], tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("csv", "json", "parquet", "table"):
        target = tmp_path / f"out.{fmt}"
        result = runner.invoke(main, ["query", "--demo", "--format", fmt, "--output", str(target), LISTS])
        assert result.exit_code == 0, result.output
        assert result.stdout == "" and target.stat().st_size > 0
    assert pq.read_table(tmp_path / "out.parquet").to_pylist() == demo_lists
    assert json.loads((tmp_path / "out.json").read_text()) == demo_lists


def test_parquet_needs_output() -> None:
    result = CliRunner().invoke(main, ["query", "--demo", "--format", "parquet", LISTS])
    assert result.exit_code != 0 and "--output" in result.output


def test_stats_go_to_stderr() -> None:
    result = CliRunner().invoke(main, ["query", "--demo", "--format", "csv", "--stats", "SELECT count(*) AS n FROM SMSHistory"])
    assert result.exit_code == 0
    assert list(csv.reader(io.StringIO(result.stdout)))[0] == ["n"] and "1 requests" in result.stderr


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("SELECT * FROM Contactz", "Contacts"),
        ("SELECT Nope FROM Contacts", "Nope"),
        ("SELECT * FROM Contacts WHERE", "Syntax error"),
        ("DELETE FROM SMSHistory", "DELETE"),
        ("SELECT * FROM AccountUsage", "Year"),
    ],
)
def test_errors_print_one_line_and_exit_1(sql: str, needle: str) -> None:
    result = CliRunner().invoke(main, ["query", "--demo", sql])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error:") and needle in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_the_api_key_never_appears(emulator: Emulator, tmp_path: Path) -> None:
    """Right key, wrong key, every format and output file: the key is nowhere."""
    runner = CliRunner()
    base = ["query", "--base-url", emulator.base_url, "--username", emulator.username, "--rate-limit", "1000"]
    wrong = "5EC2E7AA-0000-4000-8000-DEADBEEF0000"
    refused = runner.invoke(main, [*base, "SELECT * FROM ContactLists"], env={"CLICKSEND_API_KEY": wrong})
    assert refused.exit_code == 1 and refused.stderr.startswith("Error:") and wrong not in refused.output
    env = {"CLICKSEND_API_KEY": emulator.api_key}
    shown = []
    for fmt in ("table", "csv", "json"):
        result = runner.invoke(main, [*base, "--format", fmt, "--stats", "SELECT * FROM Accounts"], env=env)
        assert result.exit_code == 0, result.output
        shown.append(result.output)
    target = tmp_path / "accounts.parquet"
    assert runner.invoke(main, [*base, "--format", "parquet", "-o", str(target), "SELECT * FROM Accounts"], env=env).exit_code == 0
    shown.append(str(pq.read_table(target).to_pylist()))
    assert all(emulator.api_key not in text for text in shown)


def test_installed_command_runs_in_a_subprocess(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("clicksend-sql")
    assert script.exists(), "the package's console script is installed next to the interpreter"
    done = subprocess.run(
        [str(script), "query", "--demo", "--format", "csv", "SELECT count(*) AS n FROM ContactLists"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )
    assert done.returncode == 0, done.stderr
    header, value = list(csv.reader(io.StringIO(done.stdout)))
    assert header == ["n"] and int(value[0]) > 0
