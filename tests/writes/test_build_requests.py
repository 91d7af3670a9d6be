"""``build_requests`` by itself: which requests a validated write makes, each knowing its rows."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from clicksend_sql.catalog import Table, load_catalog
from clicksend_sql.writes.build_requests import build_requests
from clicksend_sql.writes.plan_rows import WriteRows

CATALOG = load_catalog()
SMS = CATALOG.table("SMSHistory")
FAX = CATALOG.table("FaxHistory")
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def sms(n: int, **extra: list[object]) -> WriteRows:
    rows = {"To": [f"+614111{i:05d}" for i in range(n)], "Body": [f"m{i}" for i in range(n)], **extra}
    return WriteRows("INSERT", SMS, tuple(rows), pa.table(rows))


def test_sends_go_a_thousand_messages_to_a_request_in_input_order() -> None:
    requests, sent = build_requests(sms(2500))
    assert [len(r.rows) for r in requests] == [1000, 1000, 500]
    assert [r.rows[0] for r in requests] == [0, 1000, 2000]
    assert all(r.method == "POST" and r.path == "/sms/send" and r.batch == "messages" and not r.retry for r in requests)
    assert [m["body"] for m in requests[1].body["messages"][:2]] == ["m1000", "m1001"]
    assert sent.num_rows == 2500


def test_rows_that_differ_in_a_shared_field_go_to_different_requests() -> None:
    """Fax's file_url is said once per request, so each request carries one file's rows, the
    file at the top of the body and not in the messages."""
    rows = {"To": ["+61411111111", "+61411111112", "+61411111113"], "FileUrl": ["https://a/1.pdf", "https://b/2.pdf", "https://a/1.pdf"]}
    requests, _ = build_requests(WriteRows("INSERT", FAX, tuple(rows), pa.table(rows)))
    assert [(r.body["file_url"], r.rows) for r in requests] == [("https://a/1.pdf", (0, 2)), ("https://b/2.pdf", (1,))]
    assert all("file_url" not in m for r in requests for m in r.body["messages"])


def test_every_message_carries_a_custom_string_the_callers_kept_and_the_generated_unique() -> None:
    requests, sent = build_requests(sms(4, CustomString=["mine", None, "", "mine"]))
    strings = sent.column("CustomString").to_pylist()
    assert strings[0] == strings[3] == "mine"  # the caller's, even repeated
    generated = [strings[1], strings[2]]
    assert all(s.startswith("csql-") for s in generated) and len(set(generated)) == 2
    assert [m["custom_string"] for m in requests[0].body["messages"]] == strings
    _, again = build_requests(sms(2))
    assert set(again.column("CustomString").to_pylist()).isdisjoint(generated)  # a new run, new strings


def test_path_values_are_percent_encoded_as_one_segment() -> None:
    """A value is placed in the path as exactly one segment: no climbing to another resource."""
    lists = CATALOG.table("ContactLists")
    requests, _ = build_requests(WriteRows("DELETE", lists, (), pa.table({"ListId": ["../x?y=1", "5"]})))
    assert [(r.method, r.path, r.body, r.retry) for r in requests] == [
        ("DELETE", "/lists/%2E%2E%2Fx%3Fy%3D1", None, True), ("DELETE", "/lists/5", None, True)]


def test_update_clears_a_null_text_with_an_empty_string_and_keeps_path_values_out_of_the_body() -> None:
    contacts = CATALOG.table("Contacts")
    rows = pa.table({"ContactId": [9], "ListId": [3], "Email": pa.array([None], pa.string()), "FirstName": ["Ann"]})
    requests, _ = build_requests(WriteRows("UPDATE", contacts, ("Email", "FirstName"), rows))
    assert [(r.method, r.path, r.body, r.retry) for r in requests] == [
        ("PUT", "/lists/3/contacts/9", {"email": "", "first_name": "Ann"}, True)]


def test_insert_leaves_a_null_out_of_the_body() -> None:
    contacts = CATALOG.table("Contacts")
    rows = pa.table({"ListId": [3], "Email": ["a@b.c"], "FirstName": pa.array([None], pa.string())})
    requests, _ = build_requests(WriteRows("INSERT", contacts, ("ListId", "Email", "FirstName"), rows))
    assert [(r.method, r.path, r.body, r.retry) for r in requests] == [("POST", "/lists/3/contacts", {"email": "a@b.c"}, False)]


def _small_batches(table: Table, size: int) -> Table:
    assert table.insert is not None
    return replace(table, insert=replace(table.insert, batch_size=size))


@PROPERTY
@given(files=st.lists(st.sampled_from(["f1", "f2", "f3"]), max_size=40), size=st.integers(1, 7),
       strings=st.lists(st.sampled_from([None, "", "a", "b"]), min_size=40, max_size=40))
def test_every_row_is_carried_exactly_once(files: list[str], size: int, strings: list[str | None]) -> None:
    """Whatever the batch size, shared fields and CustomStrings: each row in exactly one request,
    no request over the batch size, one file per request, messages in the order of their rows,
    and the generated CustomStrings unique."""
    table = _small_batches(FAX, size)
    n = len(files)
    rows = {"To": [f"+61411{i:06d}" for i in range(n)], "FileUrl": files, "CustomString": strings[:n]}
    requests, sent = build_requests(WriteRows("INSERT", table, tuple(rows), pa.table(rows, schema=pa.schema(
        [("To", pa.string()), ("FileUrl", pa.string()), ("CustomString", pa.string())]))))
    carried = [i for r in requests for i in r.rows]
    assert sorted(carried) == list(range(n))
    sent_strings = sent.column("CustomString").to_pylist()
    for r in requests:
        assert 1 <= len(r.rows) <= size and list(r.rows) == sorted(r.rows)
        assert {files[i] for i in r.rows} == {r.body["file_url"]}
        assert [m["to"] for m in r.body["messages"]] == [rows["To"][i] for i in r.rows]
        assert [m["custom_string"] for m in r.body["messages"]] == [sent_strings[i] for i in r.rows]
    generated = [s for s, given_ in zip(sent_strings, strings, strict=False) if given_ in (None, "")]
    assert len(set(generated)) == len(generated) and all(s for s in sent_strings)
