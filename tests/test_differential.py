"""Pushdown only narrows, DuckDB decides: generated SELECTs give the same rows with pushdown on,
with pushdown off, and in plain DuckDB over a full local copy of the same emulator data.

Hypothesis draws statements over the catalog: filters of every operator on columns of every
type (constants taken from the data plus hostile ones: NULL, out of range, separators of the
``q`` syntax, path climbs), IN lists (also of more keys than a listing page holds, which are
read from the listing), LIKE, OR/NOT, BETWEEN, nested subqueries, DISTINCT and DISTINCT ON,
GROUP BY, ORDER BY + LIMIT/OFFSET, CTEs, joins of two ClickSend tables, an ANTI JOIN and an
IN-subquery over a local table, scalar subqueries over local rows (evaluated first and pushed),
positional parameters, and the session settings that change meaning (``default_order``, ``default_collation``). A statement either gives the
same multiset of rows everywhere or fails everywhere.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clicksend_sql
from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ClickSendSQLError

from conftest import SQL_SIZES

EXAMPLES = 220
TABLES: dict[str, dict[str, str]] = {  # table -> column -> SQL type, the columns the generator uses
    "SMSHistory": {"MessageId": "VARCHAR", "Status": "VARCHAR", "To": "VARCHAR", "From": "VARCHAR",
                   "Date": "TIMESTAMPTZ", "StatusCode": "INTEGER", "Direction": "VARCHAR"},
    "Contacts": {"ContactId": "BIGINT", "ListId": "BIGINT", "Email": "VARCHAR", "FirstName": "VARCHAR",
                 "UpdatedDate": "TIMESTAMPTZ"},
    "ContactLists": {"ListId": "BIGINT", "ListName": "VARCHAR", "ContactsCount": "BIGINT"},
    "SMSCampaigns": {"SmsCampaignId": "BIGINT", "Status": "VARCHAR", "CreatedDate": "TIMESTAMPTZ", "ListId": "BIGINT"},
    "FaxHistory": {"MessageId": "VARCHAR", "CreatedDate": "TIMESTAMPTZ", "ListId": "BIGINT", "Status": "VARCHAR", "To": "VARCHAR"},
    "SMSReceipts": {"MessageId": "VARCHAR", "StatusCode": "INTEGER", "Timestamp": "TIMESTAMPTZ"},
}
HOSTILE: dict[str, list[str]] = {
    "VARCHAR": ["''", "'a,b'", "'x:y'", "'../history'", "'Failed'", "'%'", "NULL"],
    "BIGINT": ["0", "-1", "99999999999999999999999", "1401.5", "NULL", "'1401'"],
    "INTEGER": ["0", "201", "2.5", "NULL"],
    "TIMESTAMPTZ": ["'2025-01-01'", "now() - INTERVAL 30 DAY", "now()", "DATE '2020-02-29'", "NULL"],
}
SETTINGS = [None, "SET default_order = 'DESC'", "SET default_collation = 'nocase'"]
SCHEMA = "clicksend_sql.clicksend"
# Random seeds and more examples: pytest --slow (DIFFERENTIAL_EXAMPLES sets how many).
LONG_EXAMPLES = int(os.environ.get("DIFFERENTIAL_EXAMPLES", "800"))
RESETS = ["RESET default_order", "RESET default_collation"]


@pytest.fixture(scope="module")
def account() -> Iterator[Emulator]:
    """An emulator of this module's own, so no other test changes the data under the local copy."""
    with Emulator(seed=0, sizes=SQL_SIZES) as emu:
        yield emu


def _open(account: Emulator, *, pushdown: bool) -> Connection:
    return clicksend_sql.connect(
        account.username, account.api_key, base_url=account.base_url, rate_limit=None, pushdown=pushdown,
        deadline=30,  # a stuck request fails the example in 30 s, not the default 120 s times each shrink
    )


@pytest.fixture(scope="module")
def pushed(account: Emulator) -> Iterator[Connection]:
    with _open(account, pushdown=True) as con:
        yield con


@pytest.fixture(scope="module")
def unpushed(account: Emulator) -> Iterator[Connection]:
    with _open(account, pushdown=False) as con:
        yield con


