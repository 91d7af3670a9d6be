"""Every example in README.md runs: a newcomer's first copy-paste must work.

Each fenced block is one test, in README order, against a demo emulator (what ``--demo`` serves):

* ```python blocks run in a fresh namespace, in a scratch directory holding the files they read;
* ```bash blocks run line by line: ``export`` sets the environment (the README's placeholder
  credentials become the emulator's), ``clicksend-sql query`` runs as a real subprocess and must
  succeed and print (a SELECT: rows; with ``--output``: to that file), ``clicksend-sql emulator`` is started with
  its flags on a free port, checked to answer, and stopped; ``pip install`` and ``pytest`` are not
  re-run here (.ci/run runs exactly those);
* ```toml blocks must be a profile the connector reads;
* ``clicksend-sql listen`` is started, a matching inbound SMS arrives at the demo emulator, the
  listener must say it processed it, and it must stop cleanly on SIGTERM;
* ``clicksend-sql serve`` is started on a free port with the block's password, a PostgreSQL client
  (psycopg) must log in and query it, and it must stop cleanly on Ctrl-C;
* the README's PostgreSQL URI (:data:`POSTGRES_EXAMPLE`) is the suite's own PostgreSQL server, and
  ``clicksend-sql replicate`` / ``sync`` run as subprocesses that must succeed and print a summary.

Anything else in a block fails the test, so a new kind of example cannot go untested.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from clicksend_sql import Connection
from clicksend_sql.config import resolve_settings
from clicksend_sql.emulator import Emulator

from conftest import api_client
from vendored import REPO

README = REPO / "README.md"
CREDENTIALS = ("CLICKSEND_USERNAME", "CLICKSEND_API_KEY", "CLICKSEND_BASE_URL")
NOT_RERUN = {"pip": "installing is the environment's job", "pytest": ".ci/run runs the suite"}
# The README's PostgreSQL becomes the session's own server (tests/postgres_server.py), started only if an example names it.
POSTGRES_EXAMPLE = "postgresql://postgres:secret@localhost:5432/analytics"
TIMEOUT_S = 120


@dataclass(frozen=True)
class Block:
    """One fenced block of README.md."""

    language: str
    code: str
    line: int  # of the opening fence
    section: str  # the nearest heading above it

    @property
    def id(self) -> str:
        section = re.sub(r"\W+", "-", self.section).strip("-")
        return f"L{self.line}-{self.language}-{section}"


def readme_blocks() -> list[Block]:
    """The fenced blocks that hold code (a fence with no language is a diagram)."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        if not match.group(1):
            continue
        before = text[: match.start()]
        headings = re.findall(r"^#+ (.+)$", before, re.M)
        blocks.append(Block(match.group(1), match.group(2), before.count("\n") + 1, headings[-1] if headings else ""))
    return blocks


@dataclass(frozen=True)
class Command:
    """One command of a ```bash block, with what the block's ``export`` lines above it set."""

    argv: tuple[str, ...]
    line: int
    exports: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return f"L{self.line}-{'-'.join(self.argv[:2])}"


def bash_commands(block: Block) -> list[Command]:
    """The commands to run (``a && b`` is two; comments, exports and NOT_RERUN tools dropped)."""
    commands: list[Command] = []
    exports: list[tuple[str, str]] = []
    for line, text in enumerate(block.code.splitlines(), start=block.line + 1):
        words = shlex.split(text, comments=True)
        while words:
            argv = words[: words.index("&&")] if "&&" in words else words
            words = words[len(argv) + 1 :]
            if argv[0] == "export":
                exports += [(name, value) for name, _, value in (a.partition("=") for a in argv[1:])]
            elif argv[0] not in NOT_RERUN:
                commands.append(Command(tuple(argv), line, tuple(exports)))
    return commands


BLOCKS = readme_blocks()
COMMANDS = [c for b in BLOCKS if b.language == "bash" for c in bash_commands(b)]


@pytest.fixture(scope="module")
def demo() -> Iterator[Emulator]:
    """The account ``connect(demo=True)`` and ``--demo`` serve: the emulator's defaults."""
    with Emulator() as emu:
        yield emu


