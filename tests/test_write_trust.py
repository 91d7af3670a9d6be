"""Writes you can trust with money (issue 18): every send counted by the caps and dry runs, every
outcome row true. Each test judges by the emulator's state and request log, read through plain
httpx, never by the outcome rows alone; scripted faults (``Emulator.fault``) make a lost answer
or a failing proxy happen for certain."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ClickSendSQLError, LimitError, UnsupportedStatementError

from conftest import api_client

SENDING = ("POST /v3/sms/send", "POST /v3/sms-campaigns/send", "POST /v3/mms/send", "POST /v3/numbers/buy")


@pytest.fixture(scope="module")
def account() -> Iterator[Emulator]:
    """An account of this module's own: these tests send and change."""
    with Emulator(seed=5, sizes={"contacts": 120, "sms-history": 40}) as emu:
        yield emu


def _connect(account: Emulator, **options: Any) -> Connection:
    return clicksend_sql.connect(account.username, account.api_key, base_url=account.base_url, rate_limit=None, **options)


@pytest.fixture(scope="module")
def wcon(account: Emulator) -> Iterator[Connection]:
    with _connect(account) as con:
        yield con


def _get(account: Emulator, path: str, **params: Any) -> Any:
    with api_client(account) as client:
        response = client.get(path, params=params)
        return response.status_code, response.json()


def _history(account: Emulator, **params: Any) -> list[dict[str, Any]]:
    """Every SMS the emulator holds (its own paginator, walked with plain httpx)."""
    rows, page = [], 1
    while True:
        data = _get(account, "/sms/history", page=page, limit=100, **params)[1]["data"]
        rows += data["data"]
        if data["current_page"] >= data["last_page"]:
            return rows
        page += 1


def _sent(account: Emulator) -> list[str]:
    """The sending or charging requests the emulator served since the last reset."""
    return [r for r in account.requests() if r.startswith(SENDING)]


def _changes(account: Emulator) -> list[str]:
    """Every request since the last reset that could change the account: any POST, PUT, PATCH or
    DELETE but a price quote. What a refused statement or a dry run must leave empty, whichever
    endpoint a send would have used."""
    return [r for r in account.requests()
            if r.startswith(("POST ", "PUT ", "PATCH ", "DELETE ")) and not r.split("?")[0].endswith("/price")]


def _list_size(account: Emulator, list_id: int) -> int:
    return int(_get(account, f"/lists/{list_id}/contacts", limit=1)[1]["data"]["total"])


# --- 1. the caps and dry runs cover every way of sending --------------------------------------

def test_max_messages_counts_each_contact_of_a_list_send(account: Emulator) -> None:
    size = _list_size(account, 1402)
    assert size > 5
    with _connect(account, max_messages=5) as capped:
        account.reset_stats()
        with pytest.raises(LimitError, match=rf"INSERT INTO SMSHistory would send {size} messages; the connection allows 5"):
            capped.sql("INSERT INTO SMSHistory (ListId, Body) VALUES (1402, 'x')")
        assert _changes(account) == []
    with _connect(account, max_messages=size + 1) as roomy:  # the list and one direct message: exactly the cap
        account.reset_stats()
        out = roomy.sql("INSERT INTO SMSHistory (ListId, \"To\", Body) VALUES (1402, NULL, 'cap'), (NULL, '+61411111111', 'cap')")
        assert out.arrow().column("status").to_pylist() == ["ok", "ok"]
        assert _sent(account) == ["POST /v3/sms/send"]
    assert len([m for m in _history(account) if m["body"] == "cap"]) == size + 1  # what the emulator holds: every contact


def test_a_campaign_and_a_call_within_the_caps_are_quoted_then_sent_once(account: Emulator) -> None:
    """Allowed sends, judged by the emulator: the quote comes before the one sending request, and the
    campaign and the message exist there afterwards."""
    with _connect(account, max_messages=10_000, max_cost=10_000) as roomy:
        account.reset_stats()
        roomy.sql("INSERT INTO SMSCampaigns (Name, ListId, \"From\", Body) VALUES ('within', 1404, 'Acme', 'Sale!')")
        assert [r for r in account.requests() if "campaigns" in r and r.startswith("POST ")] == [
            "POST /v3/sms-campaigns/price", "POST /v3/sms-campaigns/send"]
        names = [c["name"] for c in _get(account, "/sms-campaigns", limit=100)[1]["data"]["data"]]
        assert names.count("within") == 1
        account.reset_stats()
        roomy.sql("CALL SendSMS('Acme', 'called within the caps', '+61411119999')")
        posts = [r for r in account.requests() if r.startswith("POST ")]
        assert posts == ["POST /v3/sms/price", "POST /v3/sms/send"]
    assert [m["to"] for m in _history(account) if m["body"] == "called within the caps"] == ["+61411119999"]


