"""``reconcile`` by itself: a send whose answer was lost is settled from the history, with a fake
``run_query`` standing in for the SELECT engine (no HTTP)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from clicksend_sql.catalog import load_catalog
from clicksend_sql.writes.outcomes import OUTCOME_SCHEMA
from clicksend_sql.writes.plan_rows import WriteRows
from clicksend_sql.writes.reconcile import messages_before, reconcile

SMS = load_catalog().table("SMSHistory")
STARTED = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
ROWS_SCHEMA = pa.schema([("To", pa.string()), ("ListId", pa.int64()), ("Body", pa.string()), ("CustomString", pa.string())])


class FakeHistory:
    """What SELECT would return from SMSHistory: the given rows, whatever the query; the queries
    asked are kept to check what was asked."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.queries: list[str] = []

    def __call__(self, query: exp.Expr) -> pa.Table:
        self.queries.append(query.sql("duckdb"))
        return pa.Table.from_pylist(self.rows, schema=pa.schema([
            ("MessageId", pa.string()), ("To", pa.string()), ("ListId", pa.int64()), ("CustomString", pa.string()),
            ("MessagePrice", pa.decimal128(18, 6)), ("Status", pa.string())]))


def history(message_id: str, to: str, custom: str, list_id: int | None = None, price: str = "0.07") -> dict[str, Any]:
    return {"MessageId": message_id, "To": to, "ListId": list_id, "CustomString": custom,
            "MessagePrice": Decimal(price), "Status": "Delivered"}


def lost_send(records: list[dict[str, Any]], columns: tuple[str, ...] = ("To", "ListId", "Body")) -> tuple[WriteRows, pa.Table, pa.Table]:
    """A write whose one request failed after it may have been acted on: every row ``unknown``."""
    rows = pa.Table.from_pylist(records, schema=ROWS_SCHEMA)
    outcome = pa.Table.from_pylist([{"row": i + 1, "status": "unknown", "error": "connection dropped",
                                     "custom_string": r["CustomString"]} for i, r in enumerate(records)], schema=OUTCOME_SCHEMA)
    return WriteRows("INSERT", SMS, columns, rows), rows, outcome


def row(to: str | None, custom: str, list_id: int | None = None) -> dict[str, Any]:
    return {"To": to, "ListId": list_id, "Body": "hi", "CustomString": custom}


def test_a_message_found_in_the_history_settles_its_row_as_sent() -> None:
    write, rows, outcome = lost_send([row("+61411111111", "csql-1"), row("+61411111112", "csql-2")])
    fake = FakeHistory([history("m1", "+61411111111", "csql-1", price="0.05")])
    settled, found = reconcile(write, rows, outcome, fake, STARTED, frozenset())
    first, second = settled.to_pylist()
    assert (first["status"], first["message_id"], first["key"], first["price"], first["messages"], first["api_status"]) == (
        "ok", "m1", "m1", Decimal("0.05"), 1, "Delivered")
    assert second["status"] == "error" and second["messages"] == 0 and "not sent: no message with CustomString 'csql-2'" in second["error"]
    assert list(found) == [0] and found[0][0]["MessageId"] == "m1"


def test_the_history_is_asked_for_this_statements_strings_from_just_before_it_started() -> None:
    write, rows, outcome = lost_send([row("+61411111111", "csql-b"), row("+61411111112", "csql-a")])
    fake = FakeHistory([])
    reconcile(write, rows, outcome, fake, STARTED, frozenset())
    (sql,) = fake.queries
    assert "FROM SMSHistory" in sql and "CustomString IN ('csql-a', 'csql-b')" in sql
    assert "Date >= CAST('2025-03-01T11:50:00+00:00' AS TIMESTAMPTZ)" in sql  # CLOCK_SLACK: 10 minutes