@pytest.fixture(scope="module")
def copy(unpushed: Connection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Plain DuckDB over a full copy of every table the generator reads, plus the local table."""
    local = _with_clicksend_schema(duckdb.connect())
    for table in TABLES:
        local.register("rows", unpushed.sql(f"SELECT * FROM {table}").arrow())
        local.execute(f'CREATE TABLE {SCHEMA}."{table}" AS SELECT * FROM rows')
        local.unregister("rows")
    yield local
    local.close()


def _with_clicksend_schema(local: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Plain DuckDB with the tables where the connector declares them (catalog ``clicksend_sql``,
    schema ``clicksend``, on the search path), so every qualified name resolves as it does there."""
    local.execute(f"ATTACH ':memory:' AS clicksend_sql; CREATE SCHEMA {SCHEMA}; SET search_path = 'main,{SCHEMA}'")
    return local


class _Stream:
    """Rows DuckDB reads as an Arrow stream, opened afresh per scan, as the connector's scans are."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)


@pytest.fixture(scope="module")
def streamed(copy: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Plain DuckDB over the same rows as Arrow streams. Where an error depends on the order DuckDB
    evaluates in (a cast of one bad value, a subquery of several rows), its plan over native tables
    (``copy``) can skip what its plan over streams runs; the connector's scans are streams."""
    local = _with_clicksend_schema(duckdb.connect())
    for table in TABLES:
        local.register(f"stream_{table}", _Stream(copy.sql(f'SELECT * FROM "{table}"').to_arrow_table()))
        local.execute(f'CREATE VIEW {SCHEMA}."{table}" AS SELECT * FROM "stream_{table}"')
    yield local
    local.close()


@pytest.fixture(scope="module")
def values(copy: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[str]]:
    """Per column, SQL literals of values that occur in the data, and hostile ones."""
    pools: dict[tuple[str, str], list[str]] = {}
    for table, columns in TABLES.items():
        for column, sql_type in columns.items():
            rows = copy.execute(
                f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL ORDER BY 1 LIMIT 6'
            ).fetchall()
            pools[(table, column)] = [_literal(r[0]) for r in rows] + HOSTILE[sql_type]
    return pools


def _literal(value: Any) -> str:
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


# --- statements -----------------------------------------------------------------------------


class Sql:
    """SQL text with its positional parameters in text order."""

    def __init__(self, text: str, params: tuple[Any, ...] = ()) -> None:
        self.text, self.params = text, params

    def __repr__(self) -> str:
        return f"Sql({self.text!r}, {self.params!r})"

    def __add__(self, other: Sql | str) -> Sql:
        if isinstance(other, str):
            return Sql(self.text + other, self.params)
        return Sql(self.text + other.text, self.params + other.params)

    def __radd__(self, other: str) -> Sql:
        return Sql(other + self.text, self.params)


@st.composite
def constant(draw: st.DrawFn, pools: dict[tuple[str, str], list[str]], table: str, column: str) -> Sql:
    literal = draw(st.sampled_from(pools[(table, column)]))
    if draw(st.integers(0, 4)) == 0 and literal != "NULL" and "(" not in literal and "INTERVAL" not in literal:
        value = duckdb.execute(f"SELECT {literal}").fetchall()[0][0]
        return Sql("?", (value,))
    return Sql(literal)


@st.composite
def atom(draw: st.DrawFn, pools: dict[tuple[str, str], list[str]], table: str, alias: str) -> Sql:
    """One predicate over ``table``'s columns, qualified by ``alias`` (nothing, an alias, or the
    table's name at any depth); quoted identifiers may differ from the declared case."""
    column = draw(st.sampled_from(sorted(TABLES[table])))
    name = draw(st.sampled_from([column, column, column.upper(), column.lower()]))
    ref = f'{alias}."{name}"' if alias else f'"{name}"'
    kind = draw(st.sampled_from(["cmp", "cmp", "cmp", "in", "keys", "null", "between", "like", "const", "sub", "distinct",
                                 "pattern", "any", "quantified", "collate", "cast", "time"]))
    value = constant(pools, table, column)
    sql_type = TABLES[table][column]
    if kind == "cmp":
        op = draw(st.sampled_from(["=", "=", "<>", "<", "<=", ">", ">="]))
        left, right = (ref + f" {op} ", draw(value))
        return left + right if draw(st.booleans()) else draw(value) + f" {_flip(op)} {ref}"
    if kind == "in":  # with NULLs and values of other types mixed in
        items = draw(st.lists(st.one_of(value, st.sampled_from([Sql("NULL"), Sql("'1401'"), Sql("1.5"), Sql("'x'")])),
                              min_size=1, max_size=4))
        joined = items[0]
        for item in items[1:]:
            joined = joined + ", " + item
        return f"{ref} IN (" + joined + ")"
    if kind == "keys" and sql_type == "BIGINT":  # more keys than a listing page: the listing, not a request each
        around = [int(v) for v in pools[(table, column)] if v.lstrip("-").isdigit()]
        first = draw(st.sampled_from(around)) - draw(st.integers(0, 120))
        return Sql(f"{ref} {draw(st.sampled_from(['IN', 'NOT IN']))} ({', '.join(str(first + i) for i in range(121))})")
    if kind == "sub":  # a scalar subquery over local rows: evaluated before the scan, its value pushed
        rows = draw(st.lists(value, min_size=1, max_size=3))
        joined = "(" + rows[0] + ")"
        for row in rows[1:]:
            joined = joined + ", (" + row + ")"
        # A bare v over several rows is DuckDB's error where its plan runs the subquery: over native
        # tables an OR whose other branch holds for every row can skip it, over streams it runs
        # (see the ``streamed`` reference)
        pick = draw(st.sampled_from(["max(v)", "min(v)", "v"]))
        return ref + f" {draw(st.sampled_from(['=', '<', '>=', '>']))} (SELECT {pick} FROM (VALUES " + joined + ") x(v))"
    if kind == "null":
        return Sql(f"{ref} IS {draw(st.sampled_from(['', 'NOT ']))}NULL")
    if kind == "between":  # SYMMETRIC: sqlglot reads it, DuckDB 2 refuses it
        form = draw(st.sampled_from(["BETWEEN", "NOT BETWEEN", "BETWEEN SYMMETRIC"]))
        return f"{ref} {form} " + draw(value) + " AND " + draw(value)
    if kind == "like" and sql_type == "VARCHAR":
        return Sql(f"{ref} {draw(st.sampled_from(['LIKE', 'ILIKE', 'NOT LIKE']))} "
                   f"'{draw(st.sampled_from(['F%', '%a%', '+61%', '_%']))}'")
    if kind == "distinct":
        return f"{ref} IS {draw(st.sampled_from(['', 'NOT ']))}DISTINCT FROM " + draw(value)
    if kind == "pattern" and sql_type == "VARCHAR":
        form = draw(st.sampled_from(["GLOB 'F*'", "GLOB '*[0-9]'", "SIMILAR TO 'F.*'", "NOT SIMILAR TO '.*a.*'"]))
        return Sql(f"{ref} {form}")
    if kind == "any":  # LIKE/ILIKE ANY (...): sqlglot drops ANY, DuckDB 2 refuses it
        return Sql(f"{ref} {draw(st.sampled_from(['LIKE', 'ILIKE']))} ANY ('F%', '%a%')")
    if kind == "quantified":
        rows = draw(st.lists(value, min_size=1, max_size=3))
        joined = "(" + rows[0] + ")"
        for row in rows[1:]:
            joined = joined + ", (" + row + ")"
        quantifier = draw(st.sampled_from(["ANY", "ALL"]))
        return ref + f" {draw(st.sampled_from(['=', '<>', '<', '>=']))} {quantifier} (SELECT v FROM (VALUES " + joined + ") x(v))"
    if kind == "collate" and sql_type == "VARCHAR":
        return f"{ref} COLLATE {draw(st.sampled_from(['nocase', 'noaccent', 'binary']))} = " + draw(value)
    if kind == "cast":
        form = draw(st.sampled_from([f"{ref}::VARCHAR", f"TRY_CAST({ref} AS BIGINT)", f"CAST({ref} AS VARCHAR)"]))
        right = draw(st.sampled_from(["CAST(", "TRY_CAST("])) + draw(value) + f" AS {sql_type})"
        return form + f" {draw(st.sampled_from(['=', '<', '>=']))} " + right if draw(st.booleans()) else \
            Sql(f"{ref} = ") + right
    if kind == "time" and sql_type == "TIMESTAMPTZ":
        return Sql(draw(st.sampled_from([
            f"{ref} > now() - INTERVAL 400 DAY", f"{ref} + INTERVAL 1 MONTH > TIMESTAMPTZ '2026-01-01 00:00:00+10'",
            f"{ref} BETWEEN TIMESTAMPTZ '2026-01-01' - INTERVAL '3 months' AND TIMESTAMPTZ '2026-01-01'",
            f"{ref} AT TIME ZONE 'Australia/Sydney' > TIMESTAMP '2025-12-31 23:00'",
            f"{ref} >= '2025-06-01 10:00:00+10'", f"{ref}::DATE = DATE '2025-06-01' + INTERVAL 1 DAY",
        ])))
    return Sql(draw(st.sampled_from(["true", "false", "1 = 0", "NULL"])))


def _flip(op: str) -> str:
    return {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)


@st.composite
def predicate(draw: st.DrawFn, pools: dict[tuple[str, str], list[str]], table: str, alias: str) -> Sql:
    parts = draw(st.lists(atom(pools, table, alias), min_size=1, max_size=3))
    joiner = draw(st.sampled_from([" AND ", " AND ", " OR "]))
    result = "(" + parts[0]
    for part in parts[1:]:
        result = result + joiner + part
    result = result + ")"
    return "NOT " + result if draw(st.integers(0, 6)) == 0 else result


@st.composite
def statement(draw: st.DrawFn, pools: dict[tuple[str, str], list[str]]) -> Sql:
    table = draw(st.sampled_from(sorted(TABLES)))
    columns = sorted(TABLES[table])
    column = draw(st.sampled_from(columns))
    where = predicate(pools, table, "t")
    shape = draw(st.integers(0, 11))
    if shape in (0, 1):  # the table unaliased, under every name DuckDB accepts; its columns at every depth
        source, qualifier = draw(st.sampled_from([
            (f'"{table}"', f'"{table}"'), (f"clicksend.{table}", f"clicksend.{table}"),
            (f"clicksend_sql.clicksend.{table}", f"clicksend_sql.clicksend.{table}"),
            (f'"{table}"', f"clicksend_sql.{table}"), (f'"CLICKSEND"."{table.upper()}"', f'"clicksend"."{table.lower()}"'),
            (f'"{table}"', ""), (f'"{table}"', f"clicksend.{table}"),
        ]))
        target = "*" if shape == 0 else "count(*)"
        return f"SELECT {target} FROM {source} WHERE " + draw(predicate(pools, table, qualifier))
    if shape == 2:
        return f'SELECT count(*) FROM (SELECT DISTINCT t."{column}" FROM "{table}" t WHERE ' + draw(where) + ")"
    if shape == 3:
        return f'SELECT t."{column}", count(*) FROM "{table}" t WHERE ' + draw(where) + " GROUP BY ALL"
    if shape == 4:
        direction = draw(st.sampled_from(["", " ASC", " DESC", " DESC NULLS FIRST", " NULLS FIRST"]))
        limit = draw(st.sampled_from(["5", "17", "0", "?"]))
        tail = Sql(f" LIMIT {limit}", (draw(st.integers(0, 30)),) if limit == "?" else ())
        offset = draw(st.sampled_from(["", " OFFSET 3"]))
        named = draw(st.sampled_from([column, *columns]))  # another column's name as alias shadows it
        return (f'SELECT t."{column}" AS "{named}" FROM "{table}" t WHERE ' + draw(where)
                + f' ORDER BY "{named}"{direction}' + tail + offset)
    if shape == 5:
        return (f'SELECT * FROM (SELECT * FROM "{table}" t WHERE ' + draw(where) + ") s WHERE "
                + draw(predicate(pools, table, "s")))
    if shape == 6:
        return (f'SELECT DISTINCT ON (t."{column}") t."{column}" FROM "{table}" t WHERE ' + draw(where)
                + f' ORDER BY t."{column}"')
    if shape == 7:
        return (f'WITH x AS (SELECT * FROM "{table}" t WHERE ' + draw(where) + ") SELECT count(*) FROM x WHERE "
                + draw(predicate(pools, table, "x")))
    if shape == 8:
        return (f'SELECT count(*) FROM "{table}" t ANTI JOIN local_keys k ON t."{column}"::VARCHAR = k.v AND '
                + draw(where))
    if shape == 9:
        return (f'SELECT count(*) FROM "{table}" t WHERE t."{column}"::VARCHAR IN (SELECT v FROM local_keys) AND '
                + draw(where))
    if shape == 10:
        return ("SELECT count(*), count(DISTINCT l.ListName) FROM Contacts c JOIN ContactLists l ON c.ListId = l.ListId WHERE "
                + draw(predicate(pools, "Contacts", "c")) + " AND " + draw(predicate(pools, "ContactLists", "l")))
    return (f'SELECT count(*) FROM (SELECT * FROM "{table}" t WHERE ' + draw(where)
            + " ORDER BY ALL LIMIT 40) s WHERE " + draw(predicate(pools, table, "s")))


# --- comparison -----------------------------------------------------------------------------


def _rows(rows: list[tuple[Any, ...]]) -> list[str]:
    """A multiset of rows as sortable text, NaN equal to NaN."""
    def cell(v: Any) -> str:
        return "nan" if isinstance(v, float) and math.isnan(v) else repr(v)
    return sorted("|".join(cell(v) for v in row) for row in rows)


def _answer(run: Any) -> tuple[str, Any]:
    try:
        return "rows", _rows(run())
    except (ClickSendSQLError, duckdb.Error) as exc:
        return "error", type(exc).__name__


def _plain(sql: Sql, params: list[Any] | None, *references: duckdb.DuckDBPyConnection) -> list[tuple[str, Any]]:
    """Plain DuckDB's answers over native tables and over streams: equal, unless one raises where
    the other's plan never evaluated the failing expression (then either answer is DuckDB's)."""
    answers = [_answer(lambda r=reference: r.execute(sql.text, params).fetchall()) for reference in references]
    rows = [answer for answer in answers if answer[0] == "rows"]
    assert all(answer == rows[0] for answer in rows), (sql, "plain DuckDB gave different rows")
    return answers


def _one_of(got: tuple[str, Any], plain: list[tuple[str, Any]]) -> bool:
    return any(got == answer or got[0] == answer[0] == "error" for answer in plain)


_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=_HEALTH)
@given(data=st.data())
def test_pushdown_on_off_and_plain_duckdb_agree(
    data: st.DataObject,
    pushed: Connection,
    unpushed: Connection,
    copy: duckdb.DuckDBPyConnection,
    streamed: duckdb.DuckDBPyConnection,
    values: dict[tuple[str, str], list[str]],
) -> None:
    """CI: a fixed seed, so every run draws the same statements."""
    sql = data.draw(statement(values), label="statement")
    setting = data.draw(st.sampled_from(SETTINGS), label="setting")
    for connection in (pushed.duckdb, unpushed.duckdb, copy, streamed):
        connection.execute("CREATE OR REPLACE TABLE local_keys AS SELECT * FROM (VALUES ('Failed'), ('1401'), ('x')) v(v)")
        for reset in RESETS:
            connection.execute(reset)
        if setting:
            connection.execute(setting)
    params = list(sql.params) or None
    plain = _plain(sql, params, copy, streamed)
    on = _answer(lambda: pushed.sql(sql.text, params).fetchall())
    off = _answer(lambda: unpushed.sql(sql.text, params).fetchall())
    if all(answer[0] == "error" for answer in plain):  # DuckDB refuses it: so must the connector, either way
        assert on[0] == off[0] == "error", (sql.text, sql.params, setting, on, off)
        return
    assert _one_of(off, plain), (sql.text, sql.params, setting, off, plain)
    assert _one_of(on, plain), (sql.text, sql.params, setting, on, plain)


