"""Start-up (issue 11 §3): the cache of the parsed catalog and of the prepared DuckDB declarations
gives the same catalog and the same DuckDB discovery as building both from scratch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from clicksend_sql.cache import cached_entry, file_stamps, fingerprint
from clicksend_sql.catalog import load_catalog
from clicksend_sql import system_tables
from clicksend_sql.system_tables import declare

DISCOVERY = (
    "SELECT database_name, schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal ORDER BY ALL",
    "SELECT table_name, column_name, column_index, data_type, comment FROM duckdb_columns() ORDER BY ALL",
    "SELECT * FROM sys_columns ORDER BY ALL",
    "SELECT * FROM sys_operations ORDER BY ALL",
)


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CLICKSEND_SQL_CACHE_DIR", str(tmp_path / "cache"))
    load_catalog.cache_clear()
    yield tmp_path / "cache"
    load_catalog.cache_clear()


def test_the_catalog_read_from_the_cache_is_the_one_parsed(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = load_catalog()
    assert (cache_dir / f"catalog-{built.fingerprint}" / "catalog.json").is_file()
    load_catalog.cache_clear()
    assert load_catalog() == built
    monkeypatch.setenv("CLICKSEND_SQL_CACHE_DIR", "")
    load_catalog.cache_clear()
    assert load_catalog() == built


def test_a_damaged_entry_is_parsed_around(cache_dir: Path) -> None:
    built = load_catalog()
    (cache_dir / f"catalog-{built.fingerprint}" / "catalog.json").write_text("{not json")
    load_catalog.cache_clear()
    assert load_catalog() == built


def test_a_changed_declaration_file_names_another_entry(tmp_path: Path) -> None:
    declaration = tmp_path / "Things.yaml"
    declaration.write_text("name: Things\n")
    before = fingerprint(file_stamps([declaration]))
    declaration.write_text("name: Things\ndescription: changed\n")
    assert fingerprint(file_stamps([declaration])) != before


def test_an_entry_is_built_once(cache_dir: Path) -> None:
    builds: list[Path] = []
    first = cached_entry("probe", "k", builds.append)
    assert first is not None and cached_entry("probe", "k", builds.append) == first and len(builds) == 1


def _discovery(con: duckdb.DuckDBPyConnection) -> list[list[tuple[object, ...]]]:
    return [con.sql(query).fetchall() for query in DISCOVERY]


def test_the_prepared_database_declares_what_the_ddl_does(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog()
    cached, again = duckdb.connect(), duckdb.connect()  # the second attaches the entry the first built
    declare(cached, catalog)
    declare(again, catalog)
    assert [p.name for p in cache_dir.glob("duckdb-*")] and _discovery(again) == _discovery(cached)
    monkeypatch.setenv("CLICKSEND_SQL_CACHE_DIR", "")
    fresh = duckdb.connect()
    declare(fresh, catalog)
    assert _discovery(cached) == _discovery(fresh)
    with pytest.raises(duckdb.Error, match="read-only"):
        cached.execute("CREATE TABLE clicksend_sql.clicksend.Extra (x INTEGER)")


def test_an_entry_pruned_while_it_is_read_is_declared_around(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each kind keeps 4 entries; another process may prune the one found before it is read."""
    catalog = load_catalog()
    reference = duckdb.connect()
    declare(reference, catalog)
    monkeypatch.setattr(system_tables, "cached_entry", lambda *_: cache_dir / "duckdb-pruned-meanwhile")
    raced = duckdb.connect()
    declare(raced, catalog)
    assert _discovery(raced) == _discovery(reference)
