"""The emulator's transport contract: auth, envelope, errors, routing (NOTES.md §1-§2)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from clicksend_sql.emulator import Emulator

TEST_KEY = "D83DED51-9E35-4D42-9BB9-0E34B7CA85AE"
UNAUTHORIZED = {"http_code": 401, "response_code": "UNAUTHORIZED", "response_msg": "Authorization failed.", "data": None}
INVALID_ENDPOINT = {"http_code": 404, "response_code": "NOT_FOUND",
                    "response_msg": "Invalid endpoint. Please try again.", "data": None}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=3) as emulator:
        yield emulator


def test_good_credentials_get_the_envelope(client: httpx.Client) -> None:
    r = client.get("/lists")
    body = r.json()
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert set(body) == {"http_code", "response_code", "response_msg", "data"}
    assert (body["http_code"], body["response_code"]) == (200, "SUCCESS")
    assert body["data"]["data"], "lists are seeded"


@pytest.mark.parametrize("auth", [None, ("demo", "WRONG-KEY"), ("nobody", TEST_KEY), ("notactive", TEST_KEY)])
def test_bad_missing_and_notactive_credentials_are_the_same_401(emu: Emulator, auth: tuple[str, str] | None) -> None:
    r = httpx.get(emu.base_url + "/account", auth=auth)
    assert r.status_code == 401 and r.json() == UNAUTHORIZED
    assert "www-authenticate" not in r.headers


def test_malformed_authorization_header_is_401(emu: Emulator) -> None:
    r = httpx.get(emu.base_url + "/lists", headers={"Authorization": "Basic !!!notbase64"})
    assert r.json() == UNAUTHORIZED


def test_banned_account_is_suspended(emu: Emulator) -> None:
    r = httpx.get(emu.base_url + "/lists", auth=("banned", TEST_KEY))
    assert r.status_code == 403
    assert r.json()["response_msg"] == "Your account is suspended. Please contact support for more information."


def test_nocredit_account_gets_insufficient_credit_per_message(emu: Emulator) -> None:
    r = httpx.post(emu.base_url + "/sms/send", auth=("nocredit", TEST_KEY),
                   json={"messages": [{"to": "+61412345678", "body": "hello"}, {"to": "+61412345679", "body": "hi"}]})
    data = r.json()["data"]
    assert r.status_code == 200 and data["queued_count"] == 0
    assert [m["status"] for m in data["messages"]] == ["INSUFFICIENT_CREDIT"] * 2


def test_subaccount_credentials_authenticate(emu: Emulator, client: httpx.Client) -> None:
    sub = client.get("/subaccounts").json()["data"]["data"][0]
    r = httpx.get(emu.base_url + "/account", auth=(sub["api_username"], sub["api_key"]))
    assert r.status_code == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/countries"), ("PUT", "/forgot-username"),
                                              ("PUT", "/forgot-password")])
def test_endpoints_without_auth(emu: Emulator, method: str, path: str) -> None:
    body = {"email": "someone@example.com", "username": "someone"}
    r = httpx.request(method, emu.base_url + path, json=body if method == "PUT" else None)
    assert r.status_code == 200, r.text
    assert r.json()["response_code"] == "SUCCESS"


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("PUT", "/sms/history"), ("GET", "/v2/lists"),
                                              ("DELETE", "/account")])
def test_unknown_route_or_method_is_invalid_endpoint(client: httpx.Client, method: str, path: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 404 and r.json() == INVALID_ENDPOINT


def test_literal_segments_win_over_parameters(client: httpx.Client) -> None:
    assert client.put("/sms/cancel-all").json()["data"].keys() == {"count"}
    assert client.put("/sms/NOT-A-MESSAGE/cancel").status_code == 404


def test_missing_resources_name_the_resource(client: httpx.Client) -> None:
    assert client.get("/lists/999999").json()["response_msg"] == "Your list is not found."
    assert client.put("/lists/999999/contacts/1", json={"first_name": "x"}).json()["response_msg"] == "Contact record not found."
    assert client.get("/sms/receipts/NOPE").json()["response_msg"] == "Receipt record not found."


def test_lists_you_do_not_own_are_forbidden(client: httpx.Client) -> None:
    r = client.post("/lists/999999/contacts", json={"phone_number": "+61412345678"})
    assert r.status_code == 403 and r.json()["response_code"] == "FORBIDDEN"


def test_bad_request_maps_fields_to_messages(client: httpx.Client) -> None:
    r = client.post("/lists", json={})
    body = r.json()
    assert r.status_code == 400 and body["response_code"] == "BAD_REQUEST"
    assert "list_name" in body["data"] and isinstance(body["data"]["list_name"], str)


def test_malformed_json_is_400(client: httpx.Client) -> None:
    r = client.post("/lists", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["response_code"] == "BAD_REQUEST"


def test_bare_bodies_for_microservice_endpoints(client: httpx.Client) -> None:
    body = client.get("/own-numbers").json()
    assert "http_code" not in body and {"own_numbers", "_metadata"} <= body.keys()


def test_default_sender_delete_is_204_without_body(client: httpx.Client) -> None:
    sender_id = client.get("/senders/default-senders").json()["data"]["data"][0]["id"]
    r = client.delete(f"/senders/default-senders/{sender_id}")
    assert r.status_code == 204 and r.content == b""


def test_repr_hides_the_api_key(emu: Emulator) -> None:
    assert emu.api_key not in repr(emu) and emu.base_url.endswith("/v3")
    assert emu.api_key == emu.api_key.upper() and len(emu.api_key) == 36
