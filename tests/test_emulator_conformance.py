"""Every spec operation, called on a live emulator, answers as the spec says.

Valid calls take their path ids from real emulator state (listed, or created for the purpose
when the call changes or removes the resource) and their bodies from the spec's request
examples; responses are checked with openapi-schema-validator against the spec's schemas.
Invalid calls (a missing required field, an unknown id) must give ClickSend's error envelopes.
No call may answer 5xx.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from clicksend_sql.emulator import Emulator, spec
from clicksend_sql.emulator.handlers.base import PRECHECKS, ROUTES

OPERATIONS = spec.load_operations()
# Operations the emulator answers "in shape" (synthesized from the spec, no state behind them).
SHAPE_ONLY = sorted(op.operation_id for op in OPERATIONS if (op.method, op.path.rstrip("/")) not in ROUTES)
print(f"SHAPE_ONLY ({len(SHAPE_ONLY)} of {len(OPERATIONS)}): {', '.join(SHAPE_ONLY)}")

# Where an id that a path needs comes from, when the path prefix before it is not the resource's
# own collection: message ids come from sends, verification tokens from their own POST, ...
COLLECTIONS = {
    "/sms": "/sms/send",
    "/voice": "/voice/send",
    "/post/letters": "/post/letters/send",
    "/post/postcards": "/post/postcards/send",
    "/sms/inbound-read": "/sms/inbound",
    "/email/address-verify": "/email/addresses",
    "/numbers/buy": "/numbers/search/AU",
    "/recharge/purchase": "/recharge/packages",
}
# Path values that are not resource ids (the spec gives no examples for most of them).
CONSTANTS = {
    "year": time.strftime("%Y"),
    "month": time.strftime("%m"),
    "country": "AU",
    "number_type": "10dlc",
    "country_code": "US",
    "source": "quick_sms",
    "activation_token": "E1B3F6A2-7C1D-4D8E-9F0A-2B3C4D5E6F70",
    "long_url_id": "quick_sms-26d1bc9a-d858-4b93-9368-1f31377a78c5-5908b13f05e7318be49bd1cb3a693d7c",
}
# Path parameters whose resource lives elsewhere than the path prefix: name -> collection, field.
ALIASES = {
    "from_list_id": ("/lists", "list_id"),
    "to_list_id": ("/lists", "list_id"),
    "opt_out_list_id": ("/lists", "list_id"),
    "source_id": ("/sms/history", "message_id"),
}
# Collections whose items name their id differently from the path parameter.
ID_FIELDS = {"/email/master-templates": "template_id_master", "/reseller/accounts": "user_id", "/recharge/transactions": "invoice_number"}
# Collections whose POST is not a create (it sends a test webhook).
NOT_CREATORS = {"/sms/inbound", "/sms/receipts"}
# Body fields the emulator keeps unique per account; each create gets a new value.
UNIQUE_FIELDS = {"alpha_tag", "api_username", "username", "email_address", "user_email", "list_name", "template_name"}
# Body fields that must name real resources; key -> (collection, id field).
BODY_REFERENCES = {
    "list_id": ("/lists", "list_id"),
    "contact_id": ("/lists/{list_id}/contacts", "contact_id"),
    "email_address_id": ("/email/addresses", "email_address_id"),
    "from_email_address_id": ("/email/addresses", "email_address_id"),
    "return_address_id": ("/post/return-addresses", "return_address_id"),
    "template_id_master": ("/email/master-templates", "template_id_master"),
    "template_id": ("/email/templates", "template_id"),
    "client_user_id": ("/reseller/accounts", "user_id"),
}
TEST_NUMBER = "+61411111111"  # NOTES.md §12: sends succeed and cost nothing
SCHEDULE_AHEAD_S = 86_400


def _registry() -> Registry:
    """The spec documents (with the emulator's two documented repairs) under stable URIs."""
    registry: Registry = Registry()
    for source in (spec.CURRENT, spec.LEGACY):
        registry = registry.with_resource(f"urn:clicksend:{source}", Resource.from_contents(spec.document(source), default_specification=DRAFT4))
    return registry


REGISTRY = _registry()


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def response_validator(op: spec.Operation) -> OAS30ReadValidator | None:
    """The spec's success schema of ``op``, by JSON pointer into its document.

    Schema-less enveloped operations are checked against the spec's generic envelope
    (``400_error``'s shape: http_code, response_code, response_msg, data), schema-less bare ones
    (DELETE /alpha-tags/{id}) not at all (None); the export stand-in against the sibling export
    schema (see spec.success_schema).
    """
    if spec.success_schema(op) is None and op.envelope:
        ref = f"urn:clicksend:{spec.CURRENT}#/components/schemas/400_error"
    elif spec.success_schema(op) is None:
        return None
    else:
        owner = spec.schema_owner(op)
        ref = f"urn:clicksend:{owner.source}#/" + _pointer(
            "paths", "/v3" + owner.path, owner.method.lower(), "responses", str(owner.success_status),
            "content", "application/json", "schema",
        )
    return OAS30ReadValidator({"$ref": ref}, registry=REGISTRY, format_checker=oas30_format_checker)


def _ids_in(node: Any, names: tuple[str, ...]) -> Iterator[Any]:
    """Values of the first key in ``names`` found in each dict, depth first."""
    if isinstance(node, dict):
        for name in names:
            if node.get(name) not in (None, ""):
                yield node[name]
                break
        for value in node.values():
            yield from _ids_in(value, names)
    elif isinstance(node, list):
        for value in node:
            yield from _ids_in(value, names)


def _ops_by_route() -> dict[tuple[str, str], spec.Operation]:
    return {(op.method, op.path): op for op in OPERATIONS}


class Walker:
    """Calls operations with valid input taken from the emulator's own state."""

    def __init__(self, emu: Emulator) -> None:
        self.http = httpx.Client(base_url=emu.base_url, auth=(emu.username, emu.api_key), timeout=30)
        self.rng = random.Random(7)
        self.cache: dict[tuple[str, str], Any] = {}
        self.routes = _ops_by_route()
        self.serial = 0

    def call(self, op: spec.Operation, params: dict[str, str], body: Any, query: dict[str, str] | None = None) -> httpx.Response:
        path = op.path.format_map({k: quote(str(v), safe="") for k, v in params.items()})
        response = self.http.request(op.method, path, json=body, params=query)
        assert response.status_code < 500, f"{op.method} {path} -> {response.status_code}: {response.text[:500]}"
        return response

    # --- valid input --------------------------------------------------------------------------

    def params(self, op: spec.Operation, fresh: bool) -> dict[str, str]:
        """A value for every path parameter; ``fresh`` ids are created for this call alone."""
        params: dict[str, str] = {}
        for name in re.findall(r"{(\w+)}", op.path):
            if name in CONSTANTS:
                params[name] = CONSTANTS[name]
                continue
            prefix = op.path[: op.path.index("{" + name + "}")].rstrip("/")
            collection, field = ALIASES.get(name, (COLLECTIONS.get(prefix, prefix).format_map(params), name))
            params[name] = str(self.id_from(collection, ID_FIELDS.get(collection, field), fresh))
        return params

    def id_from(self, collection: str, field: str, fresh: bool) -> Any:
        """An id from ``collection``: a new one from its POST when ``fresh`` or when it cannot be
        listed, else the first listed (cached)."""
        templates = [path for (_, path) in self.routes if re.fullmatch(re.sub(r"{\w+}", "[^/]+", path), collection)]
        template = collection if collection in templates else next(iter(templates), None)
        has_get = ("GET", template) in self.routes
        creator = next((("POST", path) for path in (template, f"{template}/send") if ("POST", path) in self.routes), None)
        has_post = creator is not None and template not in NOT_CREATORS
        key = (collection, field)
        if fresh:  # the call may delete what it is given; later calls must list again
            self.cache.pop(key, None)
        elif has_get and key in self.cache:
            return self.cache[key]
        names = (field, "id", "message_id") if field.endswith("message_id") or field == "message_id" else (field, "id")
        if has_get and not (fresh and has_post):
            found = next(_ids_in(self.http.get(collection).json(), names), None)
            if found is not None:
                if not fresh:
                    self.cache[key] = found
                return found
        assert has_post, f"no way to get a {field} from {collection}"
        op = self.routes[creator]
        created = self.call(op, self.params(op, fresh=False) | self._template_params(template, collection), self.body(op, schedule=True))
        assert created.status_code == op.success_status, f"creating in {collection}: {created.text[:500]}"
        found = next(_ids_in(created.json(), names), None)
        assert found is not None, f"no {field} in POST {collection}: {created.text[:500]}"
        return found

    @staticmethod
    def _template_params(template: str, concrete: str) -> dict[str, str]:
        names = re.findall(r"{(\w+)}", template)
        values = re.fullmatch(re.sub(r"{\w+}", "([^/]+)", template), concrete)
        return dict(zip(names, values.groups(), strict=True)) if values else {}

    def body(self, op: spec.Operation, schedule: bool = False) -> Any:
        """The spec's request example (or a schema-built one) pointed at real resources."""
        body = spec.example_request(op, random.Random(op.operation_id))
        if op.operation_id == "agree-to-rules-and-regulation":  # the spec has no schema; docs table
            body = {"country_list_ids": [next(_ids_in(self.http.get("/country-list").json(), ("country_list_id", "id")))]}
        self._point_at_state(body, schedule)
        if isinstance(body, dict):
            self.serial += 1
            for key in UNIQUE_FIELDS & body.keys():
                body[key] = f"Tag{self.serial}" if key == "alpha_tag" else _unique(body[key], self.serial)
            if schedule and op.path.endswith("campaigns/send"):  # mms-campaigns/send's schema omits it
                body["schedule"] = int(time.time()) + SCHEDULE_AHEAD_S
        return body

    def _point_at_state(self, node: Any, schedule: bool, item: bool = False) -> None:
        """Put real ids into reference fields; with ``schedule``, schedule every message or
        recipient a day ahead (only scheduled sends can be cancelled)."""
        if isinstance(node, list):
            for element in node:
                self._point_at_state(element, schedule, item)
            return
        if not isinstance(node, dict):
            return
        for key, (collection, field) in BODY_REFERENCES.items():
            if key in node and not isinstance(node[key], (dict, list)):
                value = self.id_from(collection.format(list_id=self.id_from("/lists", "list_id", False)), field, False)
                node[key] = type(node[key])(value) if isinstance(node[key], (int, str)) else value
        if "body" in node and isinstance(node["body"], str) and not {"to", "list_id", "contact_id"} & set(node) and "messages" not in node:
            node.setdefault("to", TEST_NUMBER)
        if schedule and (item or "schedule" in node):
            node["schedule"] = int(time.time()) + SCHEDULE_AHEAD_S
        for key, value in node.items():
            self._point_at_state(value, schedule, key in ("messages", "recipients"))


def _unique(value: Any, serial: int) -> str:
    text = str(value)
    return text.replace("@", f"+{serial}@", 1) if "@" in text else f"{text}{serial}"


@pytest.fixture(scope="module")
def walker() -> Iterator[Walker]:
    with Emulator(seed=1) as emu:
        walker = Walker(emu)
        yield walker
        walker.http.close()


def _destructive(op: spec.Operation) -> bool:
    return op.method != "GET"


def _validate(op: spec.Operation, response: httpx.Response) -> None:
    assert response.status_code == op.success_status, f"{op.method} {op.path}: {response.status_code} {response.text[:600]}"
    if op.success_status == 204:
        assert response.content == b""
        return
    body = response.json()
    validator = response_validator(op)
    if validator is None:
        return
    target = body["data"] if spec.spec_omits_envelope(op) else body
    errors = sorted(validator.iter_errors(target), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, f"{op.method} {op.path}: " + "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5])
    if op.envelope:
        assert (body["http_code"], body["response_code"]) == (op.success_status, "SUCCESS")


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.operation_id for op in OPERATIONS])
def test_valid_call_matches_spec(walker: Walker, op: spec.Operation) -> None:
    params = walker.params(op, fresh=_destructive(op))
    _validate(op, walker.call(op, params, walker.body(op)))


