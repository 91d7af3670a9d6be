"""Sends and their aftermath: prices, balance, history, receipts, schedule/cancel, inbound, campaigns."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from clicksend_sql.emulator import Emulator

from conftest import ok


@pytest.fixture()
def client() -> Iterator[httpx.Client]:
    """A fresh account per test: sends change the balance and history."""
    with Emulator(seed=7, sizes={"contacts": 40, "lists": 2}) as emu, \
            httpx.Client(base_url=emu.base_url, auth=(emu.username, emu.api_key)) as c:
        yield c


def balance(client: httpx.Client) -> Decimal:
    return Decimal(ok(client.get("/account"))["balance"])


def history_total(client: httpx.Client, path: str = "/sms/history") -> int:
    return ok(client.get(path))["total"]


def test_sms_send_prices_charges_and_records(client: httpx.Client) -> None:
    before, rows_before = balance(client), history_total(client)
    receipts_before = ok(client.get("/sms/receipts"))["total"]
    long_body = "x" * 200  # two GSM parts
    r = client.post("/sms/send", json={"messages": [
        {"to": "+61412345678", "body": "Hello", "from": "Acme", "custom_string": "a1"},
        {"to": "+61412345679", "body": long_body},
        {"to": "+61411111111", "body": "test number"},
        {"to": "not a number", "body": "nope"},
    ]})
    assert r.json()["response_msg"] == "Messages queued for delivery."
    data = ok(r)
    statuses = [m["status"] for m in data["messages"]]
    assert statuses == ["SUCCESS", "SUCCESS", "SUCCESS", "INVALID_RECIPIENT"]
    assert (data["total_count"], data["queued_count"]) == (4, 3)
    first, second, test = data["messages"][:3]
    assert first["message_price"] == "0.0792" and second["message_parts"] == 2 and second["message_price"] == "0.1584"
    assert test["message_price"] == "0.0000"
    assert isinstance(data["total_price"], float) and Decimal(str(data["total_price"])) == Decimal("0.2376")
    assert all(m["message_id"] == m["message_id"].upper() and len(m["message_id"]) == 36 for m in data["messages"])
    assert first["schedule"] == first["date"]
    assert balance(client) == before - Decimal("0.2376")
    assert history_total(client) == rows_before + 3
    receipts = ok(client.get("/sms/receipts", params={"order_by": "timestamp:desc"}))
    assert receipts["total"] == receipts_before + 2  # the test number gets no receipt
    assert {first["message_id"], second["message_id"]} <= {x["message_id"] for x in receipts["data"]}
    assert ok(client.get(f"/sms/receipts/{first['message_id']}"))["custom_string"] == "a1"


def test_price_does_not_send(client: httpx.Client) -> None:
    before, rows = balance(client), history_total(client)
    data = ok(client.post("/sms/price", json={"messages": [{"to": "+61412345678", "body": "Hi"}]}))
    assert data["total_price"] == pytest.approx(0.0792)
    assert balance(client) == before and history_total(client) == rows


def test_unicode_parts(client: httpx.Client) -> None:
    data = ok(client.post("/sms/price", json={"messages": [{"to": "+61412345678", "body": "☕" * 71}]}))
    assert data["messages"][0]["message_parts"] == 2


def test_more_than_1000_messages_is_400(client: httpx.Client) -> None:
    r = client.post("/sms/send", json={"messages": [{"to": "+61411111111", "body": "x"}] * 1001})
    assert r.status_code == 400 and "messages" in r.json()["data"]


def test_send_to_a_list_expands_contacts(client: httpx.Client) -> None:
    lst = ok(client.get("/lists"))["data"][0]
    data = ok(client.post("/sms/send", json={"messages": [{"list_id": lst["list_id"], "body": "Hi all"}]}))
    assert data["total_count"] == lst["_contacts_count"] > 0
    assert {m["list_id"] for m in data["messages"]} == {str(lst["list_id"])}


def test_schedule_then_cancel_refunds(client: httpx.Client) -> None:
    before = balance(client)
    later = int(time.time()) + 3600
    msg = ok(client.post("/sms/send", json={"messages": [{"to": "+61412345678", "body": "Later", "schedule": later}]}))
    message_id = msg["messages"][0]["message_id"]
    assert msg["messages"][0]["schedule"] == later
    row = ok(client.get("/sms/history", params={"q": f"message_id:{message_id}"}))["data"][0]
    assert row["status"] == "Scheduled"
    r = client.put(f"/sms/{message_id}/cancel")
    assert ok(r) is None and r.json()["response_msg"] == "Scheduled sms message has been cancelled."
    assert ok(client.get("/sms/history", params={"q": f"message_id:{message_id}"}))["data"][0]["status"] == "Cancelled"
    assert balance(client) == before
    assert client.put(f"/sms/{message_id}/cancel").status_code == 400  # not scheduled any more


def test_cancel_all_counts(client: httpx.Client) -> None:
    later = int(time.time()) + 3600
    scheduled = history_total(client) and ok(client.get("/sms/history", params={"q": "status:Scheduled"}))["total"]
    # three different bodies: the same body to the same number within a minute is THROTTLED
    client.post("/sms/send", json={"messages": [{"to": "+61412345678", "body": f"L{i}", "schedule": later} for i in range(3)]})
    r = client.put("/sms/cancel-all")
    assert ok(r) == {"count": scheduled + 3} and r.json()["response_msg"].startswith(f"{scheduled + 3} ")
    assert ok(client.put("/sms/cancel-all")) == {"count": 0}


def test_mark_receipts_and_inbound_read(client: httpx.Client) -> None:
    receipts = ok(client.get("/sms/receipts", params={"limit": 100}))
    assert receipts["total"] > 0
    stamps = sorted(r["timestamp"] for r in receipts["data"])
    cutoff = stamps[len(stamps) // 2]
    ok(client.put("/sms/receipts-read", json={"date_before": cutoff}))
    remaining = ok(client.get("/sms/receipts", params={"limit": 100}))["data"]
    assert remaining and all(r["timestamp"] > cutoff for r in remaining)
    some = remaining[0]["message_id"]
    ok(client.put("/sms/receipts-read", json={}))
    assert ok(client.get("/sms/receipts"))["total"] == 0
    assert ok(client.get(f"/sms/receipts/{some}"))["message_id"] == some  # read receipts stay readable
    inbound = ok(client.get("/sms/inbound"))
    first = inbound["data"][0]
    assert ok(client.get(f"/sms/inbound/{first['original_message_id']}"))["message_id"]
    client.put(f"/sms/inbound-read/{first['message_id']}")
    assert ok(client.get("/sms/inbound"))["total"] == inbound["total"] - 1
    ok(client.put("/sms/inbound-read", json={}))
    assert ok(client.get("/sms/inbound"))["total"] == 0


@pytest.mark.parametrize(("path", "body", "history"), [
    ("/mms/send", {"media_file": "https://example.com/a.jpg",
                   "messages": [{"to": "+61412345678", "body": "Look", "subject": "Hi"}]}, "/mms/history"),
    ("/voice/send", {"messages": [{"to": "+61412345678", "body": "Hello", "voice": "female", "lang": "en-au"}]},
     "/voice/history"),
    ("/fax/send", {"file_url": "https://example.com/a.pdf", "messages": [{"to": "+61298765432"}]}, "/fax/history"),
])
def test_other_channels_record_history(client: httpx.Client, path: str, body: dict, history: str) -> None:
    before_rows, before_balance = history_total(client, history), balance(client)
    data = ok(client.post(path, json=body))
    assert data["queued_count"] == 1 and data["total_price"] > 0
    assert history_total(client, history) == before_rows + 1 and balance(client) < before_balance


def test_email_send_needs_a_verified_sender_and_is_free_to_test_addresses(client: httpx.Client) -> None:
    before = balance(client)
    sender = ok(client.get("/email/addresses"))["data"][0]["email_address_id"]
    mail = ok(client.post("/email/send", json={"to": [{"email": "test1@test.com", "name": "T"}],
                                               "from": {"email_address_id": sender, "name": "Me"},
                                               "subject": "S", "body": "B"}))
    assert mail["price"] == "0.0000" and balance(client) == before
    assert any(r["message_id"] == mail["message_id"] for r in ok(client.get("/email/history", params={"limit": 100}))["data"])
    r = client.post("/email/send", json={"to": [{"email": "a@example.com"}], "from": {"email_address_id": 99999},
                                         "subject": "S", "body": "B"})
    assert r.status_code == 400


def test_letters_and_postcards(client: httpx.Client) -> None:
    address_id = ok(client.get("/post/return-addresses"))["data"][0]["return_address_id"]
    recipient = {"address_name": "A", "address_line_1": "1 St", "address_city": "Sydney", "address_state": "NSW",
                 "address_postal_code": "2000", "address_country": "AU", "return_address_id": address_id}
    before = balance(client)
    letters = ok(client.post("/post/letters/send", json={"file_url": "https://example.com/l.pdf",
                                                          "recipients": [recipient, {**recipient, "address_postal_code": "11111"}]}))
    assert [r["post_price"] for r in letters["recipients"]] == ["1.100000", "0.000000"]
    assert balance(client) == before - Decimal("1.1")
    cards = ok(client.post("/post/postcards/send", json={"file_urls": ["https://example.com/p.pdf"], "recipients": [recipient]}))
    assert cards["queued_count"] == 1
    assert history_total(client, "/post/postcards/history") >= 1


def test_sms_campaign_send_update_cancel(client: httpx.Client) -> None:
    lst = ok(client.get("/lists"))["data"][0]
    body = {"list_id": lst["list_id"], "name": "Promo", "from": "Acme", "body": "Sale! Reply STOP to opt out",
            "schedule": int(time.time()) + 7200, "senders": []}
    price = ok(client.post("/sms-campaigns/price", json=body))
    assert price["total_count"] == lst["_contacts_count"] and isinstance(price["total_price"], str)
    campaign = ok(client.post("/sms-campaigns/send", json=body))
    assert campaign["status"] == "Scheduled" and campaign["_total_count"] == lst["_contacts_count"]
    cid = campaign["sms_campaign_id"]
    assert ok(client.put(f"/sms-campaigns/{cid}", json={"name": "Promo 2"}))["name"] == "Promo 2"
    assert ok(client.put(f"/sms-campaigns/{cid}/cancel"))["status"] == "Cancelled"
    missing = client.post("/sms-campaigns/send", json={**body, "list_id": 999999})
    assert missing.status_code == 404 and missing.json()["response_msg"] == "Your list is not found."


def test_statistics_follow_history(client: httpx.Client) -> None:
    before = ok(client.get("/statistics/sms"))["total"]["outbound"]["count"]
    client.post("/sms/send", json={"messages": [{"to": "+61412345678", "body": "Hi"}]})
    assert ok(client.get("/statistics/sms"))["total"]["outbound"]["count"] == before + 1


def test_receipts_are_listed_only_while_a_poll_rule_is_enabled(client: httpx.Client) -> None:
    assert ok(client.get("/sms/receipts"))["total"] > 0
    rules = ok(client.get("/automations/sms/receipts"))["data"]
    for rule in rules:
        ok(client.put(f"/automations/sms/receipts/{rule['receipt_rule_id']}", json={"enabled": 0}))
    assert ok(client.get("/sms/receipts"))["total"] == 0
    ok(client.put(f"/automations/sms/receipts/{rules[0]['receipt_rule_id']}", json={"enabled": 1}))
    assert ok(client.get("/sms/receipts"))["total"] > 0


def test_countries_not_enabled_are_blocked_even_for_test_numbers(client: httpx.Client) -> None:
    data = ok(client.post("/sms/send", json={"messages": [{"to": "+8615555555555", "body": "Hi"},
                                                           {"to": "+61411111111", "body": "Hi"}]}))
    blocked, sent = data["messages"]
    assert blocked["status"] == "COUNTRY_NOT_ENABLED" and blocked["message_price"] == "0.0000"
    assert blocked["message_parts"] == 0 and blocked["schedule"] == "" and blocked["country"] == "CN"
    assert sent["status"] == "SUCCESS"
    assert (data["total_count"], data["queued_count"], data["blocked_count"]) == (2, 1, 1)
