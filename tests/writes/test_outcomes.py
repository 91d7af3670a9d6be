"""``outcomes`` by itself: answers matched to rows by identity, never by position (no HTTP: the
answers are built as the client would return them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import orjson
import pyarrow as pa

from clicksend_sql.catalog import load_catalog
from clicksend_sql.http import ApiResponse
from clicksend_sql.writes.build_requests import WriteRequest
from clicksend_sql.writes.outcomes import OUTCOME_SCHEMA, match_messages, merge, outcomes
from clicksend_sql.writes.plan_rows import WriteRows
from clicksend_sql.writes.send_requests import RequestOutcome

CATALOG = load_catalog()
SMS = CATALOG.table("SMSHistory")


def answer(messages: list[dict[str, Any]]) -> ApiResponse:
    body = {"http_code": 200, "response_code": "SUCCESS", "data": {"messages": messages}}
    return ApiResponse(200, orjson.dumps(body), httpx.Headers(), "POST", "/sms/send")


def send(records: list[dict[str, Any]], messages: list[dict[str, Any]] | None, status: str = "ok",
         origins: tuple[int, ...] | None = None) -> tuple[pa.Table, list[list[dict[str, Any]]]]:
    """The outcomes of one batched send of ``records`` answered with ``messages``."""
    rows = pa.Table.from_pylist(records, schema=pa.schema(
        [("To", pa.string()), ("ListId", pa.int64()), ("Body", pa.string()), ("CustomString", pa.string())]))
    write = WriteRows("INSERT", SMS, ("To", "ListId", "Body"), rows, origins=origins)
    request = WriteRequest("POST", "/sms/send", {}, tuple(range(len(records))), retry=False, batch="messages")
    response = answer(messages) if messages is not None else None
    return outcomes(write, rows, [RequestOutcome(request, status, response, None if status == "ok" else "lost")])


def row(to: str | None, custom: str, list_id: int | None = None) -> dict[str, Any]:
    return {"To": to, "ListId": list_id, "Body": "hi", "CustomString": custom}


def message(custom: str | None, to: str, status: str = "SUCCESS", price: str = "0.07", **more: Any) -> dict[str, Any]:
    found = {"to": to, "status": status, "message_price": price, "message_id": f"id-{to}-{custom}", **more}
    if custom is not None:
        found["custom_string"] = custom
    return found


def test_messages_are_matched_by_custom_string_whatever_their_order() -> None:
    table, items = send([row("+61411111111", "a"), row("+61411111112", "b")],
                        [message("b", "+61411111112", price="0.1"), message("a", "+61411111111", price="0.2")])
    got = table.select(["row", "status", "message_id", "custom_string", "price", "messages"]).to_pylist()
    assert got == [
        {"row": 1, "status": "ok", "message_id": "id-+61411111111-a", "custom_string": "a", "price": Decimal("0.2"), "messages": 1},
        {"row": 2, "status": "ok", "message_id": "id-+61411111112-b", "custom_string": "b", "price": Decimal("0.1"), "messages": 1},
    ]
    assert [[m["to"] for m in ms] for ms in items] == [["+61411111111"], ["+61411111112"]]


def test_rows_sharing_a_custom_string_are_told_apart_by_recipient() -> None:
    """The caller's CustomString repeated: the number each row gave (any format) finds its message."""
    records = [row("0411 111 112", "same"), row("+61411111111", "same")]
    answered = [message("same", "+61411111111"), message("same", "+61411111112")]
    assert [[m["to"] for m in ms] for ms in match_messages(SMS, records, answered)] == [["+61411111112"], ["+61411111111"]]


def test_a_list_row_takes_every_message_of_its_list() -> None:
    """One ListId row is one message per contact: counted, priced together, no single key."""
    records = [row(None, "s", list_id=7), row("+61411111111", "s")]
    answered = [message("s", "+61400000001", list_id="7", price="0.1"), message("s", "+61411111111"),
                message("s", "+61400000002", list_id=7, price="0.2")]
    table, items = send(records, answered)
    first = table.to_pylist()[0]
    assert (first["status"], first["messages"], first["price"], first["key"], first["message_id"]) == ("ok", 2, Decimal("0.3"), None, None)
    assert [m["to"] for m in items[0]] == ["+61400000001", "+61400000002"] and [m["to"] for m in items[1]] == ["+61411111111"]


