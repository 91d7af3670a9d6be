"""Stateful resources: CRUD round trips, list operations, cursor pagination, seeded field types."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import phonenumbers
import pytest

from clicksend_sql.emulator import Emulator, spec

from conftest import api_client, ok
from vendored import load


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=5, sizes={"own-numbers": 23, "default-senders": 17, "alpha-tags": 9}) as emulator:
        yield emulator


def test_list_crud_round_trip(client: httpx.Client) -> None:
    created = ok(client.post("/lists", json={"list_name": "Round trip"}))
    list_id = created["list_id"]
    assert isinstance(list_id, int) and created["_contacts_count"] == 0
    assert ok(client.get(f"/lists/{list_id}"))["list_name"] == "Round trip"
    r = client.put(f"/lists/{list_id}", json={"list_name": "Renamed"})
    assert ok(r)["list_name"] == "Renamed" and f"#{list_id}" in r.json()["response_msg"]
    r = client.delete(f"/lists/{list_id}")
    assert ok(r) == [] and r.json()["response_msg"] == f"List #{list_id} has been deleted."
    assert client.get(f"/lists/{list_id}").status_code == 404


def test_contact_crud_and_counts(client: httpx.Client) -> None:
    list_id = ok(client.post("/lists", json={"list_name": "People"}))["list_id"]
    c = ok(client.post(f"/lists/{list_id}/contacts", json={"phone_number": "0412 345 678", "first_name": "Ada"}))
    assert c["phone_number"] == "+61412345678" and c["list_id"] == list_id and isinstance(c["date_added"], int)
    path = f"/lists/{list_id}/contacts/{c['contact_id']}"
    assert ok(client.put(path, json={"last_name": "Lovelace"}))["last_name"] == "Lovelace"
    assert ok(client.get(path))["first_name"] == "Ada"
    assert ok(client.get(f"/lists/{list_id}"))["_contacts_count"] == 1
    assert ok(client.delete(path)) == []
    assert client.get(path).json()["response_msg"] == "Contact record not found."


def test_copy_transfer_and_list_cleanups(client: httpx.Client) -> None:
    a = ok(client.post("/lists", json={"list_name": "A"}))["list_id"]
    b = ok(client.post("/lists", json={"list_name": "B"}))["list_id"]
    numbers = ["+61412000001", "+61412000002", "+61412000002", "+61412000003"]
    ids = [ok(client.post(f"/lists/{a}/contacts", json={"phone_number": n}))["contact_id"] for n in numbers]
    copied = client.put(f"/lists/{a}/contacts/{ids[0]}/copy/{b}")
    assert ok(copied)["list_id"] == b and ok(copied)["contact_id"] != ids[0]
    assert copied.json()["response_msg"] == f"Contact #{ids[0]} has been copied to List #{b}"
    moved = ok(client.put(f"/lists/{a}/contacts/{ids[3]}/transfer/{b}"))
    assert moved["contact_id"] == ids[3] and client.get(f"/lists/{a}/contacts/{ids[3]}").status_code == 404
    assert ok(client.put(f"/lists/{a}/remove-duplicates/")) == {"deleted": 1}
    assert ok(client.put(f"/lists/{a}/remove-opted-out-contacts/{b}")) == {"deleted": 1}  # +61412000001
    left = ok(client.get(f"/lists/{a}/contacts"))["data"]
    assert [r["phone_number"] for r in left] == ["+61412000002"]


@pytest.mark.parametrize(("path", "body", "id_field", "change"), [
    ("/sms/templates", {"template_name": "T", "body": "Hello"}, "template_id", {"body": "Bye"}),
    ("/email/templates", {"template_name": "E", "template_id_master": 1}, "template_id", {"template_name": "E2"}),
    ("/post/return-addresses", {"address_name": "HQ", "address_line_1": "1 Main St", "address_city": "Sydney",
                                "address_postal_code": "2000", "address_country": "AU"}, "return_address_id",
     {"address_city": "Perth"}),
    ("/automations/sms/inbound", {"dedicated_number": "*", "rule_name": "R", "message_search_type": 0,
                                  "message_search_term": "", "action": "POLL", "action_address": "", "enabled": 1},
     "inbound_rule_id", {"rule_name": "R2"}),
    ("/automations/sms/receipts", {"rule_name": "R", "match_type": 0, "action": "POLL", "action_address": "",
                                   "enabled": 1}, "receipt_rule_id", {"enabled": 0}),
    ("/sms/email-sms-stripped-strings", {"strip_string": "--"}, "rule_id", {"strip_string": "=="}),
])
def test_generic_crud_round_trip(client: httpx.Client, path: str, body: dict, id_field: str, change: dict) -> None:
    created = ok(client.post(path, json=body))
    row_id = created[id_field]
    assert isinstance(row_id, int)
    assert any(r[id_field] == row_id for r in ok(client.get(path, params={"limit": 100}))["data"])
    assert ok(client.put(f"{path}/{row_id}", json=change)).items() >= change.items()
    assert ok(client.get(f"{path}/{row_id}")).items() >= change.items()
    assert client.delete(f"{path}/{row_id}").status_code == 200
    assert client.get(f"{path}/{row_id}").status_code == 404


def test_subaccount_create_login_regen(emu: Emulator, client: httpx.Client) -> None:
    sub = ok(client.post("/subaccounts", json={
        "api_username": "newsub", "password": "pw123456", "email": "s@example.com", "phone_number": "+61412345678",
        "first_name": "S", "last_name": "U"}))
    assert httpx.get(emu.base_url + "/account", auth=("newsub", sub["api_key"])).status_code == 200
    new_key = ok(client.put(f"/subaccounts/{sub['subaccount_id']}/regen-api-key"))["api_key"]
    assert new_key != sub["api_key"]
    assert httpx.get(emu.base_url + "/account", auth=("newsub", sub["api_key"])).status_code == 401
    assert httpx.get(emu.base_url + "/account", auth=("newsub", new_key)).status_code == 200
    assert ok(client.delete(f"/subaccounts/{sub['subaccount_id']}")) is True


def test_email_address_verification(client: httpx.Client) -> None:
    address = ok(client.post("/email/addresses", json={"email_address": "new@example.com"}))
    assert address["verified"] == 0
    ok(client.put(f"/email/address-verify/{address['email_address_id']}/send"))
    verified = ok(client.put(f"/email/address-verify/{address['email_address_id']}/verify/TOKEN"))
    assert verified["verified"] == 1


def test_reseller_transfer_credit_moves_balance(client: httpx.Client) -> None:
    before = float(ok(client.get("/account"))["balance"])
    client_id = ok(client.get("/reseller/accounts"))["data"][0]["user_id"]
    after_client = ok(client.put("/reseller/transfer-credit", json={"client_user_id": client_id, "balance": 10,
                                                                    "currency": "AUD"}))
    assert float(ok(client.get("/account"))["balance"]) == pytest.approx(before - 10)
    assert float(after_client["balance"]) >= 10


def walk_cursor(client: httpx.Client, path: str, params: dict, items_of, next_of) -> list[dict]:
    """Follow next links (as given: httpx would drop their query if params were passed)."""
    seen: list[dict] = []
    body = client.get(path, params=params).json()
    for _ in range(100):
        seen += items_of(body)
        if not next_of(body):
            return seen
        body = client.get(next_of(body)).json()
    raise AssertionError("the cursor never ended")


def test_own_numbers_cursor_pagination(client: httpx.Client) -> None:
    rows = walk_cursor(client, "/own-numbers", {"page_size": 5}, lambda b: b["own_numbers"],
                       lambda b: b["_metadata"]["pagination"]["next"])
    assert len(rows) == 23 == len({r["id"] for r in rows})
    assert [r["created_timestamp"] for r in rows] == sorted(r["created_timestamp"] for r in rows)
    first = client.get("/own-numbers", params={"page_size": 5}).json()["_metadata"]["pagination"]
    assert first["page_size"] == 5 and "#" in first["next"].split("offset=")[1].replace("%23", "#")
    approved = client.get("/own-numbers", params={"filter[status][]": "APPROVED", "page_size": 500}).json()
    assert approved["own_numbers"] and all(r["status"] == "APPROVED" for r in approved["own_numbers"])
    assert client.get("/own-numbers", params={"page_size": 501}).status_code == 400


def test_alpha_tags_and_default_senders_cursor(client: httpx.Client) -> None:
    tags = walk_cursor(client, "/alpha-tags", {"page_size": 2}, lambda b: b["alpha_tags"],
                       lambda b: b["_metadata"]["pagination"]["next"])
    assert len({t["id"] for t in tags}) == len(tags) == 9
    senders = walk_cursor(client, "/senders/default-senders", {"per_page": 4}, lambda b: b["data"]["data"],
                          lambda b: b["data"]["next_page_url"])
    assert len({s["id"] for s in senders}) == len(senders) == 17
    stamps = [s["created_timestamp"] for s in senders]
    assert stamps == sorted(stamps, reverse=True)  # default sort_direction is desc


def test_patch_own_number_and_alpha_tag_lifecycle(client: httpx.Client) -> None:
    number = client.get("/own-numbers").json()["own_numbers"][0]
    patched = client.patch(f"/own-numbers/{number['id']}", json={"label": "Renamed"}).json()
    assert patched["label"] == "Renamed" and patched["id"] == number["id"]
    tag = client.post("/alpha-tags", json={"alpha_tag": "NEWTAG", "reason": "Brand"}).json()
    assert tag["status"] == "PENDING" and tag["id"] == tag["id"].lower()
    assert client.get(f"/alpha-tags/{tag['id']}").json()["alpha_tag"] == "NEWTAG"
    assert client.delete(f"/alpha-tags/{tag['id']}").status_code == 200
    assert client.get(f"/alpha-tags/{tag['id']}").status_code == 404


JSON_TYPES = {"integer": int, "string": str, "number": (int, float), "boolean": bool}
SEEDED = {  # list route -> spec model of its items
    "/lists": "contact_list", "/sms/history": "view_sms_history_data_allOf_data_inner", "/sms/templates": "sms_template",
    "/sms-campaigns": "sms_campaign", "/sms/receipts": "sms_receipt", "/sms/inbound": "inbound_sms",
    "/mms/history": "view_mms_history_data_allOf_data_inner", "/voice/history": "voice_message",
    "/voice/receipts": "voice_receipt", "/email/history": "transactional_email", "/email-campaigns": "email_campaign",
    "/fax/history": "fax", "/post/letters/history": "recipient", "/post/postcards/history": "postcard_recipient",
    "/subaccounts": "subaccount", "/post/return-addresses": "post_return_address", "/email/addresses": "email_address",
    "/delivery-issues": "delivery_issue", "/recharge/transactions": "view_all_transactions_data_allOf_data_inner",
    "/automations/sms/inbound": "sms_inbound_rule", "/automations/fax/inbound": "inbound_fax_rule",
    "/reseller/accounts": "reseller_account", "/numbers": "view_your_numbers_data_allOf_data_inner",
    "/sms/email-sms": "view_allowed_emails_data_allOf_data_inner",
}

# Fields a row has beyond its model, each because the spec's own example response has it (the
# emulator README, "Deliveries", says why inbound SMS carry both timestamps): route -> (fields,
# the response model whose example shows them).
EXAMPLE_EXTRAS = {"/sms/inbound": ({"timestamp_send"}, "view-inbound-sms")}


@pytest.mark.parametrize("path", sorted(SEEDED))
def test_seeded_rows_have_the_spec_fields_and_types(client: httpx.Client, path: str) -> None:
    models = load("clicksend-api/models.json")
    model = models[SEEDED[path]]
    extras, shown_in = EXAMPLE_EXTRAS.get(path, (set(), ""))
    if extras:
        example = spec.document(spec.CURRENT)["components"]["schemas"][shown_in]["example"]
        assert extras <= set(example["data"]["data"][0]), shown_in
    rows = ok(client.get(path))["data"]
    assert rows, f"{path} has no seeded rows"
    for row in rows:
        assert set(row) == {f["name"] for f in model["fields"]} | extras, path
        for f in model["fields"]:
            if f["type"] in JSON_TYPES and row[f["name"]] is not None:
                assert isinstance(row[f["name"]], JSON_TYPES[f["type"]]), (path, f["name"], row[f["name"]])


def test_seeded_phone_numbers_are_valid_e164(client: httpx.Client) -> None:
    list_id = ok(client.get("/lists"))["data"][0]["list_id"]
    contacts = ok(client.get(f"/lists/{list_id}/contacts", params={"limit": 100}))["data"]
    history = ok(client.get("/sms/history", params={"limit": 100}))["data"]
    for number in [c["phone_number"] for c in contacts] + [h["to"] for h in history]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
    ids = [h["message_id"] for h in history]
    assert all(len(i) == 36 and i == i.upper() for i in ids)


def test_a_contact_needs_a_phone_fax_or_email(client: httpx.Client) -> None:
    list_id = ok(client.get("/lists"))["data"][0]["list_id"]
    r = client.post(f"/lists/{list_id}/contacts", json={"first_name": "Nobody"})
    assert r.status_code == 400 and r.json()["response_code"] == "BAD_REQUEST"
    assert ok(client.post(f"/lists/{list_id}/contacts", json={"email": "e@example.com"}))["email"] == "e@example.com"


def test_large_sizes_seed_and_page() -> None:
    with Emulator(sizes={"contacts": 50_000, "sms-history": 50_000, "lists": 2}) as emu, \
            api_client(emu) as c:
        history = ok(c.get("/sms/history", params={"limit": 100, "page": 500}))
        assert history["total"] == 50_000 and history["last_page"] == 500 and len(history["data"]) == 100
        lists = ok(c.get("/lists"))["data"]
        assert sum(lst["_contacts_count"] for lst in lists) == 50_000


def test_own_number_verification_flow(client: httpx.Client) -> None:
    started = client.post("/own-numbers/verifications", json={"phone_number": "+61412999888", "label": "Desk"}).json()
    assert started["status"] == "PENDING" and started["remaining_attempts"] == 3
    number = client.get(f"/own-numbers/{started['own_number_id']}").json()
    assert (number["phone_number"], number["label"], number["status"]) == ("+61412999888", "Desk", "PENDING")
    path = f"/own-numbers/verifications/{started['id']}/verify"
    assert client.post(path, json={"phone_number": "+61412999888", "code": "12"}).status_code == 400
    done = client.post(path, json={"phone_number": "+61412999888", "code": "428312"}).json()
    assert done["status"] == "APPROVED" and done["remaining_attempts"] == 2
    assert client.get(f"/own-numbers/{started['own_number_id']}").json()["status"] == "APPROVED"
