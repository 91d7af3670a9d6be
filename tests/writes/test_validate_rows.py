"""``validate_rows`` by itself: every row is checked before anything is sent (no HTTP, no DuckDB)."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from clicksend_sql.catalog import load_catalog
from clicksend_sql.config import Limits
from clicksend_sql.writes.plan_rows import WriteError, WriteRows
from clicksend_sql.writes.validate_rows import validate_rows

CATALOG = load_catalog()
SMS = CATALOG.table("SMSHistory")
SKIP = Limits(invalid_rows="skip")
GOOD = "+61411111111"


def sms(rows: dict[str, list[object]], origins: tuple[int, ...] | None = None) -> WriteRows:
    return WriteRows("INSERT", SMS, tuple(rows), pa.table(rows), origins=origins)


def test_a_text_at_the_documented_length_passes_and_one_more_character_fails() -> None:
    """Lengths count characters, not bytes: 1,224 'é' (2,448 bytes) is one SMS body the API takes."""
    kept, skipped = validate_rows(sms({"To": [GOOD, GOOD], "Body": ["x" * 1224, "é" * 1224]}))
    assert kept.rows.num_rows == 2 and skipped == {}
    with pytest.raises(WriteError, match=r"row 2: Body is 1225 characters; the API accepts at most 1224"):
        validate_rows(sms({"To": [GOOD, GOOD], "Body": ["ok", "é" * 1225]}))


def test_a_required_column_left_out_fails_the_statement_even_with_skip() -> None:
    """A missing column is the statement's fault, not a row's: skip does not apply."""
    with pytest.raises(WriteError, match="needs a value for Body; add it to the column list"):
        validate_rows(sms({"To": [GOOD]}), SKIP)


def test_a_required_value_that_is_null_names_its_row() -> None:
    with pytest.raises(WriteError, match=r"row 2: Body is NULL; it is required"):
        validate_rows(sms({"To": [GOOD, GOOD], "Body": ["hi", None]}))


def test_one_of_the_recipients_is_needed_as_a_column_and_per_row() -> None:
    """SMSHistory takes To or ListId (insert_one_of): neither column is a statement error; both
    NULL in one row is that row's error."""
    with pytest.raises(WriteError, match="needs one of To, ListId; none is in the column list"):
        validate_rows(sms({"Body": ["hi"]}))
    write = sms({"To": [GOOD, None, None], "ListId": [None, 7, None], "Body": ["a", "b", "c"]})
    with pytest.raises(WriteError, match=r"row 3: one of To, ListId must have a value"):
        validate_rows(write)


def test_values_are_cast_to_the_declared_types_and_the_first_that_does_not_fit_is_named() -> None:
    kept, _ = validate_rows(sms({"ListId": ["7"], "Body": ["hi"]}))
    assert kept.rows.schema.field("ListId").type == pa.int64() and kept.rows.column("ListId").to_pylist() == [7]
    with pytest.raises(WriteError, match=r"row 3: ListId = 'abc' is not a BIGINT value"):
        validate_rows(sms({"ListId": ["1", "2", "abc", "x"], "Body": ["a", "b", "c", "d"]}))


def test_read_only_columns_and_path_columns_of_an_update_are_refused() -> None:
    with pytest.raises(WriteError, match="Status is read-only"):
        validate_rows(sms({"To": [GOOD], "Body": ["hi"], "Status": ["Sent"]}))
    contacts = CATALOG.table("Contacts")
    update = WriteRows("UPDATE", contacts, ("ListId",), pa.table({"ContactId": [9], "ListId": [4]}))
    with pytest.raises(WriteError, match="UPDATE Contacts: ListId is read-only"):
        validate_rows(update)


def test_update_to_null_is_refused_for_a_type_without_an_empty_value() -> None:
    """ClickSend clears only text (to ''); a BOOLEAN set to NULL has nothing to send."""
    rules = CATALOG.table("SMSDeliveryReceiptRules")
    write = WriteRows("UPDATE", rules, ("Enabled",), pa.table({"ReceiptRuleId": [1, 2], "Enabled": [True, None]}))
    with pytest.raises(WriteError, match=r"row 2: Enabled = NULL cannot be written"):
        validate_rows(write)
    contacts = CATALOG.table("Contacts")
    cleared = WriteRows("UPDATE", contacts, ("Email",), pa.table({"ContactId": [9], "ListId": [3], "Email": pa.array([None], pa.string())}))
    assert validate_rows(cleared)[0].rows.num_rows == 1


def test_a_key_that_is_null_cannot_name_a_row_to_change() -> None:
    lists = CATALOG.table("ContactLists")
    with pytest.raises(WriteError, match=r"DELETE FROM ContactLists row 2: ListId is NULL"):
        validate_rows(WriteRows("DELETE", lists, (), pa.table({"ListId": [5, None]})))


@pytest.mark.parametrize(("number", "why"), [("12", "it has 2 digits"), ("+6141111111111111111", "too long for its country code")])
def test_impossible_phone_numbers_are_refused_before_sending(number: str, why: str) -> None:
    with pytest.raises(WriteError, match=rf"row 2: To = {re.escape(repr(number))} cannot be a phone number: .*{why}"):
        validate_rows(sms({"To": [GOOD, number], "Body": ["a", "b"]}))


def test_skip_reports_bad_rows_by_their_input_row_and_keeps_the_rest() -> None:
    """With origins (rows already renumbered by an earlier step) the skipped keys and the kept
    rows' origins are input rows, not positions in this table."""
    write = sms({"To": [GOOD, "12", GOOD, GOOD], "Body": ["a", "b", None, "d"]}, origins=(4, 7, 9, 12))
    kept, skipped = validate_rows(write, SKIP)
    assert kept.origins == (4, 12)
    assert kept.rows.column("Body").to_pylist() == ["a", "d"]
    assert sorted(skipped) == [7, 9]
    assert "cannot be a phone number" in skipped[7] and skipped[9] == "Body is NULL; it is required."


def test_an_error_names_the_input_row_when_rows_were_renumbered() -> None:
    write = sms({"To": [GOOD, "12"], "Body": ["a", "b"]}, origins=(10, 20))
    with pytest.raises(WriteError, match=r"row 21: To = '12'"):
        validate_rows(write)


def test_the_first_rule_a_row_breaks_is_the_reason_given() -> None:
    """One reason per row: a required NULL first, then the columns' checks in the statement's
    column order (To before Body here, Body before To below)."""
    _, skipped = validate_rows(sms({"To": ["12", "12"], "Body": [None, "x" * 1300]}), SKIP)
    assert skipped == {0: "Body is NULL; it is required.",
                       1: "To = '12' cannot be a phone number: it has 2 digits; a phone number has 3 to 17."}
    _, skipped = validate_rows(sms({"Body": ["x" * 1300], "To": ["12"]}), SKIP)
    assert skipped == {0: "Body is 1300 characters; the API accepts at most 1224."}