@pytest.mark.parametrize("option", [{"max_messages": 5}, {"max_cost": 0.5}])
def test_a_campaign_insert_is_counted_and_priced(account: Emulator, option: dict[str, Any]) -> None:
    with _connect(account, **option) as capped:
        account.reset_stats()
        with pytest.raises(LimitError, match=r"INSERT INTO SMSCampaigns would (send \d+ messages|cost [\d.]+ \(quoted by ClickSend\))"):
            capped.sql("INSERT INTO SMSCampaigns (Name, ListId, \"From\", Body) VALUES ('spring', 1401, 'Acme', 'Sale!')")
        assert _changes(account) == []
        assert ("POST /v3/sms-campaigns/price" in account.requests()) == ("max_cost" in option)


def test_call_obeys_dry_run_and_caps(account: Emulator) -> None:
    call = "CALL SendSMS('Acme', 'Hi', '+61411111111')"
    with _connect(account, dry_run=True, max_messages=0) as dry:
        account.reset_stats()
        plan = dry.sql(call).arrow().to_pylist()
        assert plan[0]["endpoint"] == "POST /v3/sms/send" and plan[0]["messages"] == 1 and plan[0]["quoted_price"]
        dry.sql("CALL CancelAllSMS()")  # a changing call that sends nothing is shown too
        assert _changes(account) == []
    with _connect(account, max_messages=0) as capped:
        account.reset_stats()
        with pytest.raises(LimitError, match=r"CALL SendSMS would send 1 message; the connection allows 0"):
            capped.sql(call)
        with pytest.raises(LimitError, match=r"CALL SendSMSCampaign would send \d+ messages"):
            capped.sql("CALL SendSMSCampaign('Hi', 'Acme', 'spring', 1401)")
        assert _changes(account) == []
    with _connect(account, max_cost=1000) as priced:
        account.reset_stats()
        with pytest.raises(LimitError, match=r"CALL PurchaseDedicatedNumber charges an amount ClickSend does not quote"):
            priced.sql("CALL PurchaseDedicatedNumber('+61400000000')")
        assert _changes(account) == []


def test_a_call_obeys_the_limits_of_an_insert_of_the_same_message(wcon: Connection, account: Emulator) -> None:
    account.reset_stats()
    with pytest.raises(ClickSendSQLError, match=r"Body is 2000 characters; the API accepts at most 1224"):
        wcon.sql("CALL SendSMS('Acme', repeat('x', 2000), '+61411111111')")
    with pytest.raises(ClickSendSQLError, match=r"To = '12' cannot be a phone number"):
        wcon.sql("CALL SendSMS('Acme', 'Hi', '12')")
    assert _changes(account) == []


# --- 2. outcome rows and RETURNING say exactly what happened -----------------------------------

def test_list_and_direct_rows_are_matched_by_identity(wcon: Connection, account: Emulator) -> None:
    """A list row becomes many messages; a refused direct row (China is not enabled on the demo
    account) stays refused, whatever the position of the messages in the answer."""
    size = _list_size(account, 1403)
    out = wcon.sql(
        "INSERT INTO SMSHistory (\"To\", ListId, Body, CustomString) VALUES "
        "('+8613800138000', NULL, 'a', 'mix-1'), (NULL, 1403, 'b', 'mix-2'), ('+61411111111', NULL, 'c', 'mix-3')"
    ).arrow().to_pylist()
    china, listed, direct = out
    assert china["status"] == "error" and china["message_id"] is None and "COUNTRY_NOT_ENABLED" in china["error"]
    assert listed["status"] == "ok" and listed["messages"] == size
    history = {m["custom_string"]: m for m in _history(account) if m["custom_string"] == "mix-3"}
    assert direct["status"] == "ok" and direct["message_id"] == history["mix-3"]["message_id"]
    list_messages = [m for m in _history(account) if m["custom_string"] == "mix-2"]
    assert len(list_messages) == size
    assert abs(float(listed["price"]) - sum(float(m["message_price"]) for m in list_messages)) < 1e-6


