"""The catalog loader, column naming and the metadata tables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clicksend_sql.catalog import column_name, load_catalog
from clicksend_sql.errors import CatalogError, ClickSendSQLError, UnknownTableError
from clicksend_sql.system_tables import system_tables

CATALOG = load_catalog()
GOOD_TABLE = """\
name: Things
endpoints:
  list: {path: "/things", shape: paginator}
primary_key: [ThingId]
columns:
  - {field: thing_id, type: BIGINT}
"""


def write_catalog(tmp_path: Path, table: str, procedure: str | None = None) -> tuple[Path, Path]:
    schema, procs = tmp_path / "schema", tmp_path / "procedures"
    schema.mkdir()
    procs.mkdir()
    (schema / "Broken.yaml").write_text(table, encoding="utf-8")
    if procedure is not None:
        (procs / "BrokenProc.yaml").write_text(procedure, encoding="utf-8")
    return schema, procs


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("name: [unclosed\n", "not valid YAML"),
        ("- just a list\n", "at the top level: ['just a list'] is not of type 'object'"),
        (GOOD_TABLE.replace("columns:\n  - {field: thing_id, type: BIGINT}\n", ""), "'columns' is a required property"),
        (GOOD_TABLE.replace("type: BIGINT", "type: NUMBERISH"), "at columns.0.type: 'NUMBERISH' does not match"),
        (GOOD_TABLE.replace("{field: thing_id, type: BIGINT}", "{type: BIGINT}"), "at columns.0: 'field' is a required property"),
        (GOOD_TABLE.replace("shape: paginator", "shape: pages"), "at endpoints.list.shape: 'pages' is not one of"),
        (GOOD_TABLE.replace("[ThingId]", "[Nope]"), "'Nope' is not a declared column"),
        (GOOD_TABLE + "dml: [UPSERT]\n", "at dml.0: 'UPSERT' is not one of ['INSERT', 'UPDATE', 'DELETE']"),
        (GOOD_TABLE + "filters:\n  - {column: Ghost, param: ghost}\n", "undeclared column 'Ghost'"),
        (GOOD_TABLE + "filters:\n  - {column: ThingId, ops: ['!='], param: id}\n", "at filters.0.ops.0: '!=' is not one of"),
        (GOOD_TABLE + "filters:\n  - {column: ThingId, via: header, param: id}\n", "at filters.0.via: 'header' is not one of ['path', 'query', 'q']"),
        (GOOD_TABLE + "parent: {table: Nowhere, column: ThingId, parent_column: Id}\n", "parent table 'Nowhere'"),
        (GOOD_TABLE + "retries: 3\n", "at the top level: 'retries' is not accepted; accepted keys: name, description"),
        (GOOD_TABLE.replace("type: BIGINT}", "type: BIGINT, recipient: email}"), "at columns.0.recipient: 'email' is not one of ['phone', 'list']"),
        (GOOD_TABLE + "incremental: [ThingId]\n", "incremental column ThingId has no filter that pushes a lower bound"),
        (GOOD_TABLE + "incremental: [ThingId]\nunbounded_incremental: {ThingId: short}\n", "at unbounded_incremental.ThingId: 'short' is too short"),
        (GOOD_TABLE + "unbounded_incremental: {ThingId: 'the API has no filter at all'}\n", "names 'ThingId', which is not in incremental"),
    ],
)
def test_a_bad_table_file_is_a_catalog_error_naming_the_file(tmp_path: Path, text: str, complaint: str) -> None:
    schema, procs = write_catalog(tmp_path, text)
    with pytest.raises(CatalogError, match=re.escape("Broken.yaml")) as info:
        load_catalog(schema, procs)
    assert complaint in str(info.value)
    assert isinstance(info.value, ClickSendSQLError)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("name: BrokenProc\nparameters: []\n", "BrokenProc.yaml: at the top level: 'endpoint' is a required property"),
        ("name: BrokenProc\nendpoint: /x\nmessages: 1\n", "'charges' is a dependency of 'messages'"),
        ("name: BrokenProc\nendpoint: /x\ncharges: true\nmessages: list_id\n", "messages names 'list_id', not one of its parameters"),
        ("name: BrokenProc\nendpoint: /x\ncharges: true\nquoted_by: Nowhere\n", "quoted_by 'Nowhere' is not a declared procedure"),
        ("name: BrokenProc\nendpoint: {path: /x, method: FETCH}\n", "at endpoint.method: 'FETCH' is not one of"),
    ],
)
def test_a_bad_procedure_file_is_a_catalog_error_naming_the_file(tmp_path: Path, text: str, complaint: str) -> None:
    schema, procs = write_catalog(tmp_path, GOOD_TABLE, text)
    with pytest.raises(CatalogError) as info:
        load_catalog(schema, procs)
    assert complaint in str(info.value) and "BrokenProc.yaml" in str(info.value)


def test_every_incremental_column_pushes_a_lower_bound_or_says_why_not() -> None:
    """The rule the loader enforces, over the shipped catalog: replication reads since a bound."""
    bounded = [(t.name, c) for t in CATALOG.tables.values() for c in t.incremental
               if any({">", ">="} & set(f.ops) for f in t.filters_for(c))]
    assert ("Contacts", "CreatedDate") in bounded and ("SMSHistory", "Date") in bounded and len(bounded) >= 6


def test_a_good_file_loads(tmp_path: Path) -> None:
    schema, procs = write_catalog(tmp_path, GOOD_TABLE)
    table = load_catalog(schema, procs).table("things")
    assert (table.name, table.column_names, table.source_file) == ("Things", ("ThingId",), "Broken.yaml")


def test_unknown_names_suggest_the_nearest() -> None:
    with pytest.raises(UnknownTableError, match="Contacts"):
        CATALOG.table("Contact")
    with pytest.raises(UnknownTableError, match="SendSMS"):
        CATALOG.procedure("SendSM")


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)


@given(st.lists(words, min_size=1, max_size=5), st.sampled_from(["", "_"]))
def test_column_name_is_pascal_case_of_the_field(parts: list[str], prefix: str) -> None:
    field = prefix + "_".join(parts)
    name = column_name(field)
    if field in ("date_added", "date_updated"):
        assert name in ("CreatedDate", "UpdatedDate")
        return
    assert name == "".join(p[0].upper() + p[1:] for p in parts)
    assert "_" not in name and name.lower() == field.replace("_", "")
    assert column_name(name) == name


def test_catalog_column_names_are_unique_and_pascal_case() -> None:
    for table in CATALOG.tables.values():
        names = [c.name.lower() for c in table.columns]
        assert len(names) == len(set(names)), table.name
        assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", c.name) for c in table.columns), table.name


SYS = system_tables(CATALOG)


def rows(name: str, **match: object) -> list[dict[str, object]]:
    return [r for r in SYS[name].to_pylist() if all(r[k] == v for k, v in match.items())]


def test_sys_tables_has_one_row_per_table_with_capabilities() -> None:
    assert SYS["sys_tables"].num_rows == len(CATALOG.tables)
    (contacts,) = rows("sys_tables", TableName="Contacts")
    assert contacts["PrimaryKey"] == "ContactId" and contacts["ParentTable"] == "ContactLists"
    assert (contacts["CanInsert"], contacts["CanUpdate"], contacts["CanDelete"]) == (True, True, True)
    (addresses,) = rows("sys_tables", TableName="EmailAddresses")
    assert (addresses["CanInsert"], addresses["CanUpdate"], addresses["CanDelete"]) == (True, False, True)
    (history,) = rows("sys_tables", TableName="SMSHistory")
    assert history["ListEndpoint"] == "GET /v3/sms/history" and history["ParentTable"] is None


def test_sys_columns_describe_every_column() -> None:
    assert SYS["sys_columns"].num_rows == sum(len(t.columns) for t in CATALOG.tables.values())
    contact_cols = rows("sys_columns", TableName="Contacts")
    assert [r["Ordinal"] for r in contact_cols] == list(range(1, len(contact_cols) + 1))
    by_name = {r["ColumnName"]: r for r in contact_cols}
    assert by_name["ContactId"]["IsPrimaryKey"] and by_name["ContactId"]["IsReadOnly"]
    assert by_name["ListId"]["RequiredForInsert"] and by_name["ListId"]["FilterOperators"] == "=, IN"
    assert by_name["ListId"]["FilterExact"] is True
    assert by_name["UpdatedDate"]["ApiField"] == "date_updated" and by_name["UpdatedDate"]["FilterExact"] is False
    assert by_name["FirstName"]["FilterOperators"] is None and not by_name["FirstName"]["IsReadOnly"]
    (balance,) = rows("sys_columns", TableName="SMSHistory", ColumnName="MessagePrice")
    assert balance["DataType"] == "DECIMAL(18,6)" and balance["IsReadOnly"]


def test_sys_procedures_and_parameters() -> None:
    assert SYS["sys_procedures"].num_rows == len(CATALOG.procedures)
    (send,) = rows("sys_procedures", ProcedureName="SendSMS")
    assert (send["Method"], send["Path"], send["Charges"]) == ("POST", "/v3/sms/send", True)
    (cancel,) = rows("sys_procedures", ProcedureName="CancelSMS")
    assert cancel["Charges"] is False
    params = rows("sys_procedure_parameters", ProcedureName="CopyContactToList")
    assert [(p["ParameterName"], p["Ordinal"], p["DataType"]) for p in params] == [
        ("from_list_id", 1, "BIGINT"),
        ("contact_id", 2, "BIGINT"),
        ("to_list_id", 3, "BIGINT"),
    ]
    (before,) = rows("sys_procedure_parameters", ProcedureName="MarkSMSReceiptAsRead")
    assert before["Required"] is False

BOUNDED = sorted((t.name, c) for t in CATALOG.tables.values() for c in t.incremental
                 if any({">", ">="} & set(f.ops) for f in t.filters_for(c)))


@pytest.mark.parametrize(("table", "column"), BOUNDED)
def test_an_incremental_read_past_every_row_costs_one_request_per_parent(con: Any, table: str, column: str) -> None:
    """A read since a bound later than every row is answered by the API's filter: one request
    (for Contacts, one per list after the read of the lists), not a walk of every page."""
    rows = con.sql(f'SELECT count(*) FROM {table} WHERE "{column}" > TIMESTAMPTZ \'2100-01-01\'').fetchone()
    spent = con.last_stats.requests
    parent = CATALOG.table(table).parent
    parents = con.sql(f"SELECT count(*) FROM {parent.table}").fetchone()[0] if parent else 0
    assert rows == (0,) and spent == (1 + parents if parent else 1)
