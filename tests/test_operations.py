"""Every ClickSend operation is reachable from SQL, and sys_operations says how (issue 6 §5).

The operation list is the emulator's vendored spec (current spec + the fax/letter/postcard
operations of spec@c73ffe8); each operation must be made by a table statement (SELECT through
the list/get endpoint, INSERT/UPDATE/DELETE as the table declares them) or by a CALL. The
procedures added for the operations no table covers are called against the emulator, family by
family, and their answers or the emulator's state checked afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

import clicksend_sql
from clicksend_sql import procedures
from clicksend_sql.catalog import Procedure, Table, load_catalog
from clicksend_sql.emulator import Emulator
from clicksend_sql.emulator.spec import load_operations
from clicksend_sql.system_tables import system_tables

from conftest import open_connection
from vendored import tool

CATALOG = load_catalog()
ROWS = system_tables(CATALOG)["sys_operations"].to_pylist()
TEST_NUMBER = "+61411111111"  # NOTES.md §12: sends nothing, charges nothing
PDF = "https://example.com/letter.pdf"


# --- the operation list ------------------------------------------------------------------------


def test_the_vendored_operation_list_is_the_emulator_spec() -> None:
    vendor = tool("vendor_operations")
    text = resources.files("clicksend_sql").joinpath("operations.json").read_text(encoding="utf-8")
    assert text == vendor.dump(vendor.build()), "operations.json drifted; run tools/vendor_operations.py"
    ops = json.loads(text)
    assert len(ops) == 201 and sum(op["spec"].startswith("c73ffe8") for op in ops) == 26


def test_sys_operations_lists_every_operation_and_each_is_reached() -> None:
    expected = {(op.operation_id, op.method, "/v3" + op.path, op.source) for op in load_operations()}
    listed = {(r["OperationId"], r["Method"], r["Path"], r["Spec"].split(" ")[0]) for r in ROWS}
    assert listed == expected
    unreached = sorted(r["OperationId"] for r in ROWS if r["Kind"] is None)
    assert not unreached, f"operations no SQL statement makes: {unreached}"


def declared(table: Table, kind: str, method: str, path: str) -> bool:
    """Does ``table`` make ``method path`` with a ``kind`` statement, by its own declaration?"""
    if kind == "SELECT":
        candidates = [table.list, table.get]
    else:
        candidates = [getattr(table, kind.lower())] if kind in table.dml else []
    return any(ep is not None and (ep.method, "/v3" + ep.path) == (method, path) for ep in candidates)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['OperationId']}-{r['Kind']}")
def test_each_listed_form_exists_and_its_example_is_that_statement(row: dict[str, Any]) -> None:
    statement = sqlglot.parse_one(row["Example"].replace("?", "NULL"), read="duckdb")
    if row["Kind"] == "CALL":
        proc = CATALOG.procedure(row["ProcedureName"])
        assert row["TableName"] is None and proc.name == row["ProcedureName"]
        assert (proc.endpoint.method, "/v3" + proc.endpoint.path) == (row["Method"], row["Path"])
        assert row["Example"] == f"CALL {proc.name}({', '.join('?' * len(proc.parameters))})"
        return
    table = CATALOG.table(row["TableName"])
    assert row["ProcedureName"] is None and table.name == row["TableName"]
    assert declared(table, row["Kind"], row["Method"], row["Path"]), row
    kinds = {"SELECT": exp.Select, "INSERT": exp.Insert, "UPDATE": exp.Update, "DELETE": exp.Delete}
    assert isinstance(statement, kinds[row["Kind"]])
    assert [t.name for t in statement.find_all(exp.Table)] == [table.name]
    # the WHERE names exactly the columns that fill the request path
    keys = {c.name for c in table.columns if c.path_param and f"{{{c.path_param}}}" in row["Path"]}
    where = statement.args.get("where")
    named = {c.name for c in where.find_all(exp.Column)} if where is not None else set()
    assert named == (keys if row["Kind"] != "INSERT" else set()), row["Example"]


def test_select_examples_make_the_listed_request(con: clicksend_sql.Connection) -> None:
    for row in (r for r in ROWS if r["Kind"] == "SELECT"):
        params = ["1"] * row["Example"].count("?")
        plan = con.sql(f"EXPLAIN {row['Example']}", params).arrow().to_pylist()
        endpoints = {re.sub(r"\?.*", "", p["endpoint"]) for p in plan}
        assert f"GET {row['Path']}" in endpoints, (row["Example"], endpoints)


def sample_arguments(proc: Procedure) -> list[Any]:
    """A value of the right type for each parameter, as CALL arguments."""
    samples = {"BIGINT": 1, "INTEGER": 1, "BOOLEAN": True, "DOUBLE": 1.5, "DECIMAL": 1.5}
    args = [samples.get(p.type.split("(")[0], "+61411111111" if p.name == "to" else f"v{i}")  # a recipient must be a number
            for i, p in enumerate(proc.parameters)]
    return [[a] if p.type.endswith("[]") else a for a, p in zip(args, proc.parameters)]


def test_call_examples_explain_as_the_listed_request(con: clicksend_sql.Connection) -> None:
    for row in (r for r in ROWS if r["Kind"] == "CALL"):
        args = sample_arguments(CATALOG.procedure(row["ProcedureName"]))
        (plan,) = con.sql(f"EXPLAIN {row['Example']}", args).arrow().to_pylist()
        template = re.sub(r"\{\w+\}", "[^/]+", re.escape(row["Path"]).replace(r"\{", "{").replace(r"\}", "}"))
        assert re.fullmatch(f"{row['Method']} {template}", plan["endpoint"]), (row["Example"], plan["endpoint"])


def test_sys_operations_is_a_sql_table(con: clicksend_sql.Connection) -> None:
    ((count, reached),) = con.sql(
        "SELECT count(DISTINCT OperationId), count(DISTINCT OperationId) FILTER (WHERE Kind IS NOT NULL) "
        "FROM sys_operations"
    ).fetchall()
    assert count == reached == 201
    rows = con.sql("SELECT Kind, ProcedureName, Example FROM sys_operations WHERE OperationId = ?", ["detect-address"])
    assert rows.fetchall() == [("CALL", "DetectAddress", "CALL DetectAddress(?)")]


@pytest.mark.parametrize("proc", sorted(CATALOG.procedures.values(), key=lambda p: p.name), ids=lambda p: p.name)
def test_charging_calls_are_never_retried_and_quotes_exports_lookups_never_charge(proc: Procedure) -> None:
    values = procedures.bind_arguments(proc, sample_arguments(proc))
    retried = procedures.request(proc, values)["retry"]
    assert retried == (not proc.charges and proc.endpoint.method in ("GET", "PUT", "DELETE"))
    if re.match(r"(Calculate|Export|Get|Detect|Request|Verify|Select|Agree|Register|Update)", proc.name):
        assert not proc.charges, f"{proc.name} only quotes, reads or sets: it must not be marked charges"


# --- price calculators (read the shared account: pricing changes nothing) --------------------


def balance(con: clicksend_sql.Connection) -> Decimal:
    return Decimal(str(con.sql("SELECT Balance FROM Accounts").fetchone()[0]))


def first_list(con: clicksend_sql.Connection) -> tuple[int, int, int]:
    """A contact list, how many of its contacts have a phone number, and how many an email."""
    return con.sql(
        "SELECT ListId, count(*) FILTER (WHERE PhoneNumber <> ''), count(*) FILTER (WHERE Email <> '') FROM Contacts "
        "WHERE ListId = (SELECT min(ListId) FROM ContactLists WHERE ContactsCount > 0) GROUP BY ListId"
    ).fetchone()


def one(con: clicksend_sql.Connection, sql: str, params: list[Any]) -> dict[str, Any]:
    (row,) = con.sql(sql, params).arrow().to_pylist()
    return row


def test_campaign_price_calculators_price_the_whole_list_and_send_nothing(con: clicksend_sql.Connection) -> None:
    list_id, phones, emails = first_list(con)
    before = (balance(con), con.sql("SELECT count(*) FROM SMSCampaigns").fetchone()[0])
    sms = one(con, "CALL CalculateSMSCampaignPrice(?, ?, ?, ?)", ["Hello (First Name)", "Acme", "Spring", list_id])
    mms = one(
        con,
        "CALL CalculateMMSCampaignPrice(?, ?, ?, ?, ?, ?, ?)",
        [list_id, "Spring", "Acme", "Hello", None, "Sale", "https://example.com/koala.jpg"],
    )
    email_from = con.sql("SELECT min(EmailAddressId) FROM EmailAddresses").fetchone()[0]
    mail = one(
        con,
        "CALL CalculateEmailCampaignPrice(?, ?, ?, ?, ?, ?, ?, ?)",
        ["Spring", "News", email_from, None, list_id, "Acme", None, "<p>Hello</p>"],
    )
    assert (sms["TotalCount"], mms["TotalCount"], mail["TotalCount"]) == (phones, phones, emails)
    assert all(Decimal(r["TotalPrice"]) > 0 for r in (sms, mms, mail))
    assert Decimal(mms["TotalPrice"]) > Decimal(sms["TotalPrice"])  # an MMS costs more than a one-part SMS
    assert json.loads(mail["Data"])["list_id"] == list_id
    assert (balance(con), con.sql("SELECT count(*) FROM SMSCampaigns").fetchone()[0]) == before


def test_message_price_calculators_quote_like_a_send_without_sending(con: clicksend_sql.Connection) -> None:
    before = balance(con)
    history = con.sql("SELECT (SELECT count(*) FROM FaxHistory), (SELECT count(*) FROM LettersHistory)").fetchone()
    email_from = con.sql("SELECT min(EmailAddressId) FROM EmailAddresses").fetchone()[0]
    mail = one(con, "CALL CalculateEmailPrice(?, ?, ?, ?)", ["someone@example.com", email_from, "Hi", "Body"])
    assert mail["Price"] == Decimal("0.005") and mail["FromEmailAddressId"] == email_from
    fax = one(con, "CALL CalculateFaxPrice(?, ?, ?)", ["+61298765432", None, PDF])
    assert fax["To"] == "+61298765432" and fax["MessagePrice"] > 0
    return_address = con.sql("SELECT min(ReturnAddressId) FROM ReturnAddresses").fetchone()[0]
    address = ["Jo Citizen", "Sydney", "NSW", "2000", "AU", return_address, "1 George St"]
    letter = one(con, "CALL CalculateLetterPrice(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [PDF, None, 1, 0, *address])
    postcard = one(con, "CALL CalculatePostcardPrice(?, ?, ?, ?, ?, ?, ?, ?)", [*address, [PDF]])
    for posted in (letter, postcard):
        assert posted["AddressName"] == "Jo Citizen" and posted["ReturnAddressId"] == return_address
        assert posted["PostPrice"] > 0
    after = con.sql("SELECT (SELECT count(*) FROM FaxHistory), (SELECT count(*) FROM LettersHistory)").fetchone()
    assert (balance(con), after) == (before, history)


# --- exports ---------------------------------------------------------------------------------


def test_exports_answer_a_download_url_for_the_file(con: clicksend_sql.Connection, emu: Emulator) -> None:
    campaign = con.sql("SELECT min(EmailCampaignId) FROM EmailCampaigns").fetchone()[0]
    calls = {
        "CALL ExportEmailHistory(?, ?)": ["email.csv", 1_600_000_000],
        "CALL ExportLetterHistory(?)": ["letters.csv"],
        "CALL ExportPostcardHistory(?)": ["postcards.csv"],
    }
    for sql, params in calls.items():
        url = one(con, sql, params)["Url"]
        assert url.startswith("https://") and url.endswith(f"filename={params[0]}"), url
    assert one(con, "CALL ExportEmailCampaignHistory(?)", [campaign])["Url"].startswith("https://")
    by_operation = emu.stats()["by_operation"]
    assert by_operation["GET /v3/email-campaigns/{email_campaign_id}/history/export"] == 1
    assert by_operation["GET /v3/email/history/export"] == 1


# --- single-row lookups and short URLs --------------------------------------------------------


def test_lookups_answer_the_row_the_table_lists(con: clicksend_sql.Connection) -> None:
    inbound = con.sql("SELECT * FROM InboundSMS ORDER BY MessageId LIMIT 1").arrow().to_pylist()[0]
    found = one(con, "CALL GetInboundSMS(?)", [inbound["OriginalMessageId"]])
    assert found["MessageId"] == inbound["MessageId"] and found["Timestamp"] == inbound["Timestamp"]
    invoice = con.sql("SELECT * FROM RechargeTransactions LIMIT 1").arrow().to_pylist()[0]
    assert one(con, "CALL GetRechargeTransaction(?)", [invoice["InvoiceNumber"]]) == invoice
    category = con.sql("SELECT min(CategoryId) FROM MasterEmailTemplateCategories").fetchone()[0]
    templates = con.sql("CALL GetMasterEmailTemplatesInCategory(?, ?, ?)", [category, 1, 50]).arrow().to_pylist()
    listed = con.sql("SELECT * FROM MasterEmailTemplates").arrow().to_pylist()
    assert templates and all(t in listed for t in templates)  # typed as the table types them


def test_short_url_statistics_lead_to_their_tracking(con: clicksend_sql.Connection) -> None:
    message = con.sql("SELECT min(MessageId) FROM SMSHistory").fetchone()[0]
    stats = con.sql("CALL GetShortUrlStatistics(?, ?)", ["quick_sms", message]).arrow().to_pylist()
    assert stats and all(json.loads(s["Links"])["total"] >= 0 for s in stats)
    clicks = con.sql("CALL GetShortUrlTracking(?)", [stats[0]["LongUrlId"]]).arrow().to_pylist()
    assert clicks and all(c["OpenCount"] >= 1 and json.loads(c["Contact"])["phone_number"] for c in clicks)


# --- account settings, senders and addresses (a private account: these change state) -----------


@pytest.fixture(scope="module")
def private() -> Iterator[Emulator]:
    with Emulator(seed=11, sizes={"sms-history": 10, "contacts": 10, "lists": 1}) as emulator:
        yield emulator


@pytest.fixture()
def own_con(private: Emulator) -> Iterator[clicksend_sql.Connection]:
    with open_connection(private) as connection:
        yield connection


def test_own_number_verification_approves_the_number(own_con: clicksend_sql.Connection) -> None:
    phone = "+61422333444"
    started = one(own_con, "CALL RequestOwnNumberVerification(?, ?, ?)", ["Front desk", phone, "AU"])
    assert started["Status"] == "PENDING"
    status = "SELECT Status FROM OwnNumbers WHERE PhoneNumber = ?"
    assert own_con.sql(status, [phone]).fetchall() == [("PENDING",)]
    with pytest.raises(clicksend_sql.ClickSendSQLError):
        own_con.sql("CALL VerifyOwnNumber(?, ?, ?, ?)", [started["Id"], "AU", phone, "wrong"])
    verified = one(own_con, "CALL VerifyOwnNumber(?, ?, ?, ?)", [started["Id"], "AU", phone, "123456"])
    assert verified["Status"] == "APPROVED" and verified["RemainingAttempts"] == 2
    assert own_con.sql(status, [phone]).fetchall() == [("APPROVED",)]


def test_global_sending_selection_is_what_user_countries_lists(own_con: clicksend_sql.Connection) -> None:
    listed = own_con.sql("SELECT Id FROM CountryList WHERE Code IN ('AU', 'NZ', 'GB') ORDER BY Id").fetchall()
    ids = [i for (i,) in listed]
    selected = own_con.sql("CALL SelectGlobalSendingCountries(?)", [ids]).arrow().to_pylist()
    assert sorted(r["Id"] for r in selected) == ids
    assert [r[0] for r in own_con.sql("SELECT Id FROM UserCountries ORDER BY Id").fetchall()] == ids
    agreed = own_con.sql("CALL AgreeToCountryRules(?)", [ids[:1]]).arrow().to_pylist()
    assert agreed and {"Id", "Code", "RegistrationStatus"} <= set(agreed[0])


def test_payment_info_and_recharge_packages(own_con: clicksend_sql.Connection, private: Emulator) -> None:
    card = one(own_con, "CALL GetPaymentInfo()", [])
    assert re.fullmatch(r"[X-]+\d{4}", card["DisplayNumber"])  # never the full number
    private.reset_stats()
    updated = one(own_con, "CALL UpdatePaymentInfo(?, ?, ?, ?, ?)", ["4111111111111111", 12, 2030, 123, "Jo Citizen"])
    assert updated["Token"]
    assert private.stats()["by_operation"] == {"PUT /v3/recharge/credit-card": 1}
    packages = json.loads(one(own_con, "CALL GetRechargePackages(?)", ["AU"])["Packages"])
    assert packages and all({"package_id", "package_price"} <= set(p) for p in packages)


def test_sender_rules_registration_and_address_detection(
    own_con: clicksend_sql.Connection, private: Emulator
) -> None:
    types = own_con.sql("CALL GetCompliantSenderTypes(?)", ["SMS"]).arrow().to_pylist()
    assert types and all(re.fullmatch(r"[A-Z]{2}", t["RecipientCountryCode"]) for t in types)
    allowed = [json.loads(t["AllowedSenderTypes"]) for t in types]
    assert all(a["sender_type"] and "allowed_sender_countries" in a for kinds in allowed for a in kinds)
    address = one(own_con, "CALL DetectAddress(?)", ["JVBERi0xLjQK"])  # base64 of a PDF header
    assert {"AddressName", "AddressLine1", "AddressCity", "AddressPostalCode", "AddressCountry"} <= set(address)
    private.reset_stats()
    details = ["John Doe", "Acme", "john@example.com", "https://example.com", "20% off today", "Marketing", "+18005550199"]
    own_con.sql("CALL RegisterNumbers(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ["10DLC", "CA", *details, "416"])
    path = "POST /v3/numbers/registrations/number-types/{number_type}/country/{country_code}"
    assert private.stats()["by_operation"] == {path: 1}
