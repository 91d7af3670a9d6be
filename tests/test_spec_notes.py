"""The vendored copies equal ../shared, and where the sources disagree, what each says.

The disagreement tests read tests/data (vendored from ../shared by tools/vendor_test_data.py), so
they run in a plain clone; only the two equality tests need ../shared and skip without it.

Each disagreement test asserts both sides, so a fix in either source shows up here; the
emulator's choice for each is named in the test's docstring.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clicksend_sql.emulator import spec

from vendored import API, DATA, REPO, load, shared_path, tool

SPEC_DATA = REPO / "connector" / "clicksend_sql" / "emulator" / "spec_data"


@pytest.fixture(scope="module")
def notes() -> str:
    return (API / "NOTES.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def raw_current() -> dict[str, Any]:
    """The current spec exactly as vendored, before the emulator's in-memory repairs."""
    return json.loads((SPEC_DATA / "openapi.json").read_text())


def _endpoint(operation_id: str) -> dict[str, Any]:
    return next(e for e in load("clicksend-api/endpoints.json") if e["operation_id"] == operation_id)


def _success_media(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return doc["paths"]["/v3" + path][method]["responses"]["200"]["content"]["application/json"]


def test_vendored_spec_equals_shared_yaml() -> None:
    vendor = tool("vendor_spec")
    for name, doc in vendor.build(shared_path("clicksend-api")).items():
        assert (SPEC_DATA / name).read_text(encoding="utf-8") == vendor.dump(doc), f"{name} drifted; run tools/vendor_spec.py"


def test_vendored_test_data_equals_shared() -> None:
    built = tool("vendor_test_data").build(shared_path())
    for name, text in built.items():
        assert (DATA / name).read_text(encoding="utf-8") == text, f"tests/data/{name} drifted; run tools/vendor_test_data.py"
    stale = {str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.name != "README.md"} - set(built)
    assert not stale, f"tests/data has files the tool no longer builds: {sorted(stale)}"


def test_operation_inventory_matches_endpoints_json() -> None:
    entries = load("clicksend-api/endpoints.json")
    wanted = {"openapi.yaml": "openapi.yaml", "specs/openapi-v6-c73ffe8-with-fax-post.yaml": "c73ffe8"}
    expected = {(e["method"], e["path"].removeprefix("/v3"), e["operation_id"], wanted[e["source"]]) for e in entries if e["source"] in wanted}
    assert {(op.method, op.path, op.operation_id, op.source) for op in spec.load_operations()} == expected


def test_view_sms_history_example_says_status_not_http_code(raw_current: dict[str, Any], notes: str) -> None:
    """The emulator follows the schema: ``http_code``."""
    schema = raw_current["components"]["schemas"][_success_media(raw_current, "/sms/history", "get")["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "http_code" in schema["properties"] and "status" not in schema["properties"]
    assert schema["example"]["status"] == 200 and "http_code" not in schema["example"]
    assert 'puts `"status": 200` where `"http_code"` belongs' in notes


def test_limit_bounds_differ_between_spec_v5_and_docs(raw_current: dict[str, Any], notes: str) -> None:
    """The emulator enforces 15..100 on every ``limit`` (NOTES.md §4)."""
    limits = {
        op["operationId"]: p["schema"]
        for item in raw_current["paths"].values()
        for op in item.values()
        for p in op.get("parameters", [])
        if p["name"] == "limit"
    }
    assert limits["view-sms-history"] == {"default": 15, "example": 15, "maximum": 100, "minimum": 15, "type": "integer"}
    assert limits["view-mms-history"] == {"type": "integer"}  # no bounds at all
    assert limits["view-your-numbers"] == {"default": 15, "minimum": 15, "type": "integer"}  # no maximum
    v5 = load("clicksend-api/specs/swagger-v5-clicksend-go.excerpt.json")
    v5_limit = next(p for p in v5["paths"]["/lists"]["get"]["parameters"] if p["name"] == "limit")
    assert (v5_limit["default"], v5_limit["minimum"]) == (10, 1)
    assert "**min 15, max 100**" in notes
    assert spec.validate_request(spec.operation("view-mms-history"), None, {"limit": "101"}) == {
        "limit": "limit may not be greater than 100."
    }


def test_own_numbers_page_size_range(raw_current: dict[str, Any]) -> None:
    """Own numbers: the docs table says 1..500; the alpha-tags parameter in the spec says 1..1000."""
    assert "Range \\[1..500\\]" in next(q for q in _endpoint("list-own-numbers")["query_params"] if q["name"] == "page_size")["description"]
    alpha = next(p for p in raw_current["paths"]["/v3/alpha-tags"]["get"]["parameters"] if p["name"] == "page_size")
    assert (alpha["schema"]["minimum"], alpha["schema"]["maximum"]) == (1, 1000)


def test_receipt_timestamp_is_int_for_sms_and_string_for_voice(raw_current: dict[str, Any], notes: str) -> None:
    """The emulator emits what each schema types."""
    schemas = raw_current["components"]["schemas"]
    assert schemas["sms_receipt"]["properties"]["timestamp"]["type"] == "integer"
    assert schemas["voice_receipt"]["properties"]["timestamp"]["type"] == "string"
    assert "`sms_receipt.timestamp` is an int while `voice_receipt.timestamp` is a string" in notes


def test_mark_one_inbound_read_data_is_an_integer_in_spec_and_empty_list_in_apiary(raw_current: dict[str, Any]) -> None:
    """The emulator follows the current spec: ``data`` is the count marked read."""
    media = _success_media(raw_current, "/sms/inbound-read/{message_id}", "put")
    schema = raw_current["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[1]]
    assert schema["properties"]["data"]["type"] == "integer"
    assert schema["example"]["data"] == 1
    apiary = load("clicksend-api/specs/apiary-docs-apisguru-openapi.excerpt.json")
    example = apiary["paths"]["/sms/inbound-read/{message_id}"]["put"]["responses"]["200"]["content"]["application/json"]
    assert example["examples"]["response"]["value"]["data"] == []


def test_recorded_400_has_numeric_response_code_while_spec_types_string(raw_current: dict[str, Any], notes: str) -> None:
    """The emulator always sends the string codes of the spec."""
    schemas = raw_current["components"]["schemas"]
    assert schemas["400_error"]["properties"]["response_code"]["type"] == "string"
    assert "400 with a **numeric** `response_code: 400`" in notes


def test_cancel_sms_data_is_an_object_in_spec_but_null_in_notes(raw_current: dict[str, Any], notes: str) -> None:
    """The schema says a non-nullable object while its own text (and NOTES.md) says null; the
    emulator lets it be null."""
    ref = _success_media(raw_current, "/sms/{message_id}/cancel", "put")["schema"]["$ref"].rsplit("/", 1)[1]
    data = raw_current["components"]["schemas"][ref]["properties"]["data"]
    assert data["type"] == "object" and not data.get("nullable")
    assert "return <strong>null</strong/>" in data["description"]
    assert "`null` (cancel-sms, delete SMS template)" in notes
    assert spec.flatten(spec.CURRENT, spec.success_schema(spec.operation("cancel-sms")) or {})["properties"]["data"]["nullable"]


def test_two_paginators_are_unsatisfiable_in_spec(raw_current: dict[str, Any]) -> None:
    """allOf [pagination object, array] matches nothing; the emulator moves the array to ``data``."""
    for name in ("calculate_email_price_data", "view_email_delivery_receipt_rules_data"):
        parts = raw_current["components"]["schemas"][name]["allOf"]
        assert parts[0] == {"$ref": "#/components/schemas/pagination"} and parts[1]["type"] == "array"
        repaired = spec.document(spec.CURRENT)["components"]["schemas"][name]["allOf"][1]
        assert repaired == {"type": "object", "properties": {"data": parts[1]}}


def test_some_enveloped_endpoints_have_bare_schemas(notes: str) -> None:
    """The emulator wraps these in the envelope and validates ``data`` against the schema."""
    bare = sorted(op.operation_id for op in spec.load_operations() if spec.spec_omits_envelope(op))
    assert bare == ["short-url-get-tracking", "view-all-mms-campaigns"]
    assert "Almost every endpoint wraps its result" in notes
    assert "**Exceptions with no envelope** (newer microservice endpoints)" in notes


def test_patch_own_number_lacks_security_in_spec(raw_current: dict[str, Any], notes: str) -> None:
    """The emulator requires auth: the other own-numbers operations and NOTES.md §1 do."""
    item = raw_current["paths"]["/v3/own-numbers/{own_number_id}"]
    assert "security" not in item["patch"]
    assert item["get"]["security"] == [{"basicAuth": []}]
    assert spec.operation("update-own-number").auth
    assert "Unauthenticated endpoints, per the docs/spec:" in notes


def test_contact_required_fields_docs_table_vs_notes(notes: str) -> None:
    """The emulator requires one of phone_number, fax_number, email (NOTES.md §8)."""
    fields = {f["name"]: f.get("required_per_docs") for f in _endpoint("create-new-contact")["body_fields"]}
    assert fields["phone_number"] is True and fields["custom_1"] is True
    assert "At least one of phone_number, fax_number or email is required." in notes
    op = spec.operation("create-new-contact")
    assert spec.validate_request(op, {"email": "test1@test.com"}, {}) == {}
    assert spec.validate_request(op, {"first_name": "Ann"}, {}) == {"phone_number": "phone_number, fax_number or email field is required."}


def test_stripped_string_docs_name_differs_from_schema(raw_current: dict[str, Any]) -> None:
    """The docs table says ``stripped-string``, the schema ``strip_string``; the emulator uses the schema."""
    names = {f["name"] for f in _endpoint("create-stripped-string-rule")["body_fields"]}
    assert "stripped-string" in names
    body = raw_current["paths"]["/v3/sms/email-sms-stripped-strings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    props = spec.flatten(spec.CURRENT, body)["properties"]
    assert "strip_string" in props and "stripped-string" not in props


def test_some_paginators_forget_that_page_urls_are_nullable(raw_current: dict[str, Any], notes: str) -> None:
    """The emulator makes every next/prev_page_url nullable, as the generic paginator is."""
    schemas = raw_current["components"]["schemas"]
    assert schemas["pagination"]["properties"]["next_page_url"]["nullable"] is True
    assert "nullable" not in schemas["view_lists_data"]["properties"]["next_page_url"]
    assert "Page URLs are null when there is no such page." in notes
    assert spec.document(spec.CURRENT)["components"]["schemas"]["view_lists_data"]["properties"]["next_page_url"]["nullable"]


def test_delete_sms_template_data_is_an_array_in_spec_but_null_in_notes(notes: str) -> None:
    """The emulator lets ``data`` be null here and for cancel-sms (NOTES.md §2)."""
    media = json.loads((SPEC_DATA / "openapi.json").read_text())["paths"]["/v3/sms/templates/{template_id}"]["delete"]
    ref = media["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    data = json.loads((SPEC_DATA / "openapi.json").read_text())["components"]["schemas"][ref]["properties"]["data"]
    assert data["type"] == "array" and "nullable" not in data
    assert "`null` (cancel-sms, delete SMS template)" in notes
    repaired = spec.flatten(spec.CURRENT, spec.success_schema(spec.operation("delete-sms-template")) or {})
    assert repaired["properties"]["data"]["nullable"] is True


def test_transfer_credit_body_is_the_credit_card_schema_in_spec(raw_current: dict[str, Any], notes: str) -> None:
    """The emulator validates NOTES.md's body instead."""
    body = raw_current["paths"]["/v3/reseller/transfer-credit"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/update_payment_info_request"}
    assert "`PUT /reseller/transfer-credit {client_user_id, balance, currency}`" in notes
    assert spec.validate_request(spec.operation("reseller-transfer-credit"), {"client_user_id": 1, "balance": 5}, {}) == {
        "currency": "currency field is required."
    }


def test_contact_search_results_are_described_only_by_notes(raw_current: dict[str, Any], notes: str) -> None:
    """The spec gives /search/contacts-lists no response schema (``{}``) and lists ``q`` as required
    in its text but ``required: false`` in its parameters; NOTES.md names the result fields. The
    emulator and the connector's search pushdown (Contacts ``=`` on a searched field) follow NOTES:
    a hit gives a contact's id but not its list, so the hits are fetched under every list."""
    operation = raw_current["paths"]["/v3/search/contacts-lists"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"] == {}
    q = next(p for p in operation["parameters"] if p["name"] == "q")
    assert q["required"] is False and "| q | query | string | true |" in operation["description"]
    assert "Each result is `{id, type: contact|list, name, contact, contacts_count}`" in notes


def test_inbound_sms_timestamp_field_differs_between_schema_and_examples(raw_current: dict[str, Any], notes: str) -> None:
    """The ``inbound_sms`` schema (and the 2015 docs' example, as a string) say ``timestamp``; the
    current spec's 2024 examples of GET /sms/inbound and of the test inbound SMS, which look
    recorded, have ``timestamp_send`` instead. The emulator lists both, with the same value (emulator
    README, "Deliveries"): a client should read ``timestamp_send`` and fall back to ``timestamp``."""
    schemas = raw_current["components"]["schemas"]
    assert "timestamp" in schemas["inbound_sms"]["properties"] and "timestamp_send" not in schemas["inbound_sms"]["properties"]
    for name in ("view-inbound-sms", "create-test-inbound-sms"):
        data = schemas[name]["example"]["data"]
        item = data["data"][0] if "data" in data else data
        assert "timestamp_send" in item and "timestamp" not in item, name
    apiary = load("clicksend-api/specs/apiary-docs-apisguru-openapi.excerpt.json")["paths"]["/sms/inbound"]["get"]
    item = apiary["responses"]["200"]["content"]["application/json"]["examples"]["response"]["value"]["data"]["data"][0]
    assert isinstance(item["timestamp"], str) and "timestamp_send" not in item
    assert "Item fields: `timestamp` (the examples use `timestamp_send`)" in notes


def test_inbound_webhook_fields_are_in_power_automate_not_notes(notes: str) -> None:
    """NOTES.md §7 lists the webhook variables of receipts only; for inbound SMS it lists the GET
    items. The Power Automate trigger (published by ClickSend) adds ``user_id`` and
    ``subaccount_id`` to those, types ``timestamp`` a string, and does not name ``_keyword``. The
    emulator's inbound webhook sends all of them (the union), ``timestamp`` as a string."""
    trigger = load("seeds/power_automate_trigger.json")["fields"]
    items = {f["name"] for f in load("clicksend-api/models.json")["inbound_sms"]["fields"]}
    assert set(trigger) - items == {"user_id", "subaccount_id"} and items - set(trigger) == {"_keyword"}
    assert trigger["timestamp"] == "string" and trigger["user_id"] == "integer"
    assert "Webhook (URL action) receipt variables" in notes and "inbound variables" not in notes.lower()


def test_inbound_rule_webhook_type_is_documented_but_not_in_the_request_schema(raw_current: dict[str, Any]) -> None:
    """``webhook_type`` (post, get or json) is in the docs table and the rule model (and the curl
    example, not vendored), but not in the create/update request schemas. The emulator accepts and
    keeps it (tests/test_emulator_delivery.py sends each type)."""
    schemas = raw_current["components"]["schemas"]
    assert "webhook_type" in schemas["sms_inbound_rule"]["properties"]
    for name in ("create_sms_inbound_automation_request", "update_sms_inbound_automation_request"):
        assert "webhook_type" not in schemas[name]["properties"], name
    post = raw_current["paths"]["/v3/automations/sms/inbound"]["post"]
    assert "| webhook_type | string | false |" in post["description"]


def test_inbound_rule_search_term_is_null_in_the_example_but_required_by_the_docs(raw_current: dict[str, Any]) -> None:
    """The create example sends ``message_search_term: null`` (as Activepieces' trigger does with
    ``message_search_type`` 0), the docs table marks the field required, and the emulator, reading
    null as absent like PHP, answers 400: a listener should send ``""``."""
    example = raw_current["components"]["schemas"]["create_sms_inbound_automation_request"]["example"]
    assert example["message_search_term"] is None and example["message_search_type"] == 0
    errors = spec.validate_request(spec.operation("create-sms-inbound-automation"), example, {})
    assert errors == {"message_search_term": "message_search_term field is required."}
    assert spec.validate_request(spec.operation("create-sms-inbound-automation"), {**example, "message_search_term": ""}, {}) == {}
