"""Statements DuckDB accepts are accepted (issue 24 §2): a corpus of DuckDB's own documented
statement forms, run through ``con.sql`` over local tables, gives what plain DuckDB gives
(statements that name no ClickSend table go to DuckDB as written), and makes no request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator

from conftest import open_connection

SETUP = """
CREATE TABLE c (ListId INTEGER, Custom1 VARCHAR, Email VARCHAR, Score DOUBLE, Seen TIMESTAMP);
INSERT INTO c VALUES (1, 'a', 'x@example.com', 1.5, '2025-01-01 10:00'), (1, 'b', 'y@example.com', 2.5, '2025-01-02 11:00'),
                     (2, 'a', NULL, 3.0, '2025-01-03 12:00'), (3, NULL, 'z@example.com', NULL, '2025-02-01 09:30');
CREATE TABLE prices (ListId INTEGER, Seen TIMESTAMP, Price DECIMAL(6, 2), PRIMARY KEY (ListId, Seen));
INSERT INTO prices VALUES (1, '2025-01-01 00:00', 1.00), (1, '2025-01-02 00:00', 2.00), (2, '2025-01-01 00:00', 3.00);
"""

# From DuckDB's documentation: one statement per form, each reading only the local tables above.
CORPUS = [
    "PIVOT c ON Custom1 USING count(*) GROUP BY ListId ORDER BY ListId",
    "UNPIVOT (SELECT ListId, Score, 1.0::DOUBLE AS One FROM c) ON Score, One INTO NAME k VALUE v ORDER BY ALL",
    "FROM c SELECT ListId, Email ORDER BY ALL",
    "FROM c",
    "SUMMARIZE c",
    "DESCRIBE c",
    "SELECT * EXCLUDE (Email) REPLACE (Score * 2 AS Score) FROM c ORDER BY ALL",
    "SELECT COLUMNS('List.*|Score') FROM c ORDER BY ALL",
    "SELECT ListId, count(*) FROM c GROUP BY ALL ORDER BY ALL",
    "SELECT ListId, Score, row_number() OVER (PARTITION BY ListId ORDER BY Score) AS n FROM c QUALIFY n = 1 ORDER BY ALL",
    "SELECT c.ListId, c.Seen, p.Price FROM c ASOF JOIN prices p ON c.ListId = p.ListId AND c.Seen >= p.Seen ORDER BY ALL",
    "SELECT * FROM c POSITIONAL JOIN prices ORDER BY ALL",
    "SELECT [x * 2 FOR x IN [1, 2, 3] IF x > 1] AS doubled",
    "SELECT list_transform([1, 2, 3], lambda x: x + 1) AS plus_one, {'a': 1, 'b': [2, 3]} AS s",
    "SELECT unnest([1, 2, 3]) AS x, generate_series(1, 3) AS g",
    "SELECT * FROM range(5) t(i) WHERE i % 2 = 0",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r",
    "SELECT strftime(Seen, '%Y-%m') AS month, date_trunc('day', Seen) AS day FROM c ORDER BY ALL",
    "SELECT regexp_extract(Email, '@(.*)$', 1) AS domain, string_split(Email, '@')[1] AS name FROM c ORDER BY ALL",
    "SELECT ListId, list(Custom1 ORDER BY Custom1) AS customs, arg_max(Email, Score) FROM c GROUP BY ListId ORDER BY ListId",
    "SELECT * FROM c ORDER BY Score DESC NULLS LAST, ListId LIMIT 2",
    "SELECT ListId, Score FROM c UNION BY NAME SELECT Score, ListId FROM c ORDER BY ALL",
    "SELECT * FROM c WHERE Email SIMILAR TO '.*@example.com' ORDER BY ALL",
    "SELECT * FROM c WHERE Email ILIKE 'X%' ORDER BY ALL",
    "SELECT ListId, Score, sum(Score) OVER w AS running FROM c WINDOW w AS (ORDER BY Seen) ORDER BY ALL",
    "SELECT max_by(Email, Score), min_by(Email, Score), median(Score), quantile_cont(Score, 0.5) FROM c",
    "SELECT * FROM (VALUES (1, 'one'), (2, 'two')) t(n, word) ORDER BY n",
    "SELECT CASE WHEN Score > 2 THEN 'high' ELSE 'low' END AS band, count(*) FROM c GROUP BY ALL ORDER BY ALL",
    "SELECT ListId, any_value(Email) FILTER (WHERE Email IS NOT NULL) IS NOT NULL AS has_email FROM c GROUP BY ALL ORDER BY ALL",
    "SELECT 'a' || 1 AS s, 1::VARCHAR AS v, TRY_CAST('x' AS INTEGER) AS t, 7 // 2 AS d, 2 ** 3 AS p",
    "SELECT ListId FROM c EXCEPT SELECT ListId FROM prices ORDER BY ALL",
    "SELECT * FROM c USING SAMPLE 100 PERCENT (bernoulli) ORDER BY ALL",
]
# Statements that change the local database or a file: run on both, then the state compared.
CHANGES = [
    ("CREATE MACRO twice(x) AS x * 2", "SELECT twice(21)"),
    ("CREATE TYPE mood AS ENUM ('ok', 'sad')", "SELECT 'ok'::mood"),
    ("INSERT OR REPLACE INTO prices SELECT 9, '2025-03-01', 9.99", "SELECT * FROM prices ORDER BY ALL"),
    ("UPDATE c SET Score = p.Price FROM prices p WHERE p.ListId = c.ListId AND c.Custom1 = 'b'", "SELECT * FROM c ORDER BY ALL"),
    ("CREATE TABLE t2 AS SELECT ListId, count(*) AS n FROM c GROUP BY ALL", "SELECT * FROM t2 ORDER BY ALL"),
    ("DELETE FROM c WHERE ListId = 3", "SELECT count(*) FROM c"),
    ("ALTER TABLE c ADD COLUMN Extra INTEGER DEFAULT 7", "SELECT * FROM c ORDER BY ALL"),
    ("SET threads = 1", "SELECT current_setting('threads')"),
]


def _pair(emulator: Emulator) -> Iterator[tuple[Connection, duckdb.DuckDBPyConnection]]:
    """A connection of ours and a plain DuckDB one, with the same local tables."""
    ours = open_connection(emulator)
    plain = duckdb.connect()
    ours.sql(SETUP)
    plain.execute(SETUP)
    yield ours, plain
    ours.close()
    plain.close()


readers = pytest.fixture(scope="module")(_pair)  # the queries change nothing: one pair for all of them
pair = pytest.fixture()(_pair)  # a pair per change


def _plain(plain: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    relation = plain.sql(sql)
    return relation.fetchall() if relation is not None else []


@pytest.mark.parametrize("sql", CORPUS)
def test_a_documented_query_gives_what_plain_duckdb_gives(readers: Any, emulator: Emulator, sql: str) -> None:
    ours, plain = readers
    emulator.reset_stats()
    assert ours.sql(sql).fetchall() == _plain(plain, sql)
    assert emulator.requests() == []


@pytest.mark.parametrize(("change", "check"), CHANGES)
def test_a_documented_change_leaves_what_plain_duckdb_leaves(pair: Any, change: str, check: str) -> None:
    ours, plain = pair
    ours.sql(change)
    plain.execute(change)
    assert ours.sql(check).fetchall() == _plain(plain, check)


def test_export_and_import_database_round_trip(pair: Any, tmp_path: Path) -> None:
    ours, plain = pair
    ours.sql(f"EXPORT DATABASE '{tmp_path / 'ours'}'")
    plain.execute(f"EXPORT DATABASE '{tmp_path / 'plain'}'")
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == sorted(p.name for p in (tmp_path / "plain").iterdir())
    fresh = duckdb.connect()
    fresh.execute(f"IMPORT DATABASE '{tmp_path / 'ours'}'")
    assert fresh.sql("SELECT * FROM c ORDER BY ALL").fetchall() == _plain(plain, "SELECT * FROM c ORDER BY ALL")


def test_copy_to_a_file_writes_what_plain_duckdb_writes(pair: Any, tmp_path: Path) -> None:
    ours, plain = pair
    ours.sql(f"COPY (SELECT * FROM c ORDER BY ALL) TO '{tmp_path / 'ours.parquet'}' (FORMAT parquet)")
    plain.execute(f"COPY (SELECT * FROM c ORDER BY ALL) TO '{tmp_path / 'plain.parquet'}' (FORMAT parquet)")
    read = "SELECT * FROM '{}' ORDER BY ALL"
    assert _plain(plain, read.format(tmp_path / "ours.parquet")) == _plain(plain, read.format(tmp_path / "plain.parquet"))
