"""Every procedure no other test calls, CALLed against an emulator of this module's own (these change
its state), and the state afterwards (or the answer's substance) checked through SQL reads or plain
httpx: quotes send nothing, cancels turn Scheduled into Cancelled and refund, reads empty the unread
lists, contact operations move or remove exactly the contacts they name, sends and purchases leave a
row and a charge. Five procedures reach operations that only the legacy v5 spec has; the emulator
serves the current spec, so for those the test pins the clean "not found" and that nothing changed.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator

from conftest import api_client, open_connection

FUTURE = int(time.time()) + 7 * 86_400
TO = "+61400000123"  # a billable AU mobile
PDF = "https://example.com/letter.pdf"
BODIES = itertools.count()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=23, sizes={"sms-history": 30, "contacts": 60, "lists": 3, "inbound-sms": 12}) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def con(emu: Emulator) -> Iterator[Connection]:
    with open_connection(emu) as connection:
        yield connection


@pytest.fixture(scope="module")
def raw(emu: Emulator) -> Iterator[httpx.Client]:
    with api_client(emu) as client:
        yield client


def rows(con: Connection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    return con.sql(sql, params).arrow().to_pylist()


def one(con: Connection, sql: str, params: Any = None) -> dict[str, Any]:
    (row,) = rows(con, sql, params)
    return row


def scalar(con: Connection, sql: str, params: Any = None) -> Any:
    return con.sql(sql, params).fetchone()[0]


def balance(con: Connection) -> Decimal:
    return Decimal(str(scalar(con, "SELECT Balance FROM Accounts")))


def lists(con: Connection) -> list[int]:
    return [r[0] for r in con.sql("SELECT ListId FROM ContactLists ORDER BY ListId").fetchall()]


def contact_ids(con: Connection, list_id: int) -> set[int]:
    return {r[0] for r in con.sql("SELECT ContactId FROM Contacts WHERE ListId = ?", [list_id]).fetchall()}


# --- quotes and exports: an answer, and nothing recorded or charged -----------------------------


@pytest.mark.parametrize(
    ("sql", "args", "history"),
    [
        ("CALL CalculateSMSPrice(?, ?, ?)", ["Acme", "Quote me", TO], "SMSHistory"),
        ("CALL CalculateMMSPrice(?, ?, ?, ?)", [TO, "Sale", "Quote me", "https://example.com/a.jpg"], "MMSHistory"),
        ("CALL CalculateVoicePrice(?, ?, ?)", ["Quote me", TO, "female"], "VoiceHistory"),
    ],
    ids=["sms", "mms", "voice"],
)
def test_price_calculators_quote_without_sending(con: Connection, sql: str, args: list[Any], history: str) -> None:
    before = (balance(con), scalar(con, f"SELECT count(*) FROM {history}"))
    quote = one(con, sql, args)
    assert quote["Status"] == "SUCCESS" and quote["To"] == TO and quote["MessagePrice"] > 0
    assert (balance(con), scalar(con, f"SELECT count(*) FROM {history}")) == before
    assert scalar(con, f"SELECT count(*) FROM {history} WHERE MessageId = ?", [quote["MessageId"]]) == 0


@pytest.mark.parametrize("channel", ["SMS", "MMS", "Voice"])
def test_history_exports_answer_a_download_url(con: Connection, emu: Emulator, channel: str) -> None:
    emu.reset_stats()
    url = one(con, f"CALL Export{channel}History(?, date_from := ?)", [f"{channel}.csv", 1_600_000_000])["Url"]
    assert url.startswith("https://") and url.endswith(f"filename={channel}.csv")
    (line,) = emu.requests()
    assert line.startswith(f"GET /v3/{channel.lower()}/history/export?") and "date_from=1600000000" in line


# --- cancelling what is scheduled ----------------------------------------------------------------


def schedule(con: Connection, history: str) -> tuple[str, Decimal]:
    """A message scheduled a week ahead through INSERT; (its id, its price)."""
    columns, values = ('"To", Body, Voice, Schedule', "?, ?, 'female', ?") if history == "VoiceHistory" else (
        '"To", Body, Schedule', "?, ?, ?")
    body = f"later {next(BODIES)}"  # distinct: the same body to the same number again soon is THROTTLED
    (out,) = rows(con, f"INSERT INTO {history} ({columns}) VALUES ({values})", [TO, body, str(FUTURE)])
    assert out["status"] == "ok", out
    assert scalar(con, f"SELECT Status FROM {history} WHERE MessageId = ?", [out["key"]]) == "Scheduled"
    return out["key"], out["price"]


def test_cancel_voice_message_cancels_it_and_refunds(con: Connection) -> None:
    start = balance(con)
    message_id, price = schedule(con, "VoiceHistory")
    assert price > 0 and balance(con) == start - price
    con.sql("CALL CancelVoiceMessage(?)", [message_id])
    assert scalar(con, "SELECT Status FROM VoiceHistory WHERE MessageId = ?", [message_id]) == "Cancelled"
    assert balance(con) == start
    with pytest.raises(clicksend_sql.ClickSendSQLError, match="Only scheduled messages"):
        con.sql("CALL CancelVoiceMessage(?)", [message_id])


@pytest.mark.parametrize(("proc", "history"), [("CancelAllSMS", "SMSHistory"), ("CancelAllVoiceMessages", "VoiceHistory")])
def test_cancel_all_leaves_nothing_scheduled(con: Connection, proc: str, history: str) -> None:
    mine = [schedule(con, history)[0] for _ in range(2)]
    scheduled = scalar(con, f"SELECT count(*) FROM {history} WHERE Status = 'Scheduled'")
    assert one(con, f"CALL {proc}()") == {"Count": scheduled}
    assert scalar(con, f"SELECT count(*) FROM {history} WHERE Status = 'Scheduled'") == 0
    statuses = con.sql(f"SELECT DISTINCT Status FROM {history} WHERE MessageId IN (?, ?)", mine).fetchall()
    assert statuses == [("Cancelled",)]


@pytest.mark.parametrize(("kind", "proc", "history"), [("letters", "CancelScheduledLetter", "LettersHistory"),
                                                       ("postcards", "CancelScheduledPostcard", "PostcardsHistory")])
def test_cancel_scheduled_post_cancels_it_and_refunds(
    con: Connection, raw: httpx.Client, kind: str, proc: str, history: str
) -> None:
    address = {"address_name": "Jo Citizen", "address_line_1": "1 George St", "address_city": "Sydney",
               "address_state": "NSW", "address_postal_code": "2000", "address_country": "AU",
               "return_address_id": scalar(con, "SELECT min(ReturnAddressId) FROM ReturnAddresses"), "schedule": FUTURE}
    files = {"file_url": PDF} if kind == "letters" else {"file_urls": [PDF, PDF]}
    start = balance(con)
    sent = raw.post(f"/post/{kind}/send", json={**files, "recipients": [address]})
    sent.raise_for_status()
    message_id = sent.json()["data"]["recipients"][0]["message_id"]
    assert balance(con) < start
    status = f"SELECT Status FROM {history} WHERE MessageId = ?"
    assert scalar(con, status, [message_id]) == "Scheduled"
    con.sql(f"CALL {proc}(?)", [message_id])
    assert scalar(con, status, [message_id]) == "Cancelled"
    assert balance(con) == start


def scheduled_campaign(con: Connection, kind: str) -> int:
    """A campaign to the first list, scheduled a week ahead; its id."""
    list_id = lists(con)[0]
    if kind == "SMS":  # through the procedure under test
        row = one(con, "CALL SendSMSCampaign(?, ?, ?, ?, ?)", ["Spring sale", "Acme", "Spring", list_id, FUTURE])
        return row["SmsCampaignId"]
    if kind == "MMS":  # Schedule is a TIMESTAMPTZ column here, a Unix-seconds VARCHAR in EmailCampaigns
        sql = ("INSERT INTO MMSCampaigns (ListId, Name, Body, \"From\", Subject, MediaFile, Schedule) "
               "VALUES (?, 'Spring', 'Sale', 'Acme', 'New', 'https://example.com/a.jpg', to_timestamp(?))")
    else:
        sql = ("INSERT INTO EmailCampaigns (ListId, Name, Subject, Body, FromEmailAddressId, FromName, TemplateId, Schedule) "
               "VALUES (?, 'Spring', 'News', '<p>Sale</p>', 1, 'Acme', 0, ?)")
    (out,) = rows(con, sql, [list_id, FUTURE if kind == "MMS" else str(FUTURE)])
    assert out["status"] == "ok", out
    # by name: INSERT INTO EmailCampaigns reports no key (the send answer nests the campaign in data.data)
    return scalar(con, f"SELECT max({kind.capitalize()}CampaignId) FROM {kind}Campaigns WHERE Name = 'Spring'")


@pytest.mark.parametrize("kind", ["SMS", "MMS", "Email"])
def test_cancel_campaign_cancels_a_scheduled_one(con: Connection, kind: str) -> None:
    campaign = scheduled_campaign(con, kind)
    status = f"SELECT Status FROM {kind}Campaigns WHERE {kind.capitalize()}CampaignId = ?"
    assert scalar(con, status, [campaign]) == "Scheduled"
    con.sql(f"CALL Cancel{kind}Campaign(?)", [campaign])
    assert scalar(con, status, [campaign]) == "Cancelled"
    with pytest.raises(clicksend_sql.ClickSendSQLError, match="Only scheduled campaigns"):
        con.sql(f"CALL Cancel{kind}Campaign(?)", [campaign])


# --- sends that leave a row and a charge ---------------------------------------------------------


def test_send_sms_campaign_records_the_campaign_and_a_message_per_contact(con: Connection) -> None:
    list_id = lists(con)[1]
    phones = scalar(con, "SELECT count(*) FROM Contacts WHERE PhoneNumber <> '' AND ListId = ?", [list_id])
    start = balance(con)
    row = one(con, "CALL SendSMSCampaign(?, ?, ?, ?)", ["Flash sale today", "Acme", "Flash", list_id])
    assert row["Status"] == "Sent" and row["ListId"] == list_id and row["TotalCount"] == phones > 0
    listed = one(con, "SELECT Name, Body, Status FROM SMSCampaigns WHERE SmsCampaignId = ?", [row["SmsCampaignId"]])
    assert listed == {"Name": "Flash", "Body": "Flash sale today", "Status": "Sent"}
    sent = one(con, "SELECT count(*) AS n, sum(MessagePrice) AS price FROM SMSHistory WHERE Body = 'Flash sale today'")
    assert sent["n"] == phones and balance(con) == start - sent["price"] and sent["price"] > 0


def test_send_fax_records_history_and_charges(con: Connection) -> None:
    start = balance(con)
    fax = one(con, "CALL SendFax(?, ?, ?)", ["+61298765432", "fax-each", PDF])
    assert fax["Status"] == "SUCCESS" and fax["MessagePrice"] > 0
    listed = one(con, "SELECT \"To\", CustomString FROM FaxHistory WHERE MessageId = ?", [fax["MessageId"]])
    assert listed == {"To": "+61298765432", "CustomString": "fax-each"}
    assert balance(con) == start - fax["MessagePrice"]


def test_allowed_email_address_is_verified_then_sends(con: Connection, emu: Emulator) -> None:
    (out,) = rows(con, "INSERT INTO EmailAddresses (EmailAddress) VALUES ('news@example.com')")
    address = int(out["key"])
    verified = "SELECT Verified FROM EmailAddresses WHERE EmailAddressId = ?"
    send = "CALL SendEmail(?, ?, ?, ?, to_name := 'Jo')"
    with pytest.raises(clicksend_sql.ClickSendSQLError, match="allowed, verified address"):
        con.sql(send, ["jo@example.com", address, "Hi", "<p>Hello</p>"])
    emu.reset_stats()
    con.sql("CALL SendEmailVerificationToken(?)", [address])  # the token goes by email: nothing else changes
    assert emu.requests() == [f"PUT /v3/email/address-verify/{address}/send"] and scalar(con, verified, [address]) is False
    assert one(con, "CALL VerifyAllowedEmailAddress(?, ?)", [address, "123456"])["Verified"] == 1
    assert scalar(con, verified, [address]) is True
    start = balance(con)
    mail = one(con, send, ["jo@example.com", address, "Hi", "<p>Hello</p>"])
    listed = one(con, "SELECT Subject, FromEmailAddressId, Price FROM TransactionalEmailHistory WHERE MessageId = ?",
                 [mail["MessageId"]])
    assert listed == {"Subject": "Hi", "FromEmailAddressId": address, "Price": Decimal("0.005")}
    assert balance(con) == start - Decimal("0.005")


def test_purchase_dedicated_number_adds_it_and_charges_its_price(con: Connection) -> None:
    offer = one(con, "SELECT DedicatedNumber, PriceTotal FROM AvailableNumbers WHERE Country = 'AU' LIMIT 1")
    number = offer["DedicatedNumber"]
    assert scalar(con, "SELECT count(*) FROM Numbers WHERE DedicatedNumber = ?", [number]) == 0
    start = balance(con)
    bought = one(con, "CALL PurchaseDedicatedNumber(?)", [number])
    assert bought["DedicatedNumber"] == number and Decimal(bought["PriceTotal"]) == offer["PriceTotal"]
    assert one(con, "SELECT Country, Type FROM Numbers WHERE DedicatedNumber = ?", [number]) == {"Country": "AU", "Type": "SMS"}
    assert balance(con) == start - offer["PriceTotal"]
    with pytest.raises(clicksend_sql.ClickSendSQLError, match="already own"):
        con.sql("CALL PurchaseDedicatedNumber(?)", [number])


# --- receipts and inbound read -------------------------------------------------------------------


def test_marking_inbound_sms_read_empties_the_unread_list(con: Connection) -> None:
    unread = rows(con, "SELECT MessageId, Timestamp FROM InboundSMS ORDER BY Timestamp, MessageId")
    assert len(unread) >= 3
    con.sql("CALL MarkSpecificInboundSMSAsRead(?)", [unread[-1]["MessageId"]])
    remaining = [r["MessageId"] for r in rows(con, "SELECT MessageId FROM InboundSMS ORDER BY Timestamp, MessageId")]
    assert remaining == [r["MessageId"] for r in unread[:-1]]
    cutoff = int(unread[0]["Timestamp"].timestamp())  # only the oldest (and any of its second)
    con.sql("CALL MarkInboundSMSAsRead(?)", [cutoff])
    newer = [r["MessageId"] for r in unread[:-1] if int(r["Timestamp"].timestamp()) > cutoff]
    assert [r[0] for r in con.sql("SELECT MessageId FROM InboundSMS ORDER BY Timestamp, MessageId").fetchall()] == newer
    con.sql("CALL MarkInboundSMSAsRead()")
    assert scalar(con, "SELECT count(*) FROM InboundSMS") == 0


# --- contacts and lists --------------------------------------------------------------------------


def test_transfer_contact_moves_it_keeping_its_id(con: Connection) -> None:
    source, target = lists(con)[:2]
    contact = min(contact_ids(con, source))
    moved = one(con, "CALL TransferContactToList(?, ?, ?)", [source, contact, target])
    assert moved["ContactId"] == contact and moved["ListId"] == target
    assert contact not in contact_ids(con, source) and contact in contact_ids(con, target)


def add_contacts(con: Connection, list_id: int, people: list[tuple[str, str]]) -> list[int]:
    """(phone, first name) contacts added to a list; their ids."""
    values = ", ".join("(?, ?, ?)" for _ in people)
    out = rows(con, f"INSERT INTO Contacts (ListId, PhoneNumber, FirstName) VALUES {values}",
               [v for phone, name in people for v in (list_id, phone, name)])
    assert {o["status"] for o in out} == {"ok"}
    return [int(o["key"]) for o in out]


def test_remove_duplicate_contacts_leaves_one_of_each(con: Connection) -> None:
    list_id = lists(con)[2]
    add_contacts(con, list_id, [("+61411222333", "Dup"), ("+61411222333", "Dup"), ("+61411222333", "Dup")])
    duplicates = """SELECT count(*) FROM (SELECT 1 FROM Contacts WHERE ListId = ?
                    GROUP BY PhoneNumber, Email, FaxNumber HAVING count(*) > 1)"""
    before = len(contact_ids(con, list_id))
    assert scalar(con, duplicates, [list_id]) >= 1
    deleted = one(con, "CALL RemoveDuplicateContacts(?)", [list_id])["Deleted"]
    assert deleted >= 2 and scalar(con, duplicates, [list_id]) == 0
    assert len(contact_ids(con, list_id)) == before - deleted
    assert scalar(con, "SELECT count(*) FROM Contacts WHERE ListId = ? AND PhoneNumber = '+61411222333'", [list_id]) == 1


def test_remove_opted_out_contacts_removes_exactly_those(con: Connection) -> None:
    target, opt_out = lists(con)[0], lists(con)[1]
    (keep, gone) = add_contacts(con, target, [("+61411555001", "Keep"), ("+61411555002", "Gone")])
    add_contacts(con, opt_out, [("+61411555002", "Stop")])
    blocked = {r[0] for r in con.sql("SELECT PhoneNumber FROM Contacts WHERE ListId = ?", [opt_out]).fetchall()}
    doomed = {r[0] for r in con.sql("SELECT ContactId FROM Contacts WHERE ListId = ? AND PhoneNumber IN (SELECT unnest(?))",
                                    [target, sorted(blocked)]).fetchall()}
    before = contact_ids(con, target)
    assert gone in doomed and keep not in doomed
    assert one(con, "CALL RemoveOptedOutContacts(?, ?)", [target, opt_out]) == {"Deleted": len(doomed)}
    assert contact_ids(con, target) == before - doomed


def test_search_contact_lists_finds_contacts_and_lists(con: Connection) -> None:
    list_id = lists(con)[2]
    (found,) = add_contacts(con, list_id, [("+61411777888", "Zebedee")])
    hits = rows(con, "CALL SearchContactLists(?)", ["zebedee"])
    assert [(h["Id"], h["Type"], h["Contact"]) for h in hits] == [(found, "contact", "+61411777888")]
    name = scalar(con, "SELECT ListName FROM ContactLists WHERE ListId = ?", [list_id])
    by_list = [h for h in rows(con, "CALL SearchContactLists(?)", [name]) if h["Type"] == "list"]
    assert {"Id": list_id, "Name": name, "ContactsCount": len(contact_ids(con, list_id))}.items() <= by_list[0].items()


def test_import_contacts_is_queued(con: Connection, emu: Emulator) -> None:
    """The emulator models the import as the spec's answer (queued); the list is unchanged meanwhile."""
    list_id = lists(con)[0]
    before = contact_ids(con, list_id)
    emu.reset_stats()
    queued = one(con, "CALL ImportContacts(?, ?, ?)", [list_id, "https://example.com/people.csv", "phone_number,first_name"])
    assert queued["Msg"] == "Messages put on queue." and queued["Id"]
    assert emu.requests() == [f"POST /v3/lists/{list_id}/import"] and contact_ids(con, list_id) == before