def test_a_reused_custom_string_never_settles_a_send_that_did_not_happen(wcon: Connection, account: Emulator) -> None:
    statement = "INSERT INTO SMSHistory (\"To\", Body, CustomString) VALUES ('+61411112222', ?, 'campaign-tag')"
    first = wcon.sql(statement, ["Tag 1"]).arrow().to_pylist()[0]  # bodies differ: ClickSend throttles a repeat
    assert first["status"] == "ok"
    account.fault("POST /v3/sms/send", "fail")  # a proxy answers 500 without forwarding
    failed = wcon.sql(statement, ["Tag 2"]).arrow().to_pylist()[0]
    assert failed["status"] == "error" and failed["message_id"] is None
    assert [m["message_id"] for m in _history(account) if m["custom_string"] == "campaign-tag"] == [first["message_id"]]
    account.fault("POST /v3/sms/send", "lose")  # sent, answer lost: settled with the new message, not the old one
    lost = wcon.sql(statement, ["Tag 3"]).arrow().to_pylist()[0]
    ids = [m["message_id"] for m in _history(account) if m["custom_string"] == "campaign-tag"]
    assert len(ids) == 2 and lost["status"] == "ok" and lost["message_id"] == (set(ids) - {first["message_id"]}).pop()


def test_a_delete_whose_answer_was_lost_is_ok(wcon: Connection, account: Emulator) -> None:
    key = int(wcon.sql("INSERT INTO Contacts (ListId, Email) VALUES (1404, 'gone@example.com')").fetchone()[1])
    account.reset_stats()
    account.fault(f"DELETE /v3/lists/1404/contacts/{key}", "lose")
    out = wcon.sql("DELETE FROM Contacts WHERE ListId = 1404 AND ContactId = ?", [key]).arrow().to_pylist()
    assert [(o["status"], o["api_status"]) for o in out] == [("ok", "already deleted (404)")]
    assert account.requests().count(f"DELETE /v3/lists/1404/contacts/{key}") == 2  # retried once, found gone
    assert _get(account, f"/lists/1404/contacts/{key}")[0] == 404


def test_delete_using_a_repeated_key_deletes_once(wcon: Connection, account: Emulator) -> None:
    key = int(wcon.sql("INSERT INTO Contacts (ListId, Email) VALUES (1404, 'twice@example.com')").fetchone()[1])
    wcon.duckdb.execute(f"CREATE OR REPLACE TABLE doomed AS SELECT {key} AS id FROM range(3)")
    account.reset_stats()
    out = wcon.sql("DELETE FROM Contacts USING doomed WHERE Contacts.ContactId = doomed.id AND Contacts.ListId = 1404")
    assert [(o["key"], o["status"]) for o in out.arrow().to_pylist()] == [(str(key), "ok")]
    assert [r for r in account.requests() if r.startswith("DELETE ")] == [f"DELETE /v3/lists/1404/contacts/{key}"]


def test_update_set_null_clears_text_and_refuses_other_types(wcon: Connection, account: Emulator) -> None:
    key = int(wcon.sql("INSERT INTO Contacts (ListId, PhoneNumber, Email, Custom1) VALUES "
                       "(1405, '+61411113333', 'erase@example.com', 'vip')").fetchone()[1])
    out = wcon.sql("UPDATE Contacts SET Email = NULL, Custom1 = NULL WHERE ListId = 1405 AND ContactId = ?", [key])
    assert out.arrow().column("status").to_pylist() == ["ok"]
    contact = _get(account, f"/lists/1405/contacts/{key}")[1]["data"]
    assert contact["email"] == "" and contact["custom_1"] == "" and contact["phone_number"] == "+61411113333"
    campaign = wcon.sql("SELECT SmsCampaignId FROM SMSCampaigns LIMIT 1").fetchone()[0]
    account.reset_stats()
    with pytest.raises(ClickSendSQLError, match=r"Schedule = NULL cannot be written; ClickSend clears only text fields"):
        wcon.sql("UPDATE SMSCampaigns SET Schedule = NULL WHERE SmsCampaignId = ?", [campaign])
    assert not [r for r in account.requests() if r.startswith("PUT ")]


