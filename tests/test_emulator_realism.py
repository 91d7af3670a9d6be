"""The emulator behaves like the real ClickSend where a connector would notice (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clicksend_sql.emulator import Emulator


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(seed=5, sizes={"contacts": 40, "sms-history": 60, "subaccounts": 2}) as emulator:
        yield emulator


def sent(client: httpx.Client, *messages: dict[str, Any], path: str = "/sms/send", **body: Any) -> list[dict[str, Any]]:
    response = client.post(path, json={"messages": list(messages), **body})
    assert response.status_code == 200, response.text
    return response.json()["data"]["messages"]


def test_send_echo_uses_null_and_the_shared_sender(client: httpx.Client) -> None:
    [m] = sent(client, {"to": "+61412345678", "body": "hello"})
    assert (m["from_email"], m["list_id"], m["contact_id"]) == (None, None, None)
    assert m["from"].startswith("+61") and m["is_shared_system_number"] is True
    assert {"direction", "date", "user_id", "subaccount_id"} <= m.keys() and isinstance(m["schedule"], int)


def test_same_body_to_same_number_is_throttled(client: httpx.Client) -> None:
    first, again, other = sent(client, {"to": "+61412345678", "body": "x"}, {"to": "+61412345678", "body": "x"},
                               {"to": "+61412345678", "body": "y"})
    assert [first["status"], again["status"], other["status"]] == ["SUCCESS", "THROTTLED", "SUCCESS"]


@pytest.mark.parametrize("sender, status", [("ACME", "SUCCESS"), ("Way too long name", "INVALID_SENDER_ID"),
                                            ("Acme!", "INVALID_SENDER_ID"), ("+6141", "INVALID_SENDER_ID"),
                                            ("+61411000123", "SUCCESS")])
def test_sender_ids_are_checked(client: httpx.Client, sender: str, status: str) -> None:
    [m] = sent(client, {"to": "+61411111111", "body": f"from {sender}", "from": sender})
    assert m["status"] == status


@pytest.mark.parametrize("media, status", [("https://x.example/a.jpg", "SUCCESS"), ("https://x.example/a.GIF?v=1", "SUCCESS"),
                                           ("https://x.example/a.png", "INVALID_MEDIA_FILE"), ("a.jpg", "INVALID_MEDIA_FILE")])
def test_mms_media_is_checked(client: httpx.Client, media: str, status: str) -> None:
    [m] = sent(client, {"to": "+61411111111", "body": "pic", "subject": "s"}, path="/mms/send", media_file=media)
    assert m["status"] == status
    if status == "SUCCESS":
        assert (m["subject"], m["_media_file_url"]) == ("s", media)


def test_mms_without_subject_and_voice_echo(client: httpx.Client) -> None:
    [m] = sent(client, {"to": "+61411111111", "body": "pic"}, path="/mms/send", media_file="https://x.example/a.jpg")
    assert m["status"] == "SUBJECT_REQUIRED"
    [v] = sent(client, {"to": "+61411111111", "body": "call", "voice": "male", "lang": "en-gb"}, path="/voice/send")
    assert (v["voice"], v["lang"], v["status"]) == ("male", "en-gb", "SUCCESS")


def test_countries_come_from_a_country_library_and_enablement_is_per_account(client: httpx.Client) -> None:
    countries = client.get("/countries").json()["data"]
    codes = [c["code"] for c in countries]
    assert len(codes) == len(set(codes)) > 200 and codes[0] == "AU"
    ids = {c["code"]: c["id"] for c in client.get("/country-list").json()["data"]}
    assert client.post("/user-countries", json={"country_list_ids": [ids["NZ"]]}).status_code == 200
    assert [c["code"] for c in client.get("/user-countries").json()["data"]] == ["NZ"]
    au, nz = sent(client, {"to": "+61412345678", "body": "a"}, {"to": "+64211234567", "body": "b"})
    assert (au["status"], nz["status"]) == ("COUNTRY_NOT_ENABLED", "SUCCESS")


def test_a_subaccount_sees_only_its_own_messages(emu: Emulator, client: httpx.Client) -> None:
    sub = client.get("/subaccounts").json()["data"]["data"][0]
    with httpx.Client(base_url=emu.base_url, auth=(sub["api_username"], sub["api_key"]), timeout=30) as as_sub:
        assert as_sub.get("/sms/history").json()["data"]["total"] == 0
        sent(as_sub, {"to": "+61412345678", "body": "mine"})
        rows = as_sub.get("/sms/history").json()["data"]["data"]
    assert [r["subaccount_id"] for r in rows] == [sub["subaccount_id"]]
    assert client.get("/sms/history").json()["data"]["total"] == 61  # the main account sees everyone's


def test_page_urls_keep_the_limit_and_export_names_are_encoded(client: httpx.Client) -> None:
    page = client.get("/sms/history", params={"limit": 20}).json()["data"]
    assert page["next_page_url"].endswith("/v3/sms/history?page=2&limit=20")
    url = client.get("/sms/history/export", params={"filename": "a b&c.csv"}).json()["data"]["url"]
    assert url.endswith("?filename=a%20b%26c.csv")


def test_request_rules_of_the_real_api(client: httpx.Client) -> None:
    lst = client.post("/lists", json={"list_name": "Camp"}).json()["data"]["list_id"]
    campaign = {"list_id": lst, "name": "n", "body": "b", "from": "ACME", "schedule": None}  # no senders
    assert client.post("/sms-campaigns/send", json=campaign).status_code == 200
    assert client.post("/sms/email-sms", json={"email_address": "a@b.com", "subaccount_id": "{{subaccountId}}"}).status_code == 400
    refused = client.post("/senders/default-senders", json={"product_type": "SMS"}).json()
    assert refused["details"] and {"field", "reason"} == refused["details"][0].keys()


def test_no_spec_example_is_echoed_as_data(client: httpx.Client) -> None:
    assert client.post("/voice/price", json={"messages": [{"to": "+61411111111", "body": "b", "voice": "female"}]}
                       ).json()["response_msg"] != "response_msg"
    address = client.post("/email/addresses", json={"email_address": "me@example.com"}).json()["data"]
    client.put(f"/email/address-verify/{address['email_address_id']}/verify/token")
    priced = client.post("/email/price", json={"to": [{"email": "x@example.com"}], "body": "b", "subject": "s",
                                               "from": {"email_address_id": address["email_address_id"], "name": "Me"}})
    [item] = priced.json()["data"]["data"]
    assert item["to"] == [{"email": "x@example.com"}] and item["from_email_address_id"] == address["email_address_id"]
