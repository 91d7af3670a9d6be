"""ClickSend tables next to local DuckDB tables and files: joins, COPY, CREATE TABLE AS."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator


def contact_sample(con: Connection) -> list[tuple[int, int]]:
    return con.sql("SELECT ContactId, ListId FROM Contacts ORDER BY ContactId LIMIT 40").fetchall()


def test_join_with_a_local_table(local_con: Connection) -> None:
    sample = contact_sample(local_con)[::4]
    local_con.duckdb.execute("CREATE TABLE vip (contact_id BIGINT, tier VARCHAR)")
    local_con.duckdb.executemany("INSERT INTO vip VALUES (?, ?)", [(cid, f"tier{cid % 3}") for cid, _ in sample])
    rows = local_con.sql(
        "SELECT c.ContactId, c.ListId, v.tier FROM Contacts c JOIN vip v ON v.contact_id = c.ContactId ORDER BY 1"
    ).fetchall()
    assert rows == [(cid, lid, f"tier{cid % 3}") for cid, lid in sample]


def test_join_with_csv_and_parquet_files(local_con: Connection, tmp_path: Path) -> None:
    sample = contact_sample(local_con)[1::5]
    csv_file, parquet_file = tmp_path / "ids.csv", tmp_path / "ids.parquet"
    csv_file.write_text("contact_id,note\n" + "".join(f"{cid},n{cid}\n" for cid, _ in sample))
    local_con.duckdb.execute(f"COPY (SELECT * FROM read_csv('{csv_file}')) TO '{parquet_file}' (FORMAT PARQUET)")
    for source in (f"read_csv('{csv_file}')", f"'{parquet_file}'"):
        rows = local_con.sql(
            f"SELECT c.ContactId, f.note FROM Contacts c JOIN {source} f ON f.contact_id = c.ContactId ORDER BY 1"
        ).fetchall()
        assert rows == [(cid, f"n{cid}") for cid, _ in sample], source


def test_copy_to_csv_and_parquet_writes_the_rows(local_con: Connection, tmp_path: Path) -> None:
    query = "SELECT ListId, ListName FROM ContactLists ORDER BY ListId"
    expected = local_con.sql(query).arrow()
    csv_file, parquet_file = tmp_path / "lists.csv", tmp_path / "lists.parquet"
    local_con.sql(f"COPY ({query}) TO '{csv_file}' (HEADER)")
    local_con.sql(f"COPY ({query}) TO '{parquet_file}' (FORMAT PARQUET)")
    assert pacsv.read_csv(csv_file).to_pylist() == expected.to_pylist()
    assert pq.read_table(parquet_file).to_pylist() == expected.to_pylist()
    assert len(expected) > 1


def test_create_table_as_select_keeps_the_rows_locally(local_con: Connection, emulator: Emulator) -> None:
    local_con.sql("CREATE TABLE my_contacts AS SELECT ContactId, ListId, UpdatedDate FROM Contacts")
    emulator.reset_stats()
    total = local_con.sql("SELECT count(*), count(DISTINCT ListId) FROM my_contacts").fetchone()
    assert total is not None and total[0] == 600 and total[1] > 1
    assert emulator.stats()["total"] == 0, "the local table is read without requests"
    assert local_con.last_stats.requests == 0


def test_statements_without_clicksend_tables_go_straight_to_duckdb(local_con: Connection, emulator: Emulator) -> None:
    emulator.reset_stats()
    local_con.sql("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3)")
    assert local_con.sql("SELECT sum(x) FROM t WHERE x > ?", [1]).fetchall() == [(5,)]
    assert local_con.sql("SELECT 42 AS answer, 'a' || 'b' AS s").fetchall() == [(42, "ab")]
    assert local_con.sql("UPDATE t SET x = x * 10 WHERE x = 1").fetchall() == [(1,)]
    assert local_con.sql("SELECT list(x ORDER BY x) FROM t").fetchall() == [([2, 3, 10],)]
    assert local_con.sql("SELECT count(*) FROM sys_tables").fetchone() is not None
    assert emulator.stats()["total"] == 0


def test_a_local_table_named_like_a_cte_does_not_shadow_clicksend(local_con: Connection) -> None:
    rows = local_con.sql("WITH contacts AS (SELECT 1 AS n) SELECT n FROM contacts").fetchall()
    assert rows == [(1,)]
    assert len(local_con.sql("SELECT * FROM clicksend.ContactLists")) == len(local_con.sql("SELECT * FROM ContactLists"))
