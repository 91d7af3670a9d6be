"""The sqlglot rewrites pushdown relies on are proven here in DuckDB, and the ones it does not
trust are pinned, so that a sqlglot upgrade that fixes or changes them shows.

Pushdown takes conditions from the optimizer's output (``qualify``, ``pushdown_predicates``,
``normalize``) with every part outside :data:`PROVEN` hidden first (``hide_unproven``). The
property below checks that what the optimizer then does keeps the statement's rows in DuckDB:
formulas of AND/OR/NOT over comparisons, IN lists and BETWEEN on NULLs, NaN and mixed types,
through a derived table the predicates move into, with unproven parts mixed in. (The rewritten
statement is never run by the connector: DuckDB runs the user's. So where a value fails a cast,
whether DuckDB's evaluation order reaches it may differ; the rows never may.)
"""

from __future__ import annotations

import math

import duckdb
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.optimizer.normalize import normalize
from sqlglot.optimizer.pushdown_predicates import pushdown_predicates
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.simplify import simplify

from clicksend_sql.planner.hide_unproven import hide_unproven

SCHEMA = {"t": {"a": "INTEGER", "b": "VARCHAR", "d": "DOUBLE", "e": "INTEGER"}}
ROWS = "(1, '1', 1.0::DOUBLE), (2, 'a', 'NaN'::DOUBLE), (NULL, NULL, NULL), (-3, '', -0.0), (5, 'A', 2.5), (2, '2', NULL)"


def test_sqlglot_simplify_drops_symmetric_from_between() -> None:
    """sqlglot 30's simplify reads ``BETWEEN SYMMETRIC 5 AND 1`` as the empty range 5..1. DuckDB 2
    refuses the syntax, so the connector refuses it first; if this fails, sqlglot changed."""
    where = sqlglot.parse_one("SELECT 1 FROM t WHERE d BETWEEN SYMMETRIC 5 AND 1", read="duckdb")
    assert simplify(where, dialect="duckdb").args["where"].this.sql("duckdb") == "d <= 1 AND d >= 5"


def test_hidden_between_symmetric_comes_back_unchanged() -> None:
    statement = sqlglot.parse_one("SELECT * FROM t WHERE t.d BETWEEN SYMMETRIC 5 AND 1 AND t.a = 1", read="duckdb")
    rewritten = _proven_rewrite(statement)
    assert rewritten.find(exp.Between).args.get("symmetric") is True


def _proven_rewrite(statement: exp.Expression) -> exp.Expression:
    """What extract_conditions does: qualify, hide, pushdown_predicates, normalize, reveal."""
    statement = qualify(statement, schema=SCHEMA, dialect="duckdb", validate_qualify_columns=False)
    reveal = hide_unproven(statement)
    if reveal is None:
        return statement
    return reveal(normalize(pushdown_predicates(statement, dialect="duckdb"), dnf=False))


_VALUES = ["1", "2", "NULL", "'1'", "1.5", "'NaN'", "-3", "''", "'a'"]


@st.composite
def _atom(draw: st.DrawFn, alias: str) -> str:
    column = f"{alias}.{draw(st.sampled_from(['a', 'b', 'd', 'e']))}"
    value = st.sampled_from(_VALUES)
    kind = draw(st.integers(0, 9))
    if kind <= 3:
        op = draw(st.sampled_from(["=", "<>", "<", "<=", ">", ">="]))
        return f"{column} {op} {draw(value)}" if kind else f"{draw(value)} {op} {column}"
    if kind == 4:
        return f"{column} IN ({', '.join(draw(st.lists(value, min_size=1, max_size=3)))})"
    if kind == 5:
        return f"{column} {draw(st.sampled_from(['', 'NOT ']))}BETWEEN {draw(value)} AND {draw(value)}"
    if kind == 6:
        return f"{column} = {alias}.{draw(st.sampled_from(['a', 'b', 'd']))}"
    return draw(st.sampled_from([  # unproven parts: hidden, never rewritten
        f"{alias}.b LIKE '%a%'", f"{alias}.a IS NULL", f"{alias}.a IS NOT DISTINCT FROM 2", f"coalesce({alias}.a, 0) > 1",
        f"{alias}.b GLOB '[0-9]*'", f"{alias}.a + 1 > 2", "true", "NULL", "1 = 0",
    ]))


@st.composite
def _formula(draw: st.DrawFn, alias: str, depth: int = 0) -> str:
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        return draw(_atom(alias))
    parts = draw(st.lists(_formula(alias, depth + 1), min_size=2, max_size=3))
    joined = f" {draw(st.sampled_from(['AND', 'OR']))} ".join(f"({p})" for p in parts)
    return f"NOT ({joined})" if draw(st.integers(0, 4)) == 0 else joined


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[str, object]:
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        return "error", type(exc).__name__
    return "rows", sorted(repr(tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in r)) for r in rows)


@pytest.fixture(scope="module")
def local() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT a, b, d::DOUBLE AS d, a + 1 AS e FROM (VALUES {ROWS}) v(a, b, d)")
    return con


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data=st.data())
def test_what_pushdown_lets_the_optimizer_rewrite_keeps_duckdbs_rows(local: duckdb.DuckDBPyConnection, data: st.DataObject) -> None:
    direct = data.draw(st.booleans(), label="direct")
    where = data.draw(_formula("t" if direct else "s"), label="where")
    sql = (f"SELECT * FROM t WHERE {where}" if direct
           else f"SELECT * FROM (SELECT t.a, t.b, t.d, t.a + 1 AS e FROM t) s WHERE {where}")
    rewritten = _proven_rewrite(sqlglot.parse_one(sql, read="duckdb")).sql("duckdb")
    got, expected = _rows(local, rewritten), _rows(local, sql)
    if got[0] != expected[0]:  # a value that fails a cast (1 = 'a') is reached or not by DuckDB's evaluation order
        assert "ConversionException" in (got[1], expected[1]), (sql, rewritten, got, expected)
        return
    assert got == expected, (sql, rewritten)