def test_upload_file_answers_a_file_url(con: Connection, emu: Emulator) -> None:
    """The emulator answers the spec's example upload (it stores nothing); the query carries convert."""
    emu.reset_stats()
    upload = one(con, "CALL UploadFile(?, ?)", ["fax", "JVBERi0xLjQK"])
    assert upload["Url"].startswith("https://") and upload["FileName"]
    assert emu.requests() == ["POST /v3/uploads?convert=fax"]


# --- account -------------------------------------------------------------------------------------


def test_generate_new_api_key_replaces_the_subaccounts_key(con: Connection, emu: Emulator) -> None:
    sub = one(con, "SELECT SubaccountId, ApiUsername, ApiKey FROM Subaccounts ORDER BY SubaccountId LIMIT 1")

    def status_with(key: str) -> int:
        return httpx.get(emu.base_url + "/account", auth=(sub["ApiUsername"], key), timeout=10).status_code

    assert status_with(sub["ApiKey"]) == 200
    new_key = one(con, "CALL GenerateNewAPIKey(?)", [sub["SubaccountId"]])["ApiKey"]
    assert new_key != sub["ApiKey"]
    assert scalar(con, "SELECT ApiKey FROM Subaccounts WHERE SubaccountId = ?", [sub["SubaccountId"]]) == new_key
    assert (status_with(sub["ApiKey"]), status_with(new_key)) == (401, 200)


