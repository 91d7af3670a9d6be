"""The session's PostgreSQL server (tests/postgres_server.py) answers psycopg2 and takes a dlt merge load."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import dlt
import psycopg2
import pyarrow as pa
import pytest


def rows(uri: str, sql: str) -> list[tuple[object, ...]]:
    with closing(psycopg2.connect(uri)) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_psycopg2_connects(postgres_uri: str) -> None:
    [(version,)] = rows(postgres_uri, "select version()")
    assert str(version).startswith("PostgreSQL ")


def test_dlt_merge_load(postgres_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three rows merged on their primary key, then one of them again: the table keeps three rows."""
    # Nothing of dlt's in the user's home: no telemetry (nor its anonymous id file), data under tmp_path.
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    pipeline = dlt.pipeline(
        pipeline_name="postgres_server_proof",
        destination=dlt.destinations.postgres(credentials=postgres_uri),
        dataset_name="postgres_server_proof",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
    first = pa.table({"id": [1, 2, 3], "name": ["one", "two", "three"]}, schema=schema)
    pipeline.run(first, table_name="things", write_disposition="merge", primary_key="id").raise_on_failed_jobs()
    assert rows(postgres_uri, "select id, name from postgres_server_proof.things order by id") == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]

    again = pa.table({"id": [3], "name": ["THREE"]}, schema=schema)
    pipeline.run(again, table_name="things", write_disposition="merge", primary_key="id").raise_on_failed_jobs()
    assert rows(postgres_uri, "select id, name from postgres_server_proof.things order by id") == [
        (1, "one"),
        (2, "two"),
        (3, "THREE"),
    ]
    assert (tmp_path / "pipelines" / "postgres_server_proof").is_dir()
