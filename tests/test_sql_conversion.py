"""Property tests: ClickSend's loose JSON types always convert to the declared SQL values.

Each strategy draws a JSON value together with the value SQL must show for it (NOTES.md §10:
timestamps are unix seconds as int or numeric string, "" or null when unset; money is a decimal
string or a JSON number; flags are 0/1, "0"/"1" or booleans).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clicksend_sql.catalog import Column, Endpoint, Table
from clicksend_sql.conversion import ConversionError, bodies_to_arrow

TABLE = Table(
    name="Probe",
    description="a table with one column of each converted kind",
    columns=(
        Column("Id", "id", "BIGINT"),
        Column("Date", "date", "TIMESTAMPTZ"),
        Column("Price", "price", "DECIMAL(18,6)"),
        Column("Flag", "flag", "BOOLEAN"),
        Column("Parts", "parts", "INTEGER"),
        Column("Body", "body", "VARCHAR"),
    ),
    primary_key=("Id",),
    list=Endpoint("GET", "/probe", "paginator"),
)
SECONDS = st.integers(min_value=0, max_value=4_102_444_800)  # up to 2100
MICRO = Decimal("0.000001")
DUCK = duckdb.connect()


def _when(s: int) -> datetime:
    return datetime.fromtimestamp(s, tz=UTC)


# Each kind: JSON spellings -> (raw value, expected SQL value); one spelling per kind keeps Arrow's
# fast JSON reader on, mixing them forces the tolerant slow path.
KINDS: dict[str, dict[str, st.SearchStrategy[tuple[Any, Any]]]] = {
    "date": {
        "int": SECONDS.map(lambda s: (s, _when(s))),
        "text": SECONDS.map(lambda s: (str(s), _when(s))) | st.just(("", None)),
    },
    "price": {
        "text": st.decimals(min_value=0, max_value=10**9, places=6).map(lambda d: (str(d), d.quantize(MICRO))),
        "number": st.integers(0, 10**6).map(lambda c: (c / 10_000, (Decimal(c) / 10_000).quantize(MICRO))),
    },
    "flag": {
        "int": st.sampled_from([(0, False), (1, True)]),
        "text": st.sampled_from([("0", False), ("1", True)]),
        "bool": st.sampled_from([(False, False), (True, True)]),
    },
    "parts": {
        "int": st.integers(0, 2**31 - 1).map(lambda n: (n, n)),
        "text": st.integers(0, 2**31 - 1).map(lambda n: (str(n), n)),
    },
    "body": {"text": st.text(max_size=30).map(lambda s: (s, s))},
}


def _value(field: str, spelling: str | None) -> st.SearchStrategy[tuple[Any, Any]]:
    options = KINDS[field]
    drawn = options[spelling] if spelling else st.one_of(*options.values())
    return drawn | st.just((None, None))


@st.composite
def pages(draw: st.DrawFn, uniform: bool) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Page bodies and the rows SQL must show for them."""
    spellings = {f: draw(st.sampled_from(sorted(KINDS[f]))) if uniform else None for f in KINDS}
    sizes = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
    bodies, expected, next_id = [], [], 1
    for size in sizes:
        rows = []
        for _ in range(size):
            pairs = {f: draw(_value(f, spellings[f])) for f in KINDS}
            rows.append({"id": next_id, **{f: raw for f, (raw, _) in pairs.items()}})
            expected.append({"Id": next_id, **{c.name: pairs[c.field][1] for c in TABLE.columns[1:]}})
            next_id += 1
        bodies.append(orjson.dumps({"data": {"total": sum(sizes), "per_page": 100, "data": rows}}))
    return bodies, expected


def _check(bodies: list[bytes], expected: list[dict[str, Any]]) -> None:
    table = bodies_to_arrow(TABLE, bodies, "paginator")
    assert table.column_names == list(TABLE.column_names)
    assert table.to_pylist() == expected


@settings(max_examples=60, deadline=None)
@given(pages(uniform=True))
def test_uniform_pages_convert_to_declared_values(case: tuple[list[bytes], list[dict[str, Any]]]) -> None:
    _check(*case)


@settings(max_examples=60, deadline=None)
@given(pages(uniform=False))
def test_mixed_type_pages_convert_to_declared_values(case: tuple[list[bytes], list[dict[str, Any]]]) -> None:
    _check(*case)


def test_a_field_mixing_int_and_text_converts() -> None:
    """The slow path for certain: one field is an int on one row and a string on the next."""
    rows = [{"id": 1, "date": 1_700_000_000, "flag": "1"}, {"id": 2, "date": "1700000001", "flag": True}]
    body = orjson.dumps({"data": {"total": 2, "data": rows}})
    got = bodies_to_arrow(TABLE, [body], "paginator").select(["Date", "Flag"]).to_pylist()
    assert got == [{"Date": _when(1_700_000_000), "Flag": True}, {"Date": _when(1_700_000_001), "Flag": True}]


@given(st.integers(min_value=253_402_300_800, max_value=2**62) | st.integers(min_value=-(2**62), max_value=-62_135_596_801))
@settings(max_examples=25, deadline=None)
def test_a_unix_time_no_calendar_date_has_is_an_error_naming_the_column(seconds: int) -> None:
    """Arrow and DuckDB hold years past 9999, Python's datetime does not: such a value from the
    API fails its conversion with the column named, not later inside fetchall()."""
    page = orjson.dumps({"data": {"total": 1, "data": [{"id": 1, "date": seconds}]}})
    with pytest.raises(ConversionError, match=r"Probe\.Date .*years 1 to 9999"):
        bodies_to_arrow(TABLE, [page], "paginator")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 2_000_000_000)),
                          st.one_of(st.none(), st.integers(0, 2_000_000_000))), min_size=1, max_size=8))
def test_inbound_sms_time_is_timestamp_else_timestamp_send(times: list[tuple[int | None, int | None]]) -> None:
    """NOTES.md: inbound items are ``timestamp`` in the spec's schema and ``timestamp_send`` in its
    examples; a page may carry either, both, or (per row) neither: ``Timestamp`` takes the first present."""
    from clicksend_sql.catalog import load_catalog

    items = [{"message_id": str(i), **({"timestamp": t} if t is not None else {}),
              **({"timestamp_send": s} if s is not None else {})} for i, (t, s) in enumerate(times)]
    page = orjson.dumps({"data": {"data": items}})
    got = bodies_to_arrow(load_catalog().table("InboundSMS"), [page], "paginator").column("Timestamp").to_pylist()
    expected = [None if (t if t is not None else s) is None else datetime.fromtimestamp(t if t is not None else s, UTC)
                for t, s in times]
    assert got == expected
