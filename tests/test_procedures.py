"""CALL of ClickSend procedures, end to end against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest

import clicksend_sql
from clicksend_sql.emulator import Emulator
from clicksend_sql.procedures import ProcedureArgumentError

from conftest import open_connection

TEST_NUMBER = "+61411111111"  # NOTES.md §12: sends nothing, charges nothing


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=7, sizes={"sms-history": 40, "contacts": 30, "lists": 2}) as emulator:
        yield emulator


@pytest.fixture()
def con(emu: Emulator) -> Iterator[clicksend_sql.Connection]:
    with open_connection(emu) as connection:
        yield connection


def balance(con: clicksend_sql.Connection) -> float:
    return float(con.sql("SELECT Balance FROM Accounts").fetchone()[0])


def test_send_sms_to_a_test_number_creates_history_and_costs_nothing(con: clicksend_sql.Connection) -> None:
    before = balance(con)
    result = con.sql("CALL SendSMS('Acme', 'hello from a test', ?)", [TEST_NUMBER])
    row = result.arrow().to_pylist()[0]
    assert row["Status"] == "SUCCESS" and row["To"] == TEST_NUMBER and row["MessagePrice"] == Decimal("0")
    assert isinstance(row["Date"], datetime)  # typed as SMSHistory types it, not a unix integer
    history = con.sql("SELECT Body, To FROM SMSHistory WHERE MessageId = ?", [row["MessageId"]]).fetchall()
    assert history == [("hello from a test", TEST_NUMBER)]
    assert balance(con) == before


def test_paid_send_charges_its_price(con: clicksend_sql.Connection) -> None:
    before = balance(con)
    row = con.sql("CALL SendSMS(:f, :b, :t)", {"f": "Acme", "b": "paid", "t": "+61400000123"}).arrow().to_pylist()[0]
    assert row["Status"] == "SUCCESS"
    assert balance(con) == pytest.approx(before - float(row["MessagePrice"]))


def test_procedures_are_listed_with_their_parameters(con: clicksend_sql.Connection) -> None:
    params = con.sql(
        "SELECT ParameterName FROM sys_procedure_parameters WHERE ProcedureName = 'SendSMS' ORDER BY Ordinal"
    ).fetchall()
    assert [p for (p,) in params] == ["from", "body", "to"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CALL SendSMS('Acme')", "needs body"),
        ("CALL SendSMS('a', 'b', 'c', 'd')", "at most 3"),
        ("CALL SendSMS('a', NULL, 'c')", r"body \(VARCHAR\) is required"),
        ("CALL PurchaseRechargePackage('not a number')", "must be BIGINT"),
    ],
)
def test_bad_arguments_fail_before_any_request(
    emu: Emulator, con: clicksend_sql.Connection, sql: str, message: str
) -> None:
    emu.reset_stats()
    with pytest.raises(ProcedureArgumentError, match=message):
        con.sql(sql)
    assert emu.stats()["total"] == 0


def test_unknown_procedure_names_the_closest(con: clicksend_sql.Connection) -> None:
    with pytest.raises(clicksend_sql.ClickSendSQLError, match="SendSMS"):
        con.sql("CALL SendSMSS('a', 'b', 'c')")


def test_duckdb_table_functions_still_work(con: clicksend_sql.Connection) -> None:
    assert con.sql("CALL pragma_version()").fetchone()[0].startswith("v")


def test_copy_contact_to_list_gives_a_new_contact(con: clicksend_sql.Connection) -> None:
    (first, second) = [r[0] for r in con.sql("SELECT ListId FROM ContactLists ORDER BY ListId LIMIT 2").fetchall()]
    contact = con.sql("SELECT min(ContactId) FROM Contacts WHERE ListId = ?", [first]).fetchone()[0]
    before = con.sql("SELECT count(*) FROM Contacts WHERE ListId = ?", [second]).fetchone()[0]
    copied = con.sql("CALL CopyContactToList(?, ?, ?)", [first, contact, second]).arrow().to_pylist()[0]
    assert copied["ContactId"] != contact and copied["ListId"] == second
    assert con.sql("SELECT count(*) FROM Contacts WHERE ListId = ?", [second]).fetchone()[0] == before + 1


def test_a_charging_call_is_never_retried() -> None:
    with Emulator(seed=3, fault_rate=1.0) as faulty:
        with open_connection(faulty) as con:
            faulty.reset_stats()
            with pytest.raises(clicksend_sql.ClickSendSQLError):
                con.sql("CALL SendSMS('Acme', 'once only', ?)", [TEST_NUMBER])
            assert faulty.stats()["by_operation"].get("POST /v3/sms/send") == 1


def test_arguments_by_position_by_name_and_by_bind_agree(con: clicksend_sql.Connection) -> None:
    """The seed's procedures can be called positionally, with name := value, and with :name binds."""
    forms = [
        ("EXPLAIN CALL SendSMS('Acme', 'Hi', '+61411111111')", None),
        ("EXPLAIN CALL SendSMS('Acme', \"to\" := '+61411111111', body := 'Hi')", None),
        ("EXPLAIN CALL SendSMS(:from, :body, :to)", {"from": "Acme", "body": "Hi", "to": "+61411111111"}),
    ]
    bodies = {con.sql(text, params).arrow().to_pylist()[0]["body"] for text, params in forms}
    assert bodies == {'{"messages":[{"from":"Acme","body":"Hi","to":"+61411111111"}]}'}
    with pytest.raises(ProcedureArgumentError, match="has no parameter 'nope'; its parameters are from, body, to"):
        con.sql("CALL SendSMS('Acme', nope := 1)")
    with pytest.raises(ProcedureArgumentError, match="positional arguments come before named ones"):
        con.sql("CALL SendSMS(body := 'x', 'Acme')")
