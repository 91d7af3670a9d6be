"""Two-way Contacts sync (issue 20 §4), judged by the emulator's contacts and the database table.

Each test has an emulator of its own (sync changes the account) and a user table in a DuckDB file
(PostgreSQL for the round trip): rows added, changed and deleted on either side end up on both,
conflicts go to the newer side and are reported, and a run that lost ClickSend's answer to a
create adopts the contact the next time instead of creating it twice.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator

SCRIPT = Path(sys.executable).with_name("clicksend-sql")
FIELDS = "contact_id, list_id, phone_number, first_name, last_name, email"
LOCAL_TABLE = f"CREATE TABLE crm.people ({FIELDS.replace(',', ' VARCHAR,')} VARCHAR, updated_date TIMESTAMPTZ)".replace(
    "contact_id VARCHAR", "contact_id BIGINT").replace("list_id VARCHAR", "list_id BIGINT")


@pytest.fixture()
def account() -> Iterator[tuple[Emulator, Connection]]:
    with Emulator(seed=7, sizes={"contacts": 40}) as emu, clicksend_sql.connect(
            emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None) as con:
        yield emu, con


@pytest.fixture(autouse=True)
def _dlt_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


class DuckDBSide:
    """The user's table in a DuckDB file (opened only between syncs: DuckDB has one writer)."""

    def __init__(self, tmp_path: Path) -> None:
        self.file = tmp_path / "company.duckdb"  # not crm.duckdb: a file named as a schema is ambiguous to DuckDB
        self.destination = f"duckdb:///{self.file}"
        self.sql(f"CREATE SCHEMA crm; {LOCAL_TABLE}")

    def sql(self, text: str, *params: Any) -> list[tuple[Any, ...]]:
        with closing(duckdb.connect(str(self.file))) as db:
            result = db.execute(text, list(params) or None)
            return result.fetchall() if result.description else []


class PostgresSide:
    def __init__(self, uri: str, schema: str) -> None:
        self.destination, self.schema = uri, schema
        self.sql(f"DROP SCHEMA IF EXISTS crm CASCADE; DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA crm; "
                 f"{LOCAL_TABLE.replace('TIMESTAMPTZ', 'TIMESTAMP WITH TIME ZONE')}")

    def sql(self, text: str, *params: Any) -> list[tuple[Any, ...]]:
        with closing(psycopg2.connect(self.destination)) as db, db.cursor() as cursor:
            cursor.execute(text.replace("?", "%s"), params or None)
            rows = cursor.fetchall() if cursor.description else []
            db.commit()
            return rows


def run_sync(con: Connection, side: Any, tmp_path: Path, dataset: str = "clicksend") -> clicksend_sql.replication.SyncReport:
    return clicksend_sql.sync(con, "Contacts", with_table="crm.people", destination=side.destination, dataset=dataset,
                              pipelines_dir=tmp_path / "pipelines")


