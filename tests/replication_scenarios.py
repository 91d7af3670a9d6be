"""What the replication tests share: an emulated account to change, a destination to read back, and
the scenarios that run the same against DuckDB (tests/test_replication.py) and PostgreSQL
(tests/test_replication_postgres.py).

The tests judge replication from the outside: the emulator's request log (what was asked of
ClickSend), the emulator's state read through the connector's SQL (what the copy should hold), and
the destination read with its own driver (what the copy does hold); the run's report is checked
against those, never used as the oracle.
"""

from __future__ import annotations

import itertools

import gzip
import math
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ServerError, TransportError
from clicksend_sql.replication import ReplicationReport, TableReport

DAY = 86_400
DEFAULT_LAG = 3 * DAY


@contextmanager
def dlt_sandbox(base: Path) -> Iterator[Path]:
    """dlt's working state under ``base``, never in $HOME: no telemetry (nor its anonymous id file),
    DLT_DATA_DIR under ``base``. Yields the pipelines dir to pass to every run. Subprocesses inherit it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
        mp.setenv("DLT_DATA_DIR", str(base / "dlt-data"))
        yield base / "pipelines"


# --- the account ---------------------------------------------------------------------------------


class Account:
    """An emulated ClickSend account of the test's own: the connection replication reads it with,
    and a plain httpx client that changes it the way any other ClickSend user would."""

    def __init__(self, emu: Emulator, *, retries: int | None = None) -> None:
        self.emu = emu
        extra: dict[str, Any] = {} if retries is None else {"retries": retries}
        self.con: Connection = clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url,
                                                     rate_limit=None, concurrency=8, **extra)
        self.api = httpx.Client(base_url=emu.base_url, auth=(emu.username, emu.api_key), timeout=30)
        self._serial = 0

    def close(self) -> None:
        self.api.close()
        self.con.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.api.request(method, path, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()["data"] if response.content else None

    # ClickSend's own answers (the oracle for what the copy must hold)
    def sql(self, text: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.sql(text, list(params) if params is not None else None).fetchall()

    def lists(self) -> dict[int, int]:
        """List id -> its number of contacts, as ClickSend counts them now."""
        return {int(row["list_id"]): int(row["_contacts_count"]) for row in self._call("GET", "/lists", params={"limit": 100})["data"]}

    def contacts_of(self, list_id: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 1
        while True:
            data = self._call("GET", f"/lists/{list_id}/contacts", params={"limit": 100, "page": page})
            rows.extend(data["data"])
            if page >= data["last_page"]:
                return rows
            page += 1

    # changes, as another ClickSend user makes them
    def add_contact(self, list_id: int, **fields: Any) -> dict[str, Any]:
        self._serial += 1
        body = {"first_name": f"New{self._serial}", "last_name": "Contact",
                "phone_number": f"+6141{self._serial:07d}", **fields}
        return dict(self._call("POST", f"/lists/{list_id}/contacts", json=body))

    def update_contact(self, list_id: int, contact_id: int, **fields: Any) -> dict[str, Any]:
        return dict(self._call("PUT", f"/lists/{list_id}/contacts/{contact_id}", json=fields))

    def delete_contact(self, list_id: int, contact_id: int) -> None:
        self._call("DELETE", f"/lists/{list_id}/contacts/{contact_id}")

    def delete_list(self, list_id: int) -> None:
        self._call("DELETE", f"/lists/{list_id}")

    def send_sms(self, body: str, schedule: int | None = None) -> dict[str, Any]:
        """One SMS to an Australian mobile (now, or scheduled for later); its message as ClickSend echoes it."""
        message: dict[str, Any] = {"to": "+61411000111", "body": body, "source": "tests"}
        if schedule is not None:
            message["schedule"] = schedule
        sent = self._call("POST", "/sms/send", json={"messages": [message]})["messages"][0]
        assert sent["status"] == "SUCCESS", sent
        return dict(sent)

    def cancel_sms(self, message_id: str) -> None:
        self._call("PUT", f"/sms/{message_id}/cancel")


@contextmanager
def account(seed: int = 0, *, retries: int | None = None, **emulator: Any) -> Iterator[Account]:
    with Emulator(seed=seed, **emulator) as emu:
        acct = Account(emu, retries=retries)
        try:
            yield acct
        finally:
            acct.close()


# --- the destination -----------------------------------------------------------------------------


class Destination:
    """Where a test replicates to, read back with the database's own driver."""

    kind: str
    uri: str
    dataset: str = "clicksend"
    text_type = "VARCHAR"  # what a whole row casts to

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def epoch(self, column: str) -> str:
        """SQL for a timestamp column as whole seconds since 1970 (BIGINT)."""
        raise NotImplementedError

    def table(self, name: str) -> str:
        return f"{self.dataset}.{name}"

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT count(*) FROM {self.table(table)}")[0][0])

    def tables(self) -> set[str]:
        return {r[0] for r in self.rows(
            f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{self.dataset}'")}

    def every_text(self) -> Iterator[str]:
        """Every row of every table of the dataset as text, read in one query (secrets must not be in it)."""
        union = " UNION ALL ".join(f"SELECT CAST(t AS {self.text_type}) FROM {self.table(name)} AS t"
                                   for name in sorted(self.tables()))
        for (text,) in self.rows(union):
            yield str(text)


@dataclass
class DuckDBDestination(Destination):
    path: Path
    dataset: str = "clicksend"
    kind: str = "duckdb"

    @property
    def uri(self) -> str:  # type: ignore[override]
        return f"duckdb:///{self.path}"  # an absolute path: duckdb:////tmp/...

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        import duckdb

        if not self.path.exists():
            return []
        with duckdb.connect(str(self.path), read_only=True) as db:
            return db.sql(sql).fetchall()

    def epoch(self, column: str) -> str:
        return f"epoch({column})::BIGINT"


@dataclass
class PostgresDestination(Destination):
    server_uri: str
    dataset: str
    kind: str = "postgres"
    text_type = "TEXT"

    @property
    def uri(self) -> str:  # type: ignore[override]
        return self.server_uri

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        import psycopg2

        with closing(psycopg2.connect(self.server_uri)) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall()) if cursor.description else []

    def epoch(self, column: str) -> str:
        return f"extract(epoch FROM {column})::BIGINT"

    def data_dir(self) -> Path:
        """The server's data directory (its socket lives there: tests/postgres_server.py)."""
        from urllib.parse import unquote

        host = urlsplit(self.server_uri).hostname or ""
        return Path(unquote(host))


# --- runs ----------------------------------------------------------------------------------------


@dataclass
class Run:
    """One replication run: its report and the request lines ClickSend saw during it."""

    report: ReplicationReport
    requests: list[str]

    def table(self, name: str) -> TableReport:
        return next(t for t in self.report.tables if t.table == name)

    def counts(self, name: str) -> tuple[int, int, int]:
        t = self.table(name)
        return t.new, t.updated, t.deleted

    def lines(self, pattern: str) -> list[str]:
        return [line for line in self.requests if re.fullmatch(pattern, line)]


@dataclass
class Replicator:
    """Runs replication of one account into one destination, with dlt's cache in ``pipelines_dir``."""

    acct: Account
    dest: Destination
    pipelines_dir: Path
    history: Sequence[str] = ()
    runs: list[Run] = field(default_factory=list)

    def run(self, tables: Sequence[str] | None, **options: Any) -> Run:
        options.setdefault("pipelines_dir", self.pipelines_dir)
        options.setdefault("history", self.history)
        self.acct.emu.reset_stats()
        report = clicksend_sql.replicate(self.acct.con, tables, destination=self.dest.uri,
                                         dataset=self.dest.dataset, **options)
        done = Run(report, self.acct.emu.requests())
        self.runs.append(done)
        return done


# --- what the copy must hold ---------------------------------------------------------------------

# Every column of Contacts and most of SMSHistory: '' must stay '' (not NULL), timestamps whole seconds.
SMALL = {"contacts": 150, "sms-history": 250, "lists": 4}  # the sizes of the scenarios below
_datasets = itertools.count()


def next_dataset() -> str:
    """A PostgreSQL dataset (schema) no other test of this process uses."""
    return f"copy_{next(_datasets)}"

CONTACTS = ("ContactId", "ListId", "PhoneNumber", "FirstName", "LastName", "Email", "FaxNumber", "OrganizationName",
            "Custom1", "Custom2", "Custom3", "Custom4", "AddressLine1", "AddressLine2", "AddressCity", "AddressState",
            "AddressPostalCode", "AddressCountry", "CreatedDate", "UpdatedDate", "ListName")
SMS = ("MessageId", "Direction", "Date", "To", "From", "Body", "Status", "Schedule", "StatusCode", "ErrorCode",
       "MessageParts", "MessagePrice", "ListId", "CustomString", "ContactId", "Country", "Carrier")
TIMESTAMPS = {"UpdatedDate", "Date", "CreatedDate"}


def snake(name: str) -> str:
    """The copy's name of a column (dlt's snake_case), worked out here independently.

    >>> snake("ContactId"), snake("SMSHistory"), snake("To")
    ('contact_id', 'sms_history', 'to')
    """
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def in_clicksend(acct: Account, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows ClickSend holds now (timestamps as epoch seconds), sorted."""
    select = ", ".join(f'epoch("{c}")::BIGINT' if c in TIMESTAMPS else f'"{c}"' for c in columns)
    return sorted(acct.sql(f'SELECT {select} FROM "{table}"'), key=repr)


def in_copy(dest: Destination, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows the copy holds (timestamps as epoch seconds), sorted; duplicates stay visible."""
    select = ", ".join(dest.epoch(snake(c)) if c in TIMESTAMPS else f'"{snake(c)}"' for c in columns)
    return sorted(dest.rows(f"SELECT {select} FROM {dest.table(snake(table))}"), key=repr)


def assert_copy_is_exact(acct: Account, dest: Destination, table: str, columns: Sequence[str]) -> None:
    """The copy holds exactly ClickSend's rows: none missing, none extra, none twice, values equal."""
    want, have = in_clicksend(acct, table, columns), in_copy(dest, table, columns)
    missing = [r for r in want if r not in have]
    extra = [r for r in have if r not in want]
    assert not missing and not extra and len(want) == len(have), (
        f"{table}: {len(want)} rows in ClickSend, {len(have)} in the copy; missing {missing[:5]}, extra {extra[:5]}")
    key = snake(columns[0])
    [(n, distinct)] = dest.rows(f"SELECT count(*), count(DISTINCT {key}) FROM {dest.table(snake(table))}")
    assert n == distinct, f"{table}: duplicate keys in the copy"


def query_of(line: str) -> dict[str, str]:
    """The query parameters of a logged request line (``GET /v3/lists?limit=100&page=1``)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(line.split(" ", 1)[1]).query).items()}


CONTACT_PAGE = r"GET /v3/lists/(\d+)/contacts\?(.*)"


def contact_pages(requests: list[str]) -> tuple[dict[int, int], dict[int, int]]:
    """(incremental pages per list: read with updated_after, key-scan pages per list: read whole)."""
    incremental: dict[int, int] = {}
    whole: dict[int, int] = {}
    for line in requests:
        found = re.fullmatch(CONTACT_PAGE, line)
        if found:
            bucket = incremental if "updated_after" in query_of(line) else whole
            bucket[int(found.group(1))] = bucket.get(int(found.group(1)), 0) + 1
    return incremental, whole


def list_pages(requests: list[str]) -> int:
    return sum(1 for line in requests if re.fullmatch(r"GET /v3/lists\?.*", line))


def next_second() -> None:
    """Sleep until just after the wall clock's next whole second (the emulator stamps whole seconds)."""
    time.sleep(math.ceil(time.time()) - time.time() + 0.02)


# --- scenarios run against every destination -----------------------------------------------------


def changes_arrive(acct: Account, dest: Destination, pipelines_dir: Path) -> None:
    """First run copies Contacts and SMSHistory exactly; a second run after new, updated and deleted
    contacts and new messages merges them (nothing lost, nothing twice), finding the deletes with a
    key scan of the one list they were in; a third run after a list is deleted takes its contacts out
    of the copy with no key scan at all."""
    rep = Replicator(acct, dest, pipelines_dir)
    first = rep.run(["Contacts", "SMSHistory"])
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
    assert_copy_is_exact(acct, dest, "SMSHistory", SMS)
    n_contacts, n_sms = len(in_clicksend(acct, "Contacts", ["ContactId"])), len(in_clicksend(acct, "SMSHistory", ["MessageId"]))
    assert first.counts("Contacts") == (n_contacts, 0, 0) and first.table("Contacts").read == n_contacts
    assert first.counts("SMSHistory") == (n_sms, 0, 0) and first.table("SMSHistory").read == n_sms
    assert first.report.requests == len(first.requests)

    lists = acct.lists()
    a, b = sorted(lists)[:2]
    in_a, in_b = acct.contacts_of(a), acct.contacts_of(b)
    for _ in range(3):
        acct.add_contact(a)
    acct.update_contact(a, in_a[0]["contact_id"], first_name="Renamed")
    acct.update_contact(b, in_b[0]["contact_id"], email="moved@example.com")
    acct.delete_contact(b, in_b[1]["contact_id"])
    acct.delete_contact(b, in_b[2]["contact_id"])
    acct.send_sms("second run 1")
    acct.send_sms("second run 2")

    second = rep.run(["Contacts", "SMSHistory"])
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
    assert_copy_is_exact(acct, dest, "SMSHistory", SMS)
    assert second.counts("Contacts") == (3, 2, 2)
    assert second.counts("SMSHistory") == (2, 0, 0)
    assert second.report.requests == len(second.requests)
    incremental, whole = contact_pages(second.requests)
    assert incremental == {list_id: 1 for list_id in lists}
    assert whole == {b: math.ceil((lists[b] - 2) / 100)}, "a key scan of list b alone, the only one whose count changed"
    gone = f"{in_b[1]['contact_id']}, {in_b[2]['contact_id']}"
    assert dest.rows(f"SELECT count(*) FROM {dest.table('contacts')} WHERE contact_id IN ({gone})") == [(0,)]

    biggest = max(lists, key=lists.__getitem__)
    size = len(acct.contacts_of(biggest))
    acct.delete_list(biggest)
    third = rep.run(["Contacts", "SMSHistory"])
    incremental, whole = contact_pages(third.requests)
    assert whole == {}, "a deleted list needs no key scan"
    assert set(incremental) == set(lists) - {biggest}
    assert third.counts("Contacts") == (0, 0, size) and third.counts("SMSHistory") == (0, 0, 0)
    assert dest.rows(f"SELECT count(*) FROM {dest.table('contacts')} WHERE list_id = {biggest}") == [(0,)]
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)


def history_keeps_versions(acct: Account, dest: Destination, pipelines_dir: Path) -> None:
    """history=["Contacts"]: an update closes the old version and opens a new one; a delete closes the
    last version and adds none; a run with no change adds no version."""
    rep = Replicator(acct, dest, pipelines_dir, history=["Contacts"])
    rep.run(["Contacts"])
    n = len(in_clicksend(acct, "Contacts", ["ContactId"]))
    hist = dest.table("contacts_history")
    assert dest.rows(f"SELECT count(*), count(DISTINCT contact_id), count(_dlt_valid_to) FROM {hist}") == [(n, n, 0)]

    list_id = sorted(acct.lists())[0]
    changed, deleted = acct.contacts_of(list_id)[:2]
    acct.update_contact(list_id, changed["contact_id"], first_name="Second Version")
    acct.delete_contact(list_id, deleted["contact_id"])
    second = rep.run(["Contacts"])
    assert second.counts("Contacts") == (0, 1, 1)

    versions = dest.rows(f"SELECT first_name, _dlt_valid_from, _dlt_valid_to FROM {hist} "
                         f"WHERE contact_id = {changed['contact_id']} ORDER BY _dlt_valid_from")
    assert [v[0] for v in versions] == [changed["first_name"], "Second Version"]
    (_, old_from, old_to), (_, new_from, new_to) = versions
    assert old_to is not None and new_to is None and old_from < new_from and old_to == new_from

    retired = dest.rows(f"SELECT first_name, _dlt_valid_to FROM {hist} WHERE contact_id = {deleted['contact_id']}")
    assert len(retired) == 1 and retired[0][0] == deleted["first_name"] and retired[0][1] is not None
    assert dest.rows(f"SELECT count(*) FROM {dest.table('contacts')} WHERE contact_id = {deleted['contact_id']}") == [(0,)]
    # every other contact still has one open version
    assert dest.rows(f"SELECT count(*), count(DISTINCT contact_id) FROM {hist} WHERE _dlt_valid_to IS NULL") == [(n - 1, n - 1)]
    assert dest.count("contacts_history") == n + 1

    third = rep.run(["Contacts"])
    assert third.counts("Contacts") == (0, 0, 0)
    assert dest.count("contacts_history") == n + 1, "a run without changes adds no version"
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)