def test_messages_that_existed_before_the_send_do_not_settle_it() -> None:
    """A CustomString the caller reuses matches older messages too: only ids not in ``before`` count."""
    write, rows, outcome = lost_send([row("+61411111111", "weekly")])
    fake = FakeHistory([history("old", "+61411111111", "weekly")])
    settled, found = reconcile(write, rows, outcome, fake, STARTED, frozenset({"old"}))
    assert settled.column("status").to_pylist() == ["error"] and found == {}
    settled, _ = reconcile(write, rows, outcome, FakeHistory([history("old", "+61411111111", "weekly"),
                                                              history("new", "+61411111111", "weekly")]), STARTED, frozenset({"old"}))
    assert settled.column("message_id").to_pylist() == ["new"]


def test_rows_sharing_a_custom_string_are_settled_by_their_recipients() -> None:
    write, rows, outcome = lost_send([row("+61411111112", "weekly"), row(None, "weekly", list_id=7), row("+61411111111", "weekly")])
    fake = FakeHistory([history("m-a", "+61411111111", "weekly"), history("m-l1", "+61400000001", "weekly", list_id=7, price="0.1"),
                        history("m-b", "+61411111112", "weekly"), history("m-l2", "+61400000002", "weekly", list_id=7, price="0.2")])
    settled, found = reconcile(write, rows, outcome, fake, STARTED, frozenset())
    got = settled.select(["status", "message_id", "messages", "price", "api_status"]).to_pylist()
    assert got == [
        {"status": "ok", "message_id": "m-b", "messages": 1, "price": Decimal("0.07"), "api_status": "Delivered"},
        {"status": "ok", "message_id": None, "messages": 2, "price": Decimal("0.3"), "api_status": "settled from history"},
        {"status": "ok", "message_id": "m-a", "messages": 1, "price": Decimal("0.07"), "api_status": "Delivered"},
    ]
    assert [m["MessageId"] for m in found[1]] == ["m-l1", "m-l2"]


def test_nothing_is_asked_when_no_row_is_unknown() -> None:
    write, rows, outcome = lost_send([row("+61411111111", "a")])
    done = outcome.set_column(outcome.schema.get_field_index("status"), "status", pa.array(["ok"]))
    fake = FakeHistory([history("m1", "+61411111111", "a")])
    assert reconcile(write, rows, done, fake, STARTED, frozenset()) == (done, {}) and fake.queries == []


def test_a_table_without_a_dated_history_is_never_settled() -> None:
    """Letters/postcards/contacts: no batched send with CustomString and date, so unknown stays unknown."""
    contacts = load_catalog().table("Contacts")
    write = WriteRows("INSERT", contacts, ("ListId", "Email"), pa.table({"ListId": [3], "Email": ["a@b.c"]}))
    outcome = pa.Table.from_pylist([{"row": 1, "status": "unknown", "custom_string": "x"}], schema=OUTCOME_SCHEMA)
    fake = FakeHistory([])
    assert reconcile(write, write.rows, outcome, fake, STARTED, frozenset())[0] is outcome and fake.queries == []


def test_messages_before_reads_only_the_callers_strings() -> None:
    """Generated CustomStrings are unique by construction: without the caller's there is nothing to read."""
    write, _, _ = lost_send([row("+61411111111", "weekly"), row("+61411111112", "")], columns=("To", "Body", "CustomString"))
    fake = FakeHistory([history("old", "+61411111111", "weekly")])
    assert messages_before(write, fake, STARTED) == frozenset({"old"})
    assert "CustomString IN ('weekly')" in fake.queries[0] and fake.queries[0].startswith('SELECT "MessageId" FROM SMSHistory')
    quiet = FakeHistory([])
    unnamed, _, _ = lost_send([row("+61411111111", "")])  # no CustomString column: all generated
    empty, _, _ = lost_send([row("+61411111111", "")], columns=("To", "Body", "CustomString"))  # given, but empty
    assert messages_before(unnamed, quiet, STARTED) == messages_before(empty, quiet, STARTED) == frozenset()
    assert quiet.queries == []