REQUIRED_CASES = [
    (op, field)
    for op in OPERATIONS
    for field in spec.flatten(op.source, spec.request_schema(op) or {}).get("required", [])
]


@pytest.mark.parametrize("op, field", REQUIRED_CASES, ids=[f"{op.operation_id}-{field}" for op, field in REQUIRED_CASES])
def test_missing_required_field_is_400(walker: Walker, op: spec.Operation, field: str) -> None:
    body = walker.body(op)
    body.pop(field, None)
    response = walker.call(op, walker.params(op, fresh=_destructive(op)), body)
    if field == "list_id" and (op.method, op.path) in PRECHECKS:
        # a campaign's list is looked up before the body is validated (recorded): no list is an unknown one
        assert (response.status_code, response.json()["response_msg"]) == (404, "Your list is not found.")
        return
    assert response.status_code == 400, response.text[:500]
    envelope = response.json()
    assert (envelope["http_code"], envelope["response_code"]) == (400, "BAD_REQUEST")
    # default senders name fields in the documented ``details``, everything else in ``data``
    named = [d["field"] for d in envelope["details"]] if "details" in envelope else envelope["data"]
    assert field in named, envelope


UNKNOWN_ID_CASES = [
    op for op in OPERATIONS
    if op.operation_id not in SHAPE_ONLY and re.search(r"{(\w+_id)}$", op.path) and op.auth
]


@pytest.mark.parametrize("op", UNKNOWN_ID_CASES, ids=[op.operation_id for op in UNKNOWN_ID_CASES])
def test_unknown_id_is_404(walker: Walker, op: spec.Operation) -> None:
    params = walker.params(op, fresh=False)
    last = re.findall(r"{(\w+)}", op.path)[-1]
    params[last] = "99999999" if str(params[last]).isdigit() else "00000000-0000-4000-8000-000000000000"
    response = walker.call(op, params, walker.body(op))
    # NOTES.md §2 (recorded): a list that is not yours may also be 403 FORBIDDEN.
    allowed = {404: "NOT_FOUND"} | ({403: "FORBIDDEN"} if last.endswith("list_id") else {})
    assert response.status_code in allowed, response.text[:500]
    if op.envelope:
        envelope = response.json()
        assert (envelope["http_code"], envelope["response_code"], envelope["data"]) == (response.status_code, allowed[response.status_code], None)