def test_refused_messages_make_an_error_or_a_partial_ok() -> None:
    """All refused: error, nothing to return. Some refused: ok (re-sending would duplicate the
    accepted ones), the refusals named, only the accepted counted and priced."""
    records = [row("+61411111111", "a"), row(None, "b", list_id=7)]
    answered = [message("a", "+61411111111", status="INVALID_RECIPIENT"),
                message("b", "+61400000001", list_id=7, price="0.1"), message("b", "+61400000002", list_id=7, status="COUNTRY_NOT_ENABLED")]
    table, items = send(records, answered)
    refused, partial = table.to_pylist()
    assert (refused["status"], refused["error"], refused["messages"], refused["price"]) == (
        "error", "ClickSend refused this message: INVALID_RECIPIENT", 0, None)
    assert (partial["status"], partial["error"], partial["messages"], partial["price"]) == (
        "ok", "1 of 2 messages refused: COUNTRY_NOT_ENABLED", 1, Decimal("0.1"))
    assert partial["api_status"] == "SUCCESS, COUNTRY_NOT_ENABLED"
    assert items[0] == [] and [m["to"] for m in items[1]] == ["+61400000001"]


def test_an_answer_without_custom_strings_is_matched_by_recipient_never_by_position() -> None:
    """An API that drops custom_string leaves the recipient to go by; a row it names no message
    for stays unmatched (unknown), whatever the order of the answer."""
    records = [row("+61411111111", "a"), row("+61411111112", "b"), row("+61411111113", "c")]
    matched = match_messages(SMS, records, [message(None, "+61411111113"), message(None, "+61411111111")])
    assert [[m["to"] for m in ms] for ms in matched] == [["+61411111111"], [], ["+61411111113"]]


def test_rows_sharing_a_custom_string_never_take_another_number_s_message() -> None:
    """Review finding: a row took pool[0] when its own message was missing, and a digit suffix
    matched +12025550123 to +8612025550123."""
    records = [row("+61411111111", "s"), row("+61411111112", "s")]
    matched = match_messages(SMS, records, [message("s", "+61411111112")])
    assert [[m["to"] for m in ms] for ms in matched] == [[], ["+61411111112"]]
    records = [row("+8612025550123", "t"), row("+12025550123", "t")]
    matched = match_messages(SMS, records, [message("t", "+12025550123"), message("t", "+8612025550123")])
    assert [[m["to"] for m in ms] for ms in matched] == [["+8612025550123"], ["+12025550123"]]


def test_a_row_the_answer_does_not_list_is_unknown_and_a_lost_answer_leaves_every_row_unsettled() -> None:
    table, _ = send([row("+61411111111", "a"), row("+61411111112", "b")], [message("a", "+61411111111")])
    assert table.column("status").to_pylist() == ["ok", "unknown"]
    assert table.column("error").to_pylist()[1] == "the answer did not list this message"
    lost, items = send([row("+61411111111", "a")], None, status="unknown")
    assert lost.select(["status", "error", "custom_string", "messages"]).to_pylist() == [
        {"status": "unknown", "error": "lost", "custom_string": "a", "messages": None}]
    assert items == [[]]


def test_outcome_rows_are_numbered_by_input_row() -> None:
    table, _ = send([row("+61411111111", "a")], [message("a", "+61411111111")], origins=(4,))
    assert table.column("row").to_pylist() == [5]


def test_merge_puts_skipped_rows_among_the_sent_in_input_order() -> None:
    sent = pa.Table.from_pylist([{"row": 2, "status": "ok"}, {"row": 4, "status": "error", "error": "refused"}], schema=OUTCOME_SCHEMA)
    merged = merge([sent], {0: "invalid", 2: "exists"})
    assert merged.select(["row", "status", "error"]).to_pylist() == [
        {"row": 1, "status": "skipped", "error": "invalid"}, {"row": 2, "status": "ok", "error": None},
        {"row": 3, "status": "skipped", "error": "exists"}, {"row": 4, "status": "error", "error": "refused"}]
    assert merge([], {1: "x"}).schema == OUTCOME_SCHEMA and merge([], {}).num_rows == 0