@pytest.fixture()
def scratch(demo: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the files the examples read, and credentials for the demo only."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no developer's config file or profile leaks in
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.delenv("CLICKSEND_PROFILE", raising=False)
    for name, value in zip(CREDENTIALS, (demo.username, demo.api_key, demo.base_url)):
        monkeypatch.setenv(name, value)
    with api_client(demo) as client:
        list_id = client.get("/lists").json()["data"]["data"][0]["list_id"]
        contacts = client.get(f"/lists/{list_id}/contacts").json()["data"]["data"]
    emails = [c["email"] for c in contacts if c["email"]][:3]
    assert emails, "the demo's first list should have contacts with an email, for vip.csv"
    (tmp_path / "vip.csv").write_text("Email,Tier\n" + "".join(f"{e},gold\n" for e in emails), encoding="utf-8")
    return tmp_path


def test_readme_has_the_examples_this_runner_knows() -> None:
    languages = {b.language for b in BLOCKS}
    assert {"python", "bash"} <= languages, languages
    assert languages <= {"python", "bash", "toml"}, f"add a runner for {languages - {'python', 'bash', 'toml'}}"
    for block in BLOCKS:
        assert block.language != "bash" or bash_commands(block), f"README.md:{block.line}: nothing to run"
    setup = next(c for c in COMMANDS if c.argv[:2] == ("clicksend-sql", "query"))
    assert "--demo" in setup.argv, "the set-up's first command must need no account"


def _with_postgres(text: str, request: pytest.FixtureRequest) -> str:
    """``text`` with the README's PostgreSQL URI pointing at the session's server."""
    return text.replace(POSTGRES_EXAMPLE, request.getfixturevalue("postgres_uri")) if POSTGRES_EXAMPLE in text else text


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "python"], ids=lambda b: b.id)
def test_python_example(block: Block, scratch: Path, request: pytest.FixtureRequest) -> None:
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    try:
        code = "\n" * block.line + _with_postgres(block.code, request)  # tracebacks name the README's own line numbers
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our README's examples
    finally:
        for value in namespace.values():
            if isinstance(value, Connection):
                value.close()
    for name in re.findall(r"\bTO '([^']+)'", block.code):
        assert (scratch / name).stat().st_size > 0, f"README.md:{block.line}: COPY ... TO '{name}' wrote nothing"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.id)
