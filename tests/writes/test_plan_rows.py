"""``plan_rows``' pure part: ``once_per_target`` (a join in UPDATE ... FROM can repeat a target)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from clicksend_sql.writes.plan_rows import once_per_target

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.text(max_size=3)), max_size=30))
def test_one_row_per_key_with_the_last_matchs_values(rows: list[tuple[int, int, str]]) -> None:
    """Like DuckDB's UPDATE ... FROM, a target changed by several matches takes the last one; the
    kept rows stay in the order of those last matches."""
    table = pa.table({"k1": [r[0] for r in rows], "k2": [r[1] for r in rows], "v": [r[2] for r in rows]},
                     schema=pa.schema([("k1", pa.int64()), ("k2", pa.int64()), ("v", pa.string())]))
    kept = once_per_target(table, ["k1", "k2"]).to_pylist()
    last: dict[tuple[int, int], int] = {}
    for index, (k1, k2, _) in enumerate(rows):
        last[(k1, k2)] = index
    expected = [rows[i] for i in sorted(last.values())]
    assert [(r["k1"], r["k2"], r["v"]) for r in kept] == expected


def test_a_null_key_is_a_key_of_its_own() -> None:
    """Rows whose key is NULL are grouped together (validate_rows refuses them afterwards)."""
    table = pa.table({"k": pa.array([None, 1, None], pa.int64()), "v": ["a", "b", "c"]})
    assert once_per_target(table, ["k"]).to_pylist() == [{"k": 1, "v": "b"}, {"k": None, "v": "c"}]
