"""The emulator delivers: inbound SMS and delivery receipts reach URL rules as ClickSend sends
them, and stay listed for POLL rules until marked read (emulator README, "Deliveries").

A small HTTP server on 127.0.0.1 stands in for the listener and records every call.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ConfigurationError

from conftest import ok
from vendored import API, load

DEDICATED = "+61480012345"  # the number the seeded replies were sent to
CUSTOMER = "+61412345678"
ATTEMPTS = 3
SIZES = {"contacts": 0, "sms-history": 20}


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes

    def form(self) -> dict[str, str]:
        return _single(parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=True))


def _single(parsed: dict[str, list[str]]) -> dict[str, str]:
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {k: v[0] for k, v in parsed.items()}


class Receiver:
    """The listener: records calls; ``script[path]`` lists statuses to answer first (then 200);
    calls to ``/gate`` wait until ``gate`` is set."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.script: dict[str, list[int]] = {}
        self.gate = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                query = _single(parse_qs(parts.query, keep_blank_values=True))
                receiver.calls.append(Call(self.command, parts.path, query, self.headers.get("content-type", ""), body))
                if parts.path == "/gate":
                    receiver.gate.wait(10)
                pending = receiver.script.get(parts.path)
                self.send_response(pending.pop(0) if pending else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def at(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.gate.set()
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture()
def emu() -> Iterator[Emulator]:
    with Emulator(seed=5, sizes=SIZES, delivery_attempts=ATTEMPTS, delivery_backoff_ms=20) as e:
        yield e


def inbound_rule(client: httpx.Client, url: str, *, number: str = "*", search: int = 0, term: str = "",
                 webhook: str | None = "post", enabled: int = 1, action: str = "URL") -> int:
    body = {"dedicated_number": number, "rule_name": "hook", "message_search_type": search, "message_search_term": term,
            "action": action, "action_address": url, "enabled": enabled, "webhook_type": webhook}
    return int(ok(client.post("/automations/sms/inbound", json=body))["inbound_rule_id"])


def receipt_rule(client: httpx.Client, url: str) -> int:
    body = {"rule_name": "hook", "match_type": 0, "action": "URL", "action_address": url, "enabled": 1}
    return int(ok(client.post("/automations/sms/receipts", json=body))["receipt_rule_id"])


def send_sms(client: httpx.Client, to: str = CUSTOMER, custom_string: str = "order-7") -> dict[str, Any]:
    sent = ok(client.post("/sms/send", json={"messages": [
        {"to": to, "body": "Your order is ready", "from": DEDICATED, "custom_string": custom_string}]}))
    message = sent["messages"][0]
    assert message["status"] == "SUCCESS", message
    return dict(message)


def unread(client: httpx.Client, path: str) -> set[str]:
    return {r["message_id"] for r in ok(client.get(path, params={"limit": 100}))["data"]}


def inbound_payload_fields() -> set[str]:
    """What an inbound webhook carries: the inbound_sms item fields (spec) and the Power Automate
    trigger's fields (user_id, subaccount_id are only there)."""
    item = {f["name"] for f in load("clicksend-api/models.json")["inbound_sms"]["fields"]}
    return item | set(load("seeds/power_automate_trigger.json")["fields"])


def receipt_payload_fields() -> set[str]:
    """NOTES.md §7's webhook receipt variables (``digits`` is for voice only)."""
    notes = (API / "NOTES.md").read_text(encoding="utf-8")
    line = next(x for x in notes.splitlines() if "Webhook (URL action) receipt variables" in x)
    return set(re.findall(r"`(\w+)`", line.split("plus", 1)[0]))


def test_each_webhook_type_encodes_the_payload_and_keeps_blanks(emu: Emulator, client: httpx.Client,
                                                                 receiver: Receiver) -> None:
    for kind in ("post", "get", "json"):
        inbound_rule(client, receiver.url(f"/{kind}?rule={kind}"), webhook=kind)
    message = emu.inbound(from_=CUSTOMER, to=DEDICATED, body="Hello, is this open?")
    assert len(message["deliveries"]) == 3
    assert {d["status"] for d in emu.wait_for_deliveries(3)} == {"delivered"}

    [post], [get], [as_json] = receiver.at("/post"), receiver.at("/get"), receiver.at("/json")
    assert (post.method, post.content_type) == ("POST", "application/x-www-form-urlencoded")
    assert re.search(rb"(^|&)custom_string=(&|$)", post.body) and re.search(rb"(^|&)original_body=(&|$)", post.body)
    fields = post.form()
    assert set(fields) == inbound_payload_fields()
    assert fields == {**fields, "from": CUSTOMER, "to": DEDICATED, "body": "Hello, is this open?", "custom_string": "",
                      "original_message_id": "", "original_body": "", "message_id": message["message_id"],
                      "_keyword": "hello", "timestamp": str(message["timestamp"])}

    assert (get.method, get.body) == ("GET", b"")
    assert get.query == {"rule": "get", **fields}  # the rule URL's own query is kept

    assert (as_json.method, as_json.content_type) == ("POST", "application/json")
    document = json.loads(as_json.body)
    assert {k: str(v) for k, v in document.items()} == fields
    types = {"string": str, "integer": int}
    for name, kind in load("seeds/power_automate_trigger.json")["fields"].items():
        assert isinstance(document[name], types[kind]), (name, document[name])


def test_rules_match_by_number_and_search_and_only_enabled_url_rules_are_called(
        emu: Emulator, client: httpx.Client, receiver: Receiver) -> None:
    inbound_rule(client, receiver.url("/any"))
    inbound_rule(client, receiver.url("/mine"), number=DEDICATED.removeprefix("+"))  # "+" does not matter
    inbound_rule(client, receiver.url("/other"), number="+61480099999")
    inbound_rule(client, receiver.url("/starts"), search=1, term="yes")
    inbound_rule(client, receiver.url("/contains"), search=2, term="STOP")
    inbound_rule(client, receiver.url("/lacks"), search=3, term="stop")
    inbound_rule(client, receiver.url("/off"), enabled=0)
    inbound_rule(client, receiver.url("/email"), action="EMAIL_FIXED")
    off_later = inbound_rule(client, receiver.url("/disabled-later"))
    ok(client.put(f"/automations/sms/inbound/{off_later}", json={"enabled": 0}))

    emu.inbound(from_=CUSTOMER, to=DEDICATED, body="Yes please")
    emu.inbound(from_=CUSTOMER, to="+61480099999", body="please stop")
    emu.wait_for_deliveries(7)

    called = {path: [c.form()["body"] for c in receiver.at(path)] for path in {c.path for c in receiver.calls}}
    assert called == {"/any": ["Yes please", "please stop"], "/mine": ["Yes please"], "/other": ["please stop"],
                      "/starts": ["Yes please"], "/contains": ["please stop"], "/lacks": ["Yes please"]}


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(emu: Emulator, client: httpx.Client,
                                                                   receiver: Receiver) -> None:
    receiver.script = {"/flaky": [503, 500], "/down": [500] * 10}
    inbound_rule(client, receiver.url("/flaky"))
    inbound_rule(client, receiver.url("/down"))
    with httpx.Client() as probe:  # a port nothing listens on
        closed = receiver.url("/x").replace(str(receiver.server.server_port), "9")
        with pytest.raises(httpx.ConnectError):
            probe.get(closed)
    inbound_rule(client, closed)
    message = emu.inbound(from_=CUSTOMER, to=DEDICATED, body="Hi")
    by_url = {d["url"]: d for d in emu.wait_for_deliveries(3)}

    flaky = by_url[receiver.url("/flaky")]
    assert (flaky["status"], flaky["attempts"]) == ("delivered", 3)
    assert [t["status_code"] for t in flaky["tries"]] == [503, 500, 200]
    gaps = [b["at"] - a["at"] for a, b in zip(flaky["tries"], flaky["tries"][1:])]
    assert gaps[0] >= 0.015 and gaps[1] >= 0.035  # 20 ms, then doubled
    assert len(receiver.at("/flaky")) == 3 and len({c.body for c in receiver.at("/flaky")}) == 1  # the same call again

    down = by_url[receiver.url("/down")]
    assert (down["status"], down["attempts"]) == ("failed", ATTEMPTS) and len(receiver.at("/down")) == ATTEMPTS
    assert "gave up after 3 attempts" in down["reason"]
    refused = by_url[closed]
    assert refused["status"] == "failed" and {t["error"] for t in refused["tries"]} == {"ConnectError"}
    assert all(d["message_id"] == message["message_id"] for d in by_url.values())


def test_a_delivery_never_holds_up_the_request_that_caused_it(emu: Emulator, client: httpx.Client,
                                                             receiver: Receiver) -> None:
    inbound_rule(client, receiver.url("/gate"))
    emu.inbound(from_=CUSTOMER, to=DEDICATED, body="Hi")  # answered while the listener still holds the call
    deadline = time.monotonic() + 5
    while not receiver.at("/gate") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [d["status"] for d in emu.deliveries()] == ["pending"]
    assert ok(client.get("/account"))  # the emulator keeps serving meanwhile
    receiver.gate.set()
    assert [d["status"] for d in emu.wait_for_deliveries(1)] == ["delivered"]


def test_only_loopback_urls_are_called(emu: Emulator, client: httpx.Client, receiver: Receiver) -> None:
    """Other URLs are accepted, as ClickSend accepts them, but never called: the delivery is
    recorded as skipped (the emulator does not call out of the machine)."""
    outside = ["https://example.com/hook", "http://10.0.0.1/hook", "http://127.0.0.1.nip.io/hook", "not a url"]
    for url in outside:
        inbound_rule(client, url)
    inbound_rule(client, receiver.url("/local").replace("127.0.0.1", "localhost"))
    emu.inbound(from_=CUSTOMER, to=DEDICATED, body="Hi")
    by_url = {d["url"]: d for d in emu.wait_for_deliveries(5)}
    assert {url: by_url[url]["status"] for url in outside} == dict.fromkeys(outside, "skipped")
    assert all(by_url[url]["attempts"] == 0 and by_url[url]["reason"] for url in outside)
    assert len(receiver.at("/local")) == 1


def test_receipts_are_pushed_and_change_the_message_status_in_history(emu: Emulator, client: httpx.Client,
                                                                      receiver: Receiver) -> None:
    receipt_rule(client, receiver.url("/receipts"))
    sent = send_sms(client)
    emu.wait_for_deliveries(1)  # a send is delivered at once: its receipt is pushed too
    [delivered] = receiver.at("/receipts")
    fields = delivered.form()
    assert set(fields) == receipt_payload_fields()
    assert fields == {**fields, "message_id": sent["message_id"], "status": "Delivered", "status_code": "201",
                      "error_code": "", "error_text": "", "custom_string": "order-7", "message_type": "sms",
                      "user_id": str(sent["user_id"]), "subaccount_id": str(sent["subaccount_id"])}

    failed = emu.receipt(sent["message_id"], status_code=301)
    assert failed["deliveries"] and emu.wait_for_deliveries(2)[-1]["status"] == "delivered"
    fields = receiver.at("/receipts")[-1].form()
    assert fields == {**fields, "status": "Undelivered", "status_code": "301", "error_code": "301",
                      "status_text": "Failed: Permanent failure, number unreachable.", "error_text": "Number unreachable.",
                      "timestamp": str(failed["timestamp"]), "custom_string": "order-7"}
    history = {h["message_id"]: h for h in ok(client.get("/sms/history", params={"limit": 100}))["data"]}
    row = history[sent["message_id"]]
    assert (row["status"], row["status_code"], row["error_code"]) == ("Failed", "301", "301")
    assert ok(client.get(f"/sms/receipts/{sent['message_id']}"))["status_code"] == 301


def test_poll_rules_list_arrivals_until_they_are_marked_read(emu: Emulator, client: httpx.Client) -> None:
    first = emu.inbound(from_=CUSTOMER, to=DEDICATED, body="One")
    second = emu.inbound(from_=CUSTOMER, to=DEDICATED, body="Two")
    assert {first["message_id"], second["message_id"]} <= unread(client, "/sms/inbound")
    listed = {r["message_id"]: r for r in ok(client.get("/sms/inbound", params={"limit": 100}))["data"]}
    assert listed[first["message_id"]]["timestamp_send"] == listed[first["message_id"]]["timestamp"] == first["timestamp"]

    ok(client.put(f"/sms/inbound-read/{first['message_id']}"))
    assert first["message_id"] not in unread(client, "/sms/inbound") and second["message_id"] in unread(client, "/sms/inbound")
    ok(client.put("/sms/inbound-read", json={}))
    assert unread(client, "/sms/inbound") == set()

    sent = send_sms(client)
    assert sent["message_id"] in unread(client, "/sms/receipts")
    ok(client.put("/sms/receipts-read", json={}))
    assert unread(client, "/sms/receipts") == set()
    emu.receipt(sent["message_id"], status_code=301)  # a new report for the message is unread again
    assert unread(client, "/sms/receipts") == {sent["message_id"]}


def test_what_no_poll_rule_caught_on_arrival_is_never_listed(emu: Emulator, client: httpx.Client) -> None:
    for rule in ok(client.get("/automations/sms/inbound"))["data"]:
        ok(client.delete(f"/automations/sms/inbound/{rule['inbound_rule_id']}"))
    ok(client.put("/sms/inbound-read", json={}))  # the seeded replies
    inbound_rule(client, "", number="+61480099999", action="POLL", webhook=None)
    elsewhere = emu.inbound(from_=CUSTOMER, to=DEDICATED, body="Missed")
    caught = emu.inbound(from_=CUSTOMER, to="+61480099999", body="Caught")
    inbound_rule(client, "", action="POLL", webhook=None)  # a catch-all rule made later does not catch it
    assert unread(client, "/sms/inbound") == {caught["message_id"]}
    assert emu.deliveries() == []  # POLL rules call nobody
    assert elsewhere["message_id"]


def test_a_reply_is_linked_to_the_message_it_answers(emu: Emulator, client: httpx.Client, receiver: Receiver) -> None:
    sent = send_sms(client)
    reply = emu.inbound(from_=CUSTOMER, body="Thanks")  # no original named: the last message sent to CUSTOMER
    assert (reply["original_message_id"], reply["original_body"], reply["to"], reply["custom_string"]) == (
        sent["message_id"], "Your order is ready", DEDICATED, "order-7")
    explicit = emu.inbound(original_message_id=sent["message_id"], body="On my way", custom_string="")
    assert (explicit["from"], explicit["to"], explicit["custom_string"]) == (CUSTOMER, DEDICATED, "")
    assert ok(client.get(f"/sms/inbound/{sent['message_id']}"))["message_id"] == reply["message_id"]  # the first reply


def test_the_official_test_endpoints_push_to_the_url_they_are_given(emu: Emulator, client: httpx.Client,
                                                                    receiver: Receiver) -> None:
    inbound_rule(client, receiver.url("/rule"))  # the account's rules are not involved
    sample = ok(client.post("/sms/inbound", json={"url": receiver.url("/test-inbound"), "webhook_type": "get"}))
    assert "timestamp" not in sample and isinstance(sample["timestamp_send"], int)  # as the spec's example
    test_receipt = ok(client.post("/sms/receipts", json={"url": receiver.url("/test-receipt")}))
    emu.wait_for_deliveries(2)
    [inbound_call], [receipt_call] = receiver.at("/test-inbound"), receiver.at("/test-receipt")
    assert inbound_call.method == "GET" and inbound_call.query["message_id"] == sample["message_id"]
    assert inbound_call.query["custom_string"] == sample["custom_string"] and inbound_call.query["_keyword"] == "this"
    assert receipt_call.form()["message_id"] == test_receipt["message_id"] and receipt_call.form()["status"] == "Delivered"
    assert receiver.at("/rule") == []
    assert sample["message_id"] not in unread(client, "/sms/inbound")

    polled = ok(client.post("/sms/receipts", json={"url": "poll"}))  # spec: "poll" keeps it to be polled
    assert polled["message_id"] in unread(client, "/sms/receipts")
    assert len(emu.deliveries()) == 2


def test_the_admin_endpoints_refuse_what_they_cannot_act_on(emu: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="no sent SMS"):
        emu.receipt("NOT-A-MESSAGE")
    with pytest.raises(ConfigurationError, match="give from and to"):
        emu.inbound(body="Who am I?")
    with pytest.raises(ConfigurationError, match="give body"):
        emu.inbound(from_=CUSTOMER, to=DEDICATED)
    admin = f"http://{emu.host}:{emu.port}/_emulator"
    assert httpx.post(f"{admin}/inbound", content=b"{nope").status_code == 400
    assert httpx.get(f"{admin}/deliveries").json() == {"pending": 0, "deliveries": []}