# pytest --slow: the same test on a new seed each run (hypothesis prints it with a failure, for @seed).
test_pushdown_on_off_and_plain_duckdb_agree_on_random_seeds = pytest.mark.slow(
    settings(max_examples=LONG_EXAMPLES, deadline=None, derandomize=False, database=None, suppress_health_check=_HEALTH)(
        given(data=st.data())(test_pushdown_on_off_and_plain_duckdb_agree.hypothesis.inner_test)
    )
)


@settings(max_examples=EXAMPLES // 3, deadline=None, derandomize=True, suppress_health_check=_HEALTH)
@given(data=st.data())
def test_a_limit_without_order_gives_that_many_qualifying_rows(
    data: st.DataObject,
    pushed: Connection,
    copy: duckdb.DuckDBPyConnection,
    streamed: duckdb.DuckDBPyConnection,
    values: dict[tuple[str, str], list[str]],
) -> None:
    """LIMIT without ORDER BY may return any rows that qualify: streamed, pushed through a fan-out
    (Contacts over its lists) or stopped once enough rows pass the checks, it returns exactly
    min(LIMIT, qualifying) rows, each one a row plain DuckDB's WHERE keeps."""
    table = data.draw(st.sampled_from(sorted(TABLES)), label="table")
    sql = f'SELECT * FROM "{table}" t WHERE ' + data.draw(predicate(values, table, "t"), label="where")
    limit = data.draw(st.sampled_from([1, 5, 17, 150]), label="limit")
    for connection in (pushed.duckdb, copy, streamed):
        for reset in RESETS:
            connection.execute(reset)
    params = list(sql.params) or None
    plain = _plain(sql, params, copy, streamed)
    got = _answer(lambda: pushed.sql(f"{sql.text} LIMIT {limit}", params).fetchall())
    if all(answer[0] == "error" for answer in plain):
        assert got[0] == "error", (sql, got)
        return
    if got[0] == "error":  # DuckDB refuses it over native tables or over streams, not both
        assert any(answer[0] == "error" for answer in plain), (sql, got)
        return
    expected = next(answer for answer in plain if answer[0] == "rows")
    assert len(got[1]) == min(limit, len(expected[1])), sql
    assert not Counter(got[1]) - Counter(expected[1]), sql


def test_an_error_duckdb_raises_over_streams_but_not_over_native_tables_is_duckdbs_answer(
    pushed: Connection, unpushed: Connection, copy: duckdb.DuckDBPyConnection, streamed: duckdb.DuckDBPyConnection
) -> None:
    """Found with random seeds: StatusCode is text, so ``StatusCode IN (0)`` casts it, and one ''
    fails the cast. Over native tables DuckDB evaluates ``Date = '2025-01-01'`` first and never
    reaches it; over streams (as the connector's scans are) it does. Both are plain DuckDB."""
    sql = Sql('SELECT * FROM "SMSHistory" t WHERE NOT (t."Date" = ? AND t."StatusCode" IN (?))', ("2025-01-01", 0))
    plain = _plain(sql, list(sql.params), copy, streamed)
    assert [answer[0] for answer in plain] == ["rows", "error"]
    for connection in (pushed, unpushed):
        assert _one_of(_answer(lambda c=connection: c.sql(sql.text, list(sql.params)).fetchall()), plain)


def test_a_bad_constant_duckdb_never_evaluates_is_not_an_error(
    pushed: Connection, copy: duckdb.DuckDBPyConnection, streamed: duckdb.DuckDBPyConnection
) -> None:
    """The first two conjuncts contradict each other, so DuckDB answers no rows without casting
    '1401' to a timestamp (found with random seeds, issue 25): the planner leaves such a constant to
    DuckDB instead of failing fast on it."""
    key = copy.sql('SELECT "MessageId" FROM "SMSReceipts" LIMIT 1').fetchall()[0][0]
    sql = Sql('SELECT * FROM "SMSReceipts" t WHERE t."MessageId" IS DISTINCT FROM ? AND t."MessageId" IN (?) '
              "AND t.\"Timestamp\" IN ('1401')", (key, key))
    plain = _plain(sql, list(sql.params), copy, streamed)
    assert plain == [("rows", []), ("rows", [])]
    assert _one_of(_answer(lambda: pushed.sql(sql.text, list(sql.params)).fetchall()), plain)