def test_bash_command(command: Command, scratch: Path, request: pytest.FixtureRequest, demo: Emulator) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for name, value in command.exports:
        env[name] = env[name] if name in CREDENTIALS else value  # the README's placeholders stay the demo's
    where = f"README.md:{command.line}: {shlex.join(command.argv)}"
    argv = list(command.argv)
    if argv[0] == "echo" and "|" in argv:  # echo "statements;" | clicksend-sql ...: the shell reading a pipe
        _check_shell(argv[argv.index("|") + 1:], env, where, stdin="\n".join(argv[1:argv.index("|")]) + "\n")
    elif argv[:2] == ["clicksend-sql", "query"]:
        _check_query(argv, env, where)
    elif argv[:2] == ["clicksend-sql", "emulator"]:
        _check_emulator(argv, env, where)
    elif argv[:2] == ["clicksend-sql", "listen"]:
        _check_listen(argv, env, where, demo)
    elif argv[:2] == ["clicksend-sql", "serve"]:
        _check_serve(argv, env, where)
    elif argv[:2] in (["clicksend-sql", "replicate"], ["clicksend-sql", "sync"]):
        _check_copy([_with_postgres(a, request) for a in argv], env, where)
    elif argv[0] == "clicksend-sql" and all(a.startswith("-") for a in argv[1:]) or argv[:2] == ["clicksend-sql", "shell"]:
        _check_shell(argv, env, where, stdin=".tables\nSELECT count(*) FROM ContactLists;\n")
    else:
        pytest.fail(f"{where}: the README runner does not know how to run this; teach it")


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "toml"], ids=lambda b: b.id)
def test_toml_example_is_a_profile_the_connector_reads(block: Block, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIALS:
        monkeypatch.delenv(name)
    config = scratch / "config.toml"
    config.write_text(block.code, encoding="utf-8")
    config.chmod(0o600)  # as the README says: a file holding a key that others can read is refused
    profile = tomllib.loads(block.code)["profiles"]["default"]
    settings = resolve_settings(config_file=config)
    assert (settings.username, settings.api_key) == (profile["username"], profile["api_key"])


def _clicksend_sql(args: list[str]) -> list[str]:
    """The installed console script (next to this interpreter), so the entry point is tested too."""
    script = Path(sys.executable).with_name("clicksend-sql")
    return [str(script) if script.exists() else "clicksend-sql", *args]


def _check_query(command: list[str], env: dict[str, str], where: str) -> None:
    done = subprocess.run(_clicksend_sql(command[1:]), env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stderr}"
    if "--output" in command:
        output = Path(command[command.index("--output") + 1])
        assert output.exists() and output.stat().st_size > 0, f"{where}: wrote nothing to {output}"
    elif next(a for a in command[2:] if not a.startswith("-")).lstrip().upper().startswith("SELECT"):
        assert _table_rows(done.stdout) > 0, f"{where}: printed no rows\n{done.stdout}"
    else:
        assert done.stdout.strip(), f"{where}: printed nothing"


def _check_copy(command: list[str], env: dict[str, str], where: str) -> None:
    """A replication or sync: it succeeds, says per table what it did, and never prints the API key."""
    done = subprocess.run(_clicksend_sql(command[1:]), env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stderr}"
    assert "requests" in done.stdout + done.stderr, f"{where}: printed no summary\n{done.stdout}"
    assert env["CLICKSEND_API_KEY"] not in done.stdout + done.stderr, f"{where}: printed the API key"


def _check_listen(command: list[str], env: dict[str, str], where: str, demo: Emulator) -> None:
    """A listener: started, a matching message arrives, it says it processed it, SIGTERM stops it cleanly."""
    args = [*command[1:], "--interval", "0.2", "--state", "listen-state.duckdb"]
    listener = subprocess.Popen(_clicksend_sql(args), env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert listener.stderr is not None
        started = listener.stderr.readline()
        assert "Listening" in started, f"{where}: did not start\n{started}{listener.stderr.read()}"
        demo.inbound(from_="+61411111111", to="+61480000000", body="stop please")
        processed = listener.stderr.readline()
        assert "processed" in processed, f"{where}: {processed}"
    finally:
        listener.terminate()
        _, stderr = listener.communicate(timeout=30)
    assert listener.returncode == 0 and "Traceback" not in stderr, f"{where}\n{stderr}"


def _check_serve(command: list[str], env: dict[str, str], where: str) -> None:
    """The PostgreSQL-protocol server: started on a free port, a client logs in with the README's
    password and queries a ClickSend table, Ctrl-C stops it cleanly."""
    import psycopg

    server = subprocess.Popen(_clicksend_sql([*command[1:], "--port", "0"]), env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        started = server.stderr.readline()
        assert started.startswith("Serving"), f"{where}: did not start\n{started}{server.stderr.read()}"
        port = int(started.split(";")[0].rsplit(":", 1)[1])
        with psycopg.connect(host="127.0.0.1", port=port, user="clicksend", dbname="clicksend",
                             password=env["CLICKSEND_SQL_PASSWORD"], autocommit=True) as client:
            assert client.execute("SELECT count(*) FROM ContactLists").fetchone()[0] > 0, where
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    finally:
        server.kill()
    assert server.returncode == 0 and "Traceback" not in stderr, f"{where}\n{stderr}"


def _check_shell(command: list[str], env: dict[str, str], where: str, *, stdin: str) -> None:
    """The shell, fed statements on a pipe (as a user's ``echo ... |`` or a script would)."""
    done = subprocess.run(
        _clicksend_sql(command[1:]), input=stdin, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stderr}"
    assert done.stdout.strip(), f"{where}: printed nothing"


def _table_rows(printed: str) -> int:
    """Rows of a DuckDB box table: the lines between the header rule (├) and the bottom (└)."""
    lines = printed.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("├")]
    ends = [i for i, line in enumerate(lines) if line.startswith("└")]
    return ends[-1] - starts[0] - 1 if starts and ends else 0


def _check_emulator(command: list[str], env: dict[str, str], where: str) -> None:
    """A long-running server: start it with the README's flags on a free port, query it, stop it."""
    args = command[1:]
    if "--port" in args:
        args[args.index("--port") + 1] = "0"
    server = subprocess.Popen(_clicksend_sql(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stderr is not None
        lines = [server.stdout.readline() for _ in range(3)]  # base_url, username, api_key
        if not all(":" in line for line in lines):
            pytest.fail(f"{where}: did not start\n{''.join(lines)}{server.stderr.read()}")
        info = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        response = httpx.get(info["base_url"] + "/account", auth=(info["username"], info["api_key"]), timeout=30)
        assert response.status_code == 200, f"{where}: {response.status_code} {response.text}"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "Traceback" not in stderr, f"{where}\n{stderr}"