def fresh_machine_resumes(acct: Account, dest: Destination, base: Path) -> None:
    """The cursors live in the destination: a run from a new, empty pipelines dir reads only what
    changed (updated_after and date_from pushed down) and duplicates nothing."""
    Replicator(acct, dest, base / "machine-1").run(["Contacts", "SMSHistory"])
    list_id = sorted(acct.lists())[0]
    acct.add_contact(list_id)
    acct.send_sms("from the second machine's point of view")

    fresh = Replicator(acct, dest, base / "machine-2").run(["Contacts", "SMSHistory"])
    incremental, whole = contact_pages(fresh.requests)
    assert whole == {} and set(incremental.values()) == {1}
    sms = fresh.lines(r"GET /v3/sms/history\?.*")
    assert len(sms) == 1 and "date_from" in query_of(sms[0])
    assert fresh.counts("Contacts") == (1, 0, 0) and fresh.counts("SMSHistory") == (1, 0, 0)
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
    assert_copy_is_exact(acct, dest, "SMSHistory", SMS)


def failed_run_writes_nothing(acct: Account, dest: Destination, pipelines_dir: Path, fault: str = "fail") -> None:
    """A run whose reads fail part-way (``fault``: HTTP 500, or ``drop``: the connection dropped)
    raises the package's error (no raw dlt traceback), leaves the copy as it was, and the next run
    completes it: no row lost, none twice."""
    rep = Replicator(acct, dest, pipelines_dir)
    rep.run(["Contacts", "SMSHistory"])
    before_contacts = in_copy(dest, "Contacts", CONTACTS)
    before_sms = in_copy(dest, "SMSHistory", SMS)
    list_id = sorted(acct.lists())[-1]
    acct.add_contact(list_id)
    acct.update_contact(list_id, acct.contacts_of(list_id)[0]["contact_id"], last_name="Changed")
    acct.send_sms("lost in a failed run")

    acct.emu.reset_stats()
    acct.emu.fault("GET /v3/sms/history", fault, count=10)  # more than the connection's retries
    with pytest.raises(clicksend_sql.ClickSendSQLError) as failed:
        clicksend_sql.replicate(acct.con, ["Contacts", "SMSHistory"], destination=dest.uri, dataset=dest.dataset,
                                pipelines_dir=pipelines_dir)
    # the package's own error, its message ClickSend's failure without dlt's wrappers (pipes, futures)
    if fault == "fail":
        assert isinstance(failed.value, ServerError) and failed.value.status == 500
        assert str(failed.value) == ("Replication stopped while reading (extract): ClickSend failed on GET /sms/history "
                                     "with HTTP 500 (Internal server error. Please try again.) after 2 attempts"), failed.value
    else:
        assert isinstance(failed.value, TransportError), repr(failed.value)
        assert str(failed.value).startswith("Replication stopped while reading (extract): GET /sms/history to "), failed.value
    failing = acct.emu.requests()
    assert len([line for line in failing if line.startswith("GET /v3/sms/history")]) >= 2, "retried, then given up"
    assert contact_pages(failing)[0], "the contacts were read in the same run"
    # nothing of the failed run reached the copy: not the messages, nor the contacts read beside them
    assert in_copy(dest, "Contacts", CONTACTS) == before_contacts
    assert in_copy(dest, "SMSHistory", SMS) == before_sms

    acct.emu.reset_stats()
    again = rep.run(["Contacts", "SMSHistory"])
    assert again.counts("Contacts") == (1, 1, 0) and again.counts("SMSHistory") == (1, 0, 0)
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
    assert_copy_is_exact(acct, dest, "SMSHistory", SMS)


