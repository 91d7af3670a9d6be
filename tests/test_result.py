"""Result behaves like a DuckDB cursor: the same rows, descriptions and display for the same data."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clicksend_sql import Connection
from clicksend_sql.errors import ClickSendSQLError
from clicksend_sql.result import Result

ROWS = st.lists(st.tuples(st.one_of(st.none(), st.integers(-(2**62), 2**62)), st.one_of(st.none(), st.text())),
                max_size=30)
FETCHES = st.lists(
    st.one_of(st.just(("fetchone",)), st.just(("fetchall",)), st.just(("fetchnumpy",)),
              st.tuples(st.just("fetchmany"), st.integers(0, 12)), st.just(("fetchmany",))),
    max_size=8,
)


def _comparable(name: str, fetched: Any) -> Any:
    """NumPy answers compared as lists (masked entries become None). A used-up DuckDB result answers
    fetchnumpy() with None; a Result answers with empty arrays, which is what a fresh empty one gives."""
    if name == "fetchnumpy":
        return {k: v.tolist() for k, v in fetched.items()} if fetched is not None else {"n": [], "s": []}
    return fetched


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, fetches=FETCHES)
def test_fetches_match_a_duckdb_cursor(rows: list[tuple[Any, Any]], fetches: list[tuple[Any, ...]]) -> None:
    table = pa.Table.from_pylist([{"n": n, "s": s} for n, s in rows], schema=pa.schema([("n", pa.int64()), ("s", pa.string())]))
    cursor = duckdb.connect(config={"threads": 1})
    cursor.register("t", table)
    cursor.execute("SELECT * FROM t")
    result = Result(table)
    assert result.description == cursor.description
    for name, *args in fetches:
        mine, theirs = getattr(result, name)(*args), getattr(cursor, name)(*args)
        assert _comparable(name, mine) == _comparable(name, theirs), (name, args)
    assert len(result) == len(rows) and list(result) == [tuple(r) for r in rows]


def test_description_types_survive_the_connection(local_con: Connection) -> None:
    """The types DuckDB reports for a statement are the types the Result reports for it."""
    sql = "SELECT 1 AS i, 2::BIGINT AS b, 'x' AS s, 1.5::DECIMAL(10,2) AS d, DATE '2024-01-02' AS day, [1, 2] AS l"
    assert local_con.sql(sql).description == duckdb.connect().execute(sql).description


def test_description_of_a_clicksend_table(con: Connection) -> None:
    result = con.sql("SELECT * FROM ContactLists LIMIT 2")
    assert result.description is not None
    assert [d[0] for d in result.description] == result.columns
    assert all(isinstance(d[1], duckdb.sqltypes.DuckDBPyType) and d[2:] == (None,) * 5 for d in result.description)
    assert result.fetchall() == list(result) and result.fetchone() is None


def test_show_prints_what_duckdb_prints(capsys: pytest.CaptureFixture[str]) -> None:
    table = pa.table({"n": list(range(100)), "s": ["x" * 5] * 100})
    Result(table).show(max_rows=10)
    mine = capsys.readouterr().out
    duckdb.from_arrow(table).show(max_rows=10)
    assert mine == capsys.readouterr().out and "100 rows" in mine


def test_a_result_with_no_columns() -> None:
    result = Result(pa.table({}))
    assert result.description is None and result.fetchall() == [] and result.fetchnumpy() == {}
    assert repr(result) == "<Result with no columns>" and result.columns == []


def test_kind() -> None:
    table = pa.table({"n": [1]})
    assert Result(table).kind == "query" and Result(table, None, kind="explain").kind == "explain"
    with pytest.raises(ClickSendSQLError, match="query, explain, call"):
        Result(table, kind="plan")