def test_returning_gives_exactly_the_written_rows(wcon: Connection, account: Emulator) -> None:
    rows = wcon.sql(
        "INSERT INTO SMSHistory (\"To\", Body, CustomString) VALUES ('+8613800138000', 'x', 'ret-1'), ('+61411114444', 'y', 'ret-2') "
        "RETURNING MessageId, CustomString"
    ).fetchall()
    sent = {m["custom_string"]: m["message_id"] for m in _history(account) if m["custom_string"].startswith("ret-")}
    assert rows == [(sent["ret-2"], "ret-2")] and "ret-1" not in sent  # China refused: no row, and not in the history
    account.fault("POST /v3/sms/send", "lose")
    settled = wcon.sql("INSERT INTO SMSHistory (\"To\", Body, CustomString) VALUES ('+61411115555', 'z', 'ret-3') "
                       "RETURNING MessageId").fetchall()
    assert settled == [(m["message_id"],) for m in _history(account) if m["custom_string"] == "ret-3"]
    account.fault("POST /v3/lists", "lose")  # a list is created, its answer lost, and no history can settle it
    with pytest.raises(ClickSendSQLError, match=r"the answer for row\(s\) 1 was lost"):
        wcon.sql("INSERT INTO ContactLists (ListName) VALUES ('lost-answer') RETURNING ListId")
    assert any(r["list_name"] == "lost-answer" for r in _get(account, "/lists", limit=100)[1]["data"]["data"])


# --- 3. two writers at once --------------------------------------------------------------------