def secrets(acct: Account) -> list[bytes]:
    """The account's API key and its Basic credentials, and its subaccounts' API keys (the catalog marks
    Subaccounts.ApiKey secret: queries read it, copies leave it out), as bytes to look for."""
    import base64

    key = acct.emu.api_key
    basic = base64.b64encode(f"{acct.emu.username}:{key}".encode()).decode()
    subaccount_keys = [k for (k,) in acct.con.sql("SELECT ApiKey FROM Subaccounts").fetchall() if k]
    assert subaccount_keys, "the emulator's subaccounts should have API keys to look for"
    return [key.encode(), key.lower().encode(), basic.encode(), *(k.encode() for k in subaccount_keys)]


def _contents(root: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file under ``root`` with its bytes, gunzipped and (Parquet) with its values as text too."""
    import pyarrow.parquet as pq

    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        content = path.read_bytes()
        if content[:2] == b"\x1f\x8b":
            content += gzip.decompress(content)
        if path.suffix == ".parquet":
            content += str(pq.read_table(path).to_pylist()).encode()
        yield path, content


def files_containing(root: Path, needles: Sequence[bytes]) -> list[str]:
    """Files under ``root`` that contain one of ``needles``."""
    return [str(path.relative_to(root)) for path, content in _contents(root) if any(n in content for n in needles)]


def needles_in(root: Path, needles: Sequence[bytes]) -> set[bytes]:
    """Which of ``needles`` some file under ``root`` contains."""
    return {n for _, content in _contents(root) for n in needles if n in content}


def decoded_dlt_state(dest: Destination) -> list[str]:
    """dlt's pipeline state rows in the destination, decompressed (they are stored zlib + base64)."""
    from dlt.common.versioned_state import decompress_state

    return [str(decompress_state(state)) for (state,) in dest.rows(f"SELECT state FROM {dest.table('_dlt_pipeline_state')}")]


def no_secret_in_destination(acct: Account, dest: Destination) -> None:
    needles = [s.decode() for s in secrets(acct)]
    leaks = [text for text in [*dest.every_text(), *decoded_dlt_state(dest)] if any(n in text for n in needles)]
    assert leaks == []


def environ_for_cli(acct: Account | None = None) -> dict[str, str]:
    """The environment of a ``clicksend-sql`` subprocess: this checkout's package first on the path."""
    package_root = str(Path(clicksend_sql.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    if acct is not None:
        env["CLICKSEND_API_KEY"] = acct.emu.api_key
    return env


def replicate_command(acct: Account, *args: str) -> Any:
    """``clicksend-sql replicate ARGS`` in this process (click's runner: the output as a terminal-less
    user sees it), signed in to ``acct`` with the key in CLICKSEND_API_KEY as the docs say."""
    from click.testing import CliRunner

    from clicksend_sql.cli import main

    return CliRunner(env={"CLICKSEND_API_KEY": acct.emu.api_key}).invoke(main, [
        "replicate", *args, "--username", acct.emu.username, "--base-url", acct.emu.base_url])
