"""The planner's rules by layer: SQL in, plan out, without HTTP (in the style of sqlglot's
optimizer fixtures).

Each case of ``tests/fixtures/planner_rules.yaml`` is a statement and the plan facts it must
give, per scanned table (lower-case name) and for the plan as a whole. Only the facts a case
names are compared, so a case pins the rule its comment names and nothing it does not care
about. The session is the one ``Engine.plan`` builds (``DuckDBSession`` over a DuckDB
connection with the ClickSend declarations), in UTC so that time constants give fixed unix
seconds; nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
import yaml

from clicksend_sql.catalog import Catalog, load_catalog
from clicksend_sql.evaluation import DuckDBSession
from clicksend_sql.parameters import Parameters
from clicksend_sql.planner.plan import Plan, Scan
from clicksend_sql.planner.planner import plan
from clicksend_sql.system_tables import declare

FIXTURES = Path(__file__).parent / "fixtures" / "planner_rules.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(FIXTURES.read_text(encoding="utf-8"))
PLAN_KEYS = frozenset({"rule", "sql", "params", "setup", "pushdown", "tables", "count_alias", "error", "xfail"})


def _case_id(index: int, case: dict[str, Any]) -> str:
    return f"{index:02d}-{case['rule']}"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _connection(catalog: Catalog, setup: list[str]) -> duckdb.DuckDBPyConnection:
    """A DuckDB session as a connection has it, minus HTTP: the declarations, UTC, a local table
    for the scalar-subquery cases, and any settings the case asks for."""
    con = duckdb.connect()
    declare(con, catalog)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE my_copy AS SELECT TIMESTAMPTZ '2025-03-01 00:00:00+00' AS d")
    for statement in setup:
        con.execute(statement)
    return con


@pytest.fixture(scope="module")
def shared_duckdb(catalog: Catalog) -> Iterator[duckdb.DuckDBPyConnection]:
    con = _connection(catalog, [])
    yield con
    con.close()


def scan_facts(scan: Scan) -> dict[str, Any]:
    """A scan as the fixture file spells it: what a reader checks against the catalog."""
    return {
        "mode": scan.mode,
        "endpoint": f"{scan.endpoint.method} {scan.endpoint.path}" if scan.endpoint else None,
        "streams": scan.streams,
        "requests": "none" if not scan.streams else "some",
        "fan_out": scan.fan_out,
        "params": scan.params,
        "params_keys": sorted(scan.params),
        "pushed": [c.sql for c in scan.pushed],
        "local": list(scan.local),
        "held": list(scan.held),
        "exact": scan.exact,
        "complete": scan.complete,
        "max_rows": scan.max_rows,
        "order": scan.order,
        "checks": [c.sql for c in scan.checks],
        "search_term": scan.search_term,
        "key_count": None if scan.keys is None else len(scan.keys),
        "choice": scan.choice,
    }


def _compare(expected: dict[str, Any], actual: dict[str, Any], where: str) -> None:
    for key, want in expected.items():
        assert key in actual, f"{where}: the fixture names an unknown fact {key!r}"
        got = actual[key]
        if key == "held" and isinstance(want, list):  # reasons are prose: each expected one is a fragment
            assert len(got) == len(want) and all(w in g for w, g in zip(want, got, strict=True)), f"{where}.held: {got}"
        elif key == "choice":  # prose: the expected text is its beginning
            assert got.startswith(want), f"{where}.choice: {got}"
        elif key in ("pushed", "local", "checks") and isinstance(want, list):  # order follows sqlglot's normalize
            assert sorted(got) == sorted(want), f"{where}.{key}: {got}"
        else:
            assert got == want, f"{where}.{key}: {got!r} != {want!r}"


def _plan(case: dict[str, Any], catalog: Catalog, con: duckdb.DuckDBPyConnection) -> Plan:
    session = DuckDBSession(con, Parameters(case.get("params")), pushdown=case.get("pushdown", True))
    return plan(sqlglot.parse_one(case["sql"], read="duckdb"), catalog, session)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=_case_id(i, c), marks=[pytest.mark.xfail(strict=True, reason=c["xfail"])] if c.get("xfail") else [])
        for i, c in enumerate(CASES)
    ],
)
def test_planner_rule(case: dict[str, Any], catalog: Catalog, shared_duckdb: duckdb.DuckDBPyConnection) -> None:
    """One fixture case: the plan facts it names, and every scanned table named (none unexpected)."""
    con = _connection(catalog, case["setup"]) if case.get("setup") else shared_duckdb
    try:
        if "error" in case:
            with pytest.raises(Exception) as raised:
                _plan(case, catalog, con)
            kind, _, text = case["error"].partition(": ")
            assert type(raised.value).__name__ == kind and text in str(raised.value)
            return
        result = _plan(case, catalog, con)
    finally:
        if con is not shared_duckdb:
            con.close()
    tables = {k: v for k, v in case.items() if k not in PLAN_KEYS}
    assert sorted(result.scans) == sorted(case.get("tables", tables)), "scanned tables"
    if "count_alias" in case:
        assert result.count_alias == case["count_alias"]
    for name, expected in tables.items():
        _compare(expected, scan_facts(result.scans[name]), name)


def test_every_case_names_its_rule_and_a_statement() -> None:
    """The fixture file stays readable: every case says which rule it pins, and facts are dicts."""
    rules = {"extract_conditions", "pushdown_filters", "pushdown_limit", "count_star", "direct_read", "hide_unproven",
             "find_tables", "evaluation", "key_list_cost"}
    assert len(CASES) >= 40
    for case in CASES:
        assert case["rule"] in rules and isinstance(case["sql"], str)
        assert all(isinstance(v, dict) for k, v in case.items() if k not in PLAN_KEYS)


def test_the_fixture_session_is_the_engines(catalog: Catalog, shared_duckdb: duckdb.DuckDBPyConnection) -> None:
    """The planner sees the same catalog DuckDB declares: every ClickSend table resolves in the
    session the cases run in, so a case's statement means there what it means to a connection."""
    declared = {r[0].lower() for r in shared_duckdb.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'clicksend_sql'").fetchall()}
    assert {name for name in catalog.tables} <= declared