def _at_once(account: Emulator, statement: str) -> list[list[str]]:
    """Run ``statement`` on two connections at the same moment; each one's statuses."""
    results: list[list[str]] = [[], []]
    start = threading.Barrier(2)

    def run(slot: int) -> None:
        with _connect(account) as con:
            start.wait()
            results[slot] = con.sql(statement).arrow().column("status").to_pylist()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_two_upserts_at_once_create_each_contact_once(account: Emulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the account's lock file lives here
    statement = ("INSERT INTO Contacts (ListId, Email, FirstName) SELECT 1406, 'twin' || i || '@example.com', 'Twin' "
                 "FROM range(40) t(i) ON CONFLICT (Email) DO UPDATE SET FirstName = excluded.FirstName")
    first, second = _at_once(account, statement)
    assert first.count("ok") == second.count("ok") == 40
    emails = [c["email"] for c in _get(account, "/lists/1406/contacts", limit=1000)[1]["data"]["data"]]
    assert sorted(e for e in emails if e.startswith("twin")) == sorted(f"twin{i}@example.com" for i in range(40))


def test_two_deduplicated_sends_at_once_send_each_message_once(account: Emulator, tmp_path: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    statement = ("INSERT INTO SMSHistory (\"To\", Body, CustomString) SELECT '+6141111' || lpad(i::VARCHAR, 4, '0'), 'cron', "
                 "'cron-' || i FROM range(20) t(i) ON CONFLICT (CustomString) DO NOTHING")
    first, second = _at_once(account, statement)
    assert sorted([first.count("ok"), second.count("ok")]) == [0, 20] and first.count("skipped") + second.count("skipped") == 20
    assert len([m for m in _history(account) if m["custom_string"].startswith("cron-")]) == 20


# --- 4. also -------------------------------------------------------------------------------------

def test_an_impossible_number_is_refused_or_skipped(account: Emulator, wcon: Connection) -> None:
    statement = "INSERT INTO SMSHistory (\"To\", Body, CustomString) VALUES ('+61411116666', 'ok', 'imp-1'), ('12', 'bad', 'imp-2')"
    account.reset_stats()
    with pytest.raises(ClickSendSQLError, match=r"row 2: To = '12' cannot be a phone number"):
        wcon.sql(statement)
    assert _changes(account) == []
    with _connect(account, invalid_rows="skip") as skipping:
        out = skipping.sql(statement).arrow().to_pylist()
    assert [(o["row"], o["status"]) for o in out] == [(1, "ok"), (2, "skipped")] and "cannot be a phone number" in out[1]["error"]
    assert [m["custom_string"] for m in _history(account) if m["custom_string"].startswith("imp-")] == ["imp-1"]


def test_a_clicksend_write_inside_a_transaction_is_refused(wcon: Connection, account: Emulator) -> None:
    account.reset_stats()
    wcon.sql("BEGIN TRANSACTION")
    try:
        with pytest.raises(UnsupportedStatementError, match=r"ClickSend changes are not transactional"):
            wcon.sql("INSERT INTO SMSHistory (\"To\", Body) VALUES ('+61411111111', 'in a transaction')")
        with pytest.raises(UnsupportedStatementError, match=r"CALL SendSMS inside a transaction is refused"):
            wcon.sql("CALL SendSMS('Acme', 'Hi', '+61411111111')")
    finally:
        wcon.sql("ROLLBACK")
    assert _changes(account) == []


def test_the_cli_exits_3_when_a_write_row_failed(account: Emulator) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "CLICKSEND_USERNAME": account.username, "CLICKSEND_API_KEY": account.api_key,
           "CLICKSEND_BASE_URL": account.base_url}
    run = subprocess.run([str(Path(sys.executable).with_name("clicksend-sql")), "query", "--format", "csv",
                          "INSERT INTO SMSHistory (\"To\", Body) VALUES ('+8613800138000', 'x'), ('+61411117777', 'y')"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 3, run.stderr
    assert "1 row(s) of a write were not written" in run.stderr and account.api_key not in run.stdout + run.stderr
    assert "COUNTRY_NOT_ENABLED" in run.stdout


def test_changing_a_campaign_s_list_is_counted_as_a_send_to_it(account: Emulator) -> None:
    """Review finding: an UPDATE pointing a campaign at another list was not counted by the caps."""
    campaign = 801
    with _connect(account, max_messages=0) as capped:
        account.reset_stats()
        with pytest.raises(LimitError, match=r"UPDATE SMSCampaigns would send \d+ messages"):
            capped.sql("UPDATE SMSCampaigns SET ListId = 1401 WHERE SmsCampaignId = ?", [campaign])
        capped.sql("UPDATE SMSCampaigns SET Name = 'renamed' WHERE SmsCampaignId = ?", [campaign])  # sends nothing
        assert [r for r in account.requests() if r.startswith("PUT ")] == [f"PUT /v3/sms-campaigns/{campaign}"]


def test_do_update_on_a_table_without_update_is_refused_before_anything(wcon: Connection, account: Emulator) -> None:
    account.reset_stats()
    for statement in ("INSERT INTO SMSHistory (\"To\", Body, CustomString) VALUES ('+61411111111', 'hi', 'x') "
                      "ON CONFLICT (CustomString) DO UPDATE SET Body = excluded.Body",
                      "INSERT OR REPLACE INTO SMSHistory (\"To\", Body, CustomString) VALUES ('+61411111111', 'hi', 'x')"):
        with pytest.raises(ClickSendSQLError, match=r"SMSHistory rows cannot be changed once written .* DO NOTHING"):
            wcon.sql(statement)
    assert account.requests() == []


def test_explain_names_the_statement_s_input_rows_after_skipped_ones(account: Emulator) -> None:
    with _connect(account, dry_run=True, invalid_rows="skip") as dry:
        plan = dry.sql("INSERT INTO SMSHistory (\"To\", Body) VALUES ('12', 'a'), ('+61411111111', 'b')").arrow().to_pylist()
    assert [(p["rows"], p["first_row"]) for p in plan] == [(1, 2)]


def test_an_international_00_prefix_is_possible_without_a_default_country() -> None:
    from clicksend_sql.phones import impossible

    assert impossible("0061411111111", None) is None and impossible("00", None) is not None


def test_the_account_lock_works_without_a_writable_cache_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from clicksend_sql.account_lock import account_lock
    from clicksend_sql.config import Settings

    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache directory would be", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    with account_lock(Settings("demo", "key", "http://127.0.0.1:1/v3"), wait=5):
        pass


def test_dry_run_sends_nothing_by_any_way_and_counts_every_contact(account: Emulator) -> None:
    """Under dry_run, a list send, a campaign INSERT and a campaign CALL show their messages (a
    list's every contact, as the emulator holds them) and the request log shows no sending request."""
    size = _list_size(account, 1402)
    with _connect(account, dry_run=True) as dry:
        account.reset_stats()
        listed = dry.sql("INSERT INTO SMSHistory (ListId, Body) VALUES (1402, 'x')").arrow().to_pylist()
        campaign = dry.sql("INSERT INTO SMSCampaigns (Name, ListId, \"From\", Body) VALUES ('c', 1402, 'Acme', 'x')").arrow().to_pylist()
        called = dry.sql("CALL SendSMSCampaign('x', 'Acme', 'c', 1402)").arrow().to_pylist()
    assert [listed[0]["messages"], campaign[0]["messages"], called[0]["messages"]] == [size, size, size]
    assert _changes(account) == []