def both_sides(con: Connection, side: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every contact as ClickSend has it and as the table has it ('' and NULL alike)."""
    clicksend = con.sql("SELECT ContactId, ListId, PhoneNumber, FirstName, LastName, Email FROM Contacts ORDER BY 1").fetchall()
    table = side.sql(f"SELECT {FIELDS} FROM crm.people ORDER BY 1")
    def norm(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [tuple("" if v is None else v for v in row) for row in rows]
    return norm(clicksend), norm(table)


def contact_posts(emu: Emulator) -> int:
    return sum(1 for line in emu.requests() if line.startswith("POST ") and line.split("?")[0].endswith("/contacts"))


def test_sync_both_ways_until_equal(account: tuple[Emulator, Connection], tmp_path: Path) -> None:
    emu, con = account
    side = DuckDBSide(tmp_path)
    side.sql("INSERT INTO crm.people VALUES (NULL, ?, '+61400000001', 'Local', 'New', NULL, now())",
             con.sql("SELECT min(ListId) FROM ContactLists").fetchone()[0])  # type: ignore[index]

    first = run_sync(con, side, tmp_path)
    clicksend, table = both_sides(con, side)
    assert first.created == 1 and first.pulled_new == len(clicksend) - 1
    assert clicksend == table  # the new row has its ClickSend id, every contact reached the table
    assert con.sql("SELECT count(*) FROM Contacts WHERE FirstName = 'Local'").fetchone() == (1,)

    victim, renamed = table[1][0], table[2][0]
    side.sql("UPDATE crm.people SET first_name = 'Renamed', updated_date = now() WHERE contact_id = ?", renamed)
    side.sql("DELETE FROM crm.people WHERE contact_id = ?", victim)
    remote = table[3]
    con.sql("UPDATE Contacts SET LastName = 'FromClickSend' WHERE ListId = ? AND ContactId = ?", [remote[1], remote[0]])
    con.sql("INSERT INTO Contacts (ListId, PhoneNumber, FirstName) VALUES (?, '+61400000002', 'Remote')", [remote[1]])

    second = run_sync(con, side, tmp_path)
    assert (second.updated, second.deleted, second.pulled_updated, second.pulled_new) == (1, 1, 1, 1), second
    assert not second.conflicts and not second.errors
    clicksend, table = both_sides(con, side)
    assert clicksend == table
    assert con.sql("SELECT count(*) FROM Contacts WHERE ContactId = ?", [victim]).fetchone() == (0,)
    assert con.sql("SELECT FirstName FROM Contacts WHERE ContactId = ?", [renamed]).fetchone() == ("Renamed",)

    emu.reset_stats()
    third = run_sync(con, side, tmp_path)
    assert str(third).startswith("ClickSend: 0 created, 0 updated, 0 deleted; table: 0 new, 0 updated, 0 deleted")
    assert not [line for line in emu.requests() if not line.startswith("GET ")]  # nothing written on a quiet run


@pytest.mark.parametrize(("local_is_newer", "kept"), [(True, "Database"), (False, "ClickSend")])
def test_a_row_changed_on_both_sides_goes_to_the_newer_side(account: tuple[Emulator, Connection], tmp_path: Path,
                                                            local_is_newer: bool, kept: str) -> None:
    emu, con = account
    side = DuckDBSide(tmp_path)
    run_sync(con, side, tmp_path)
    contact_id, list_id = side.sql("SELECT contact_id, list_id FROM crm.people ORDER BY 1 LIMIT 1")[0]
    when = "now() + INTERVAL 1 HOUR" if local_is_newer else "now() - INTERVAL 1 HOUR"
    side.sql(f"UPDATE crm.people SET first_name = 'Database', updated_date = {when} WHERE contact_id = ?", contact_id)
    con.sql("UPDATE Contacts SET FirstName = 'ClickSend' WHERE ListId = ? AND ContactId = ?", [list_id, contact_id])

    report = run_sync(con, side, tmp_path)
    [conflict] = report.conflicts
    assert conflict.contact_id == contact_id and conflict.kept == kept.lower()
    assert con.sql("SELECT FirstName FROM Contacts WHERE ContactId = ?", [contact_id]).fetchone() == (kept,)
    clicksend, table = both_sides(con, side)
    assert clicksend == table


def test_a_delete_against_a_change_keeps_the_change(account: tuple[Emulator, Connection], tmp_path: Path) -> None:
    emu, con = account
    side = DuckDBSide(tmp_path)
    run_sync(con, side, tmp_path)
    (a, list_a), (b, list_b) = side.sql("SELECT contact_id, list_id FROM crm.people ORDER BY 1 LIMIT 2")
    side.sql("UPDATE crm.people SET last_name = 'Kept', updated_date = now() WHERE contact_id = ?", a)
    con.sql("DELETE FROM Contacts WHERE ListId = ? AND ContactId = ?", [list_a, a])  # deleted there, changed here
    side.sql("DELETE FROM crm.people WHERE contact_id = ?", b)
    con.sql("UPDATE Contacts SET LastName = 'AlsoKept' WHERE ListId = ? AND ContactId = ?", [list_b, b])  # and the reverse

    report = run_sync(con, side, tmp_path)
    assert len(report.conflicts) == 2 and report.created == 1
    clicksend, table = both_sides(con, side)
    assert clicksend == table
    assert con.sql("SELECT count(*) FROM Contacts WHERE LastName IN ('Kept', 'AlsoKept')").fetchone() == (2,)


def test_a_create_whose_answer_was_lost_is_not_sent_twice(account: tuple[Emulator, Connection], tmp_path: Path) -> None:
    emu, con = account
    side = DuckDBSide(tmp_path)
    run_sync(con, side, tmp_path)
    list_id = side.sql("SELECT min(list_id) FROM crm.people")[0][0]
    side.sql("INSERT INTO crm.people VALUES (NULL, ?, '+61400000003', 'Lost', 'Answer', NULL, now())", list_id)
    emu.reset_stats()
    emu.fault("POST /v3/lists/", "lose")  # ClickSend creates the contact; the answer never arrives

    interrupted = run_sync(con, side, tmp_path)
    assert interrupted.created == 0 and len(interrupted.errors) == 1
    assert side.sql("SELECT contact_id FROM crm.people WHERE first_name = 'Lost'") == [(None,)]

    again = run_sync(con, side, tmp_path)
    assert again.adopted == 1 and again.created == 0
    assert contact_posts(emu) == 1  # one create in all
    assert con.sql("SELECT count(*) FROM Contacts WHERE FirstName = 'Lost'").fetchone() == (1,)
    clicksend, table = both_sides(con, side)
    assert clicksend == table


def test_sync_round_trip_in_postgresql(account: tuple[Emulator, Connection], tmp_path: Path, postgres_uri: str) -> None:
    emu, con = account
    side = PostgresSide(postgres_uri, "sync_clicksend")
    list_id = con.sql("SELECT min(ListId) FROM ContactLists").fetchone()[0]  # type: ignore[index]
    side.sql("INSERT INTO crm.people VALUES (NULL, ?, '+61400000004', 'Pg', 'New', NULL, now())", list_id)
    run_sync(con, side, tmp_path, dataset="sync_clicksend")
    contact_id = side.sql("SELECT contact_id FROM crm.people WHERE first_name = 'Pg'")[0][0]
    side.sql("UPDATE crm.people SET email = 'pg@example.com', updated_date = now() WHERE contact_id = ?", contact_id)
    report = run_sync(con, side, tmp_path, dataset="sync_clicksend")
    assert report.updated == 1
    clicksend, table = both_sides(con, side)
    assert clicksend == table


def test_sync_command(account: tuple[Emulator, Connection], tmp_path: Path) -> None:
    emu, con = account
    side = DuckDBSide(tmp_path)
    env = {"CLICKSEND_USERNAME": emu.username, "CLICKSEND_API_KEY": emu.api_key, "CLICKSEND_BASE_URL": emu.base_url,
           "DLT_DATA_DIR": str(tmp_path / "dlt-data"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(SCRIPT), "sync", "Contacts", "--with", "crm.people", "--destination",
         side.destination, "--pipelines-dir", str(tmp_path / "p")],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "table: 40 new" in done.stdout
    assert emu.api_key not in done.stdout + done.stderr
    missing = subprocess.run([str(SCRIPT), "sync", "--with", "crm.nothing", "--destination",
                              side.destination, "--pipelines-dir", str(tmp_path / "p")],
                             capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 1 and "crm.nothing" in missing.stderr and "Traceback" not in missing.stderr
