"""Bad input fails early with a typed, helpful error; odd SQL never escapes as a raw exception; keys stay secret."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import clicksend_sql
from clicksend_sql import ClickSendSQLError, Connection, Result
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import (
    AuthenticationError,
    ConfigurationError,
    MissingFilterError,
    SQLSyntaxError,
    UnknownColumnError,
    UnknownTableError,
    UnsupportedStatementError,
)

from conftest import open_connection
from vendored import shared_path

SMALL_TABLES = ("SMSTemplates", "ContactLists", "Subaccounts")


def test_unknown_table_names_the_closest_tables(con: Connection, emu: Emulator) -> None:
    with pytest.raises(UnknownTableError, match="Contactz") as err:
        con.sql("SELECT * FROM Contactz")
    assert "Contacts" in str(err.value) and "ContactLists" in str(err.value)
    assert emu.stats()["total"] == 0


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT Nope FROM Contacts",
        "SELECT * FROM Contacts WHERE Nope = 1",
        "SELECT c.Nope FROM Contacts c JOIN ContactLists l ON c.ListId = l.ListId",
        "SELECT ListId FROM ContactLists ORDER BY Nope",
        "WITH x AS (SELECT ListId FROM ContactLists) SELECT Nope FROM x",
        "COPY (SELECT Nope FROM SMSHistory) TO 'never.csv'",
    ],
)
def test_unknown_column_is_named_before_any_request(con: Connection, emu: Emulator, sql: str) -> None:
    with pytest.raises(UnknownColumnError, match="Nope"):
        con.sql(sql)
    assert emu.stats()["total"] == 0
    assert not Path("never.csv").exists()


def test_syntax_error_gives_line_and_column(con: Connection) -> None:
    with pytest.raises(SQLSyntaxError, match=r"line 2, column \d+"):
        con.sql("SELECT *\nFROM Contacts WHERE ListId = = 3")


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DELETE FROM SMSHistory", "DELETE"),
        ("UPDATE SMSHistory SET Body = 'x'", "UPDATE"),
        ("INSERT INTO Countries (Code) VALUES ('XX')", "INSERT"),
        ("DROP TABLE Contacts", "DROP"),
        ("TRUNCATE Contacts", "TRUNCATE"),
        ("ALTER TABLE ContactLists ADD COLUMN x INT", "ALTER"),
        ("CREATE VIEW v AS SELECT * FROM Contacts", "CREATE VIEW"),
    ],
)
def test_undeclared_writes_and_ddl_on_clicksend_tables_are_refused(con: Connection, emu: Emulator, sql: str, kind: str) -> None:
    with pytest.raises(UnsupportedStatementError) as err:
        con.sql(sql)
    message = str(err.value)
    assert kind in message and ("SELECT" in message or "CREATE TABLE" in message)
    assert emu.stats()["total"] == 0


@pytest.mark.parametrize(
    ("sql", "column"),
    [
        ("SELECT * FROM AccountUsage", "Year"),
        ("SELECT * FROM AccountUsage WHERE Year = 2025", "Month"),
        ("SELECT * FROM AvailableNumbers WHERE Country LIKE 'A%'", "Country"),
    ],
)
def test_missing_required_filter(con: Connection, emu: Emulator, sql: str, column: str) -> None:
    with pytest.raises(MissingFilterError, match=column):
        con.sql(sql)
    assert emu.stats()["total"] == 0


def test_every_error_is_a_clicksend_sql_error() -> None:
    for error in (UnknownTableError, UnknownColumnError, SQLSyntaxError, UnsupportedStatementError, MissingFilterError):
        assert issubclass(error, ClickSendSQLError)


def test_missing_parameters_are_reported(con: Connection) -> None:
    with pytest.raises(ClickSendSQLError, match="param"):
        con.sql("SELECT * FROM Contacts WHERE ListId = ?")
    with pytest.raises(ClickSendSQLError, match="who"):
        con.sql("SELECT * FROM Contacts WHERE FirstName = $who", {"someone": "x"})


# --- secrets ---------------------------------------------------------------------------------


def test_the_api_key_never_shows(emulator: Emulator) -> None:
    wrong_key = "0A1B2C3D-SECRET-WRONG-KEY-000000000000"
    with clicksend_sql.connect(emulator.username, wrong_key, base_url=emulator.base_url, rate_limit=None) as bad:
        with pytest.raises(AuthenticationError) as err:
            bad.sql("SELECT * FROM ContactLists")
        shown = [str(err.value), repr(err.value), repr(bad), repr(bad.settings), str(bad.settings)]
    with open_connection(emulator) as good:
        shown += [repr(good), repr(good.settings), str(good.settings)]
    for text in shown:
        assert wrong_key not in text and emulator.api_key not in text


# --- robustness corpus -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> Iterator[Connection]:
    """A tiny account: the corpus checks behaviour, not volume."""
    with Emulator(seed=1, sizes={"sms-history": 20, "contacts": 20}) as emu, open_connection(emu) as connection:
        yield connection


def corpus_lines() -> list[str]:
    """Each line of sqlglot's identity corpus (third-party, not vendored) with its first FROM
    target pointed at a small ClickSend table."""
    corpus = shared_path("test-corpora/sqlglot-identity.sql")
    lines = [line.strip() for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        re.sub(r"\bFROM\s+[A-Za-z_][\w.]*", f"FROM {SMALL_TABLES[i % len(SMALL_TABLES)]}", line, count=1, flags=re.I)
        for i, line in enumerate(lines)
    ]


def test_corpus_yields_a_result_or_a_clicksend_error(
    tiny: Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # some lines write files
    lines = corpus_lines()
    assert len(lines) > 900
    escaped: list[str] = []
    answered = 0
    for line in lines:
        try:
            answered += isinstance(tiny.sql(line), Result)
        except ClickSendSQLError:
            pass
        except Exception as exc:  # noqa: BLE001 - the point is to catch anything else
            escaped.append(f"{line}\n    -> {type(exc).__name__}: {exc}")
    assert not escaped, f"{len(escaped)} line(s) raised a raw exception:\n" + "\n".join(escaped[:20])
    assert answered > 100, "the corpus should mostly run"


# --- issue 24 §3: errors that say what to do ------------------------------------------------------


def test_copy_from_a_file_into_a_clicksend_table_points_to_insert(con: Connection, emu: Emulator) -> None:
    with pytest.raises(UnsupportedStatementError, match=r"INSERT INTO Contacts SELECT \* FROM 'contacts.csv'"):
        con.sql("COPY Contacts FROM 'contacts.csv' (HEADER)")
    assert emu.requests() == []


@pytest.mark.parametrize("region", ["Australia", "AUS", "XX", ""])
def test_a_default_country_that_is_not_an_iso_code_is_refused(emulator: Emulator, region: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"default_country='{region}': give an ISO 3166 alpha-2"):
        clicksend_sql.connect(emulator.username, emulator.api_key, base_url=emulator.base_url, default_country=region)


def test_a_lower_case_country_code_is_accepted(emulator: Emulator) -> None:
    with clicksend_sql.connect(emulator.username, emulator.api_key, base_url=emulator.base_url,
                               default_country="au") as con:
        assert con.sql("SELECT e164('0411 111 111')").fetchone() == ("+61411111111",)


def test_missing_credentials_point_to_the_demo_and_the_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CLICKSEND_USERNAME", "CLICKSEND_API_KEY", "CLICKSEND_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigurationError) as failure:
        clicksend_sql.connect()
    message = str(failure.value)
    assert "--demo" in message and "[profiles.default]" in message and "CLICKSEND_API_KEY" in message
    assert "CLI options" not in message


def test_every_call_of_a_send_answers_the_tables_columns() -> None:
    """A message refused (7 fields in ClickSend's answer) and one accepted (19): the table's columns
    both times; a field the table does not declare (the send answer's is_shared_system_number) after them."""
    with Emulator(seed=3, sizes={"sms-history": 10}) as emu, open_connection(emu) as con:
        accepted = con.sql("CALL SendSMS('Acme', 'hi', '+61411111111')")
        refused = con.sql("CALL SendSMS('Acme!', 'hi', '+61411111112')")  # a sender ID ClickSend refuses
        history = con.sql("SELECT * FROM SMSHistory LIMIT 0")
    assert refused.fetchone()[history.columns.index("Status")] == "INVALID_SENDER_ID"
    assert refused.columns == history.columns == accepted.columns[:len(history.columns)]
    assert accepted.columns[len(history.columns):] == ["IsSharedSystemNumber"]