@pytest.mark.parametrize(("proc", "value", "path"), [("ForgotUsername", "jo@example.com", "/forgot-username"),
                                                     ("ForgotPassword", "demo", "/forgot-password")])
def test_forgot_username_and_password_need_no_credentials(emu: Emulator, proc: str, value: str, path: str) -> None:
    """Without credentials (a wrong key here) the call still succeeds; the account is unchanged."""
    with clicksend_sql.connect(emu.username, "WRONG-KEY", base_url=emu.base_url, rate_limit=None) as anonymous:
        emu.reset_stats()
        assert anonymous.sql(f"CALL {proc}(?)", [value]).fetchall() == []
        assert emu.requests() == [f"PUT /v3{path}"]
        with pytest.raises(clicksend_sql.ClickSendSQLError):
            anonymous.sql("SELECT Balance FROM Accounts").fetchall()


# --- operations only the legacy v5 spec has ------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "args", "request_line", "unchanged"),
    [
        ("CALL SendAccountVerification(?, ?, ?)", ["AU", "+61411111111", "sms"], "PUT /v3/account-verify/send", None),
        ("CALL VerifyAccount(?)", [123456], "PUT /v3/account-verify/verify/123456", None),
        ("CALL VerifyForgotPassword(?, ?, ?)", [1, "123456", "Secret-123!"], "PUT /v3/forgot-password/verify", None),
        ("CALL MarkFaxReceiptsAsRead()", [], "PUT /v3/fax/receipts-read", "FaxReceipts"),
        ("CALL MarkVoiceReceiptsAsRead(?)", [FUTURE], "PUT /v3/voice/receipts-read", "VoiceReceipts"),
    ],
    ids=["SendAccountVerification", "VerifyAccount", "VerifyForgotPassword", "MarkFaxReceiptsAsRead",
         "MarkVoiceReceiptsAsRead"],
)
def test_legacy_only_operations_fail_cleanly_and_change_nothing(
    con: Connection, emu: Emulator, sql: str, args: list[Any], request_line: str, unchanged: str | None
) -> None:
    count = f"SELECT count(*) FROM {unchanged}" if unchanged else "SELECT Balance FROM Accounts"
    before = scalar(con, count)
    emu.reset_stats()
    with pytest.raises(clicksend_sql.ClickSendSQLError, match="was not found"):
        con.sql(sql, args)
    assert emu.requests() == [request_line]  # one request, not retried, no 5xx
    assert scalar(con, count) == before
