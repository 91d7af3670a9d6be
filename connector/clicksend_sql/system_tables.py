"""Metadata tables (``sys_tables``, ``sys_columns``, ...) built from the catalog.

They let users discover the catalog with SQL (``SELECT * FROM sys_columns WHERE TableName =
'Contacts'``) instead of reading YAML, and they are answered locally, without any HTTP call.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.ipc

from .cache import cached_entry, file_stamps, fingerprint
from .catalog import Catalog, Endpoint, Procedure, Table
from .duckdb_parser import reserved_words

_SCHEMAS: dict[str, pa.Schema] = {
    "sys_tables": pa.schema(
        [
            ("TableName", pa.string()),
            ("Description", pa.string()),
            ("PrimaryKey", pa.string()),
            ("ParentTable", pa.string()),
            ("CanSelect", pa.bool_()),
            ("CanInsert", pa.bool_()),
            ("CanUpdate", pa.bool_()),
            ("CanDelete", pa.bool_()),
            ("IncrementalColumns", pa.string()),
            ("ListEndpoint", pa.string()),
        ]
    ),
    "sys_columns": pa.schema(
        [
            ("TableName", pa.string()),
            ("ColumnName", pa.string()),
            ("Ordinal", pa.int32()),
            ("DataType", pa.string()),
            ("ApiField", pa.string()),
            ("IsPrimaryKey", pa.bool_()),
            ("IsReadOnly", pa.bool_()),
            ("RequiredForInsert", pa.bool_()),
            ("FilterOperators", pa.string()),
            ("FilterExact", pa.bool_()),
            ("Description", pa.string()),
        ]
    ),
    "sys_procedures": pa.schema(
        [
            ("ProcedureName", pa.string()),
            ("Description", pa.string()),
            ("Method", pa.string()),
            ("Path", pa.string()),
            ("Charges", pa.bool_()),
        ]
    ),
    "sys_procedure_parameters": pa.schema(
        [
            ("ProcedureName", pa.string()),
            ("ParameterName", pa.string()),
            ("Ordinal", pa.int32()),
            ("DataType", pa.string()),
            ("Required", pa.bool_()),
        ]
    ),
    "sys_operations": pa.schema(
        [
            ("OperationId", pa.string()),
            ("Method", pa.string()),
            ("Path", pa.string()),
            ("Spec", pa.string()),
            ("Summary", pa.string()),
            ("Kind", pa.string()),
            ("TableName", pa.string()),
            ("ProcedureName", pa.string()),
            ("Example", pa.string()),
        ]
    ),
}


def system_tables(catalog: Catalog) -> dict[str, pa.Table]:
    """The metadata tables, keyed by their SQL names.

    >>> import pyarrow.compute as pc
    >>> from clicksend_sql.catalog import load_catalog
    >>> sys = system_tables(load_catalog())
    >>> sorted(sys)
    ['sys_columns', 'sys_operations', 'sys_procedure_parameters', 'sys_procedures', 'sys_tables']
    >>> row = sys["sys_tables"].filter(pc.equal(sys["sys_tables"]["TableName"], "Contacts")).to_pylist()[0]
    >>> row["ParentTable"], row["CanDelete"], row["IncrementalColumns"], row["ListEndpoint"]
    ('ContactLists', True, 'UpdatedDate, CreatedDate', 'GET /v3/lists/{list_id}/contacts')
    >>> params = sys["sys_procedure_parameters"].filter(
    ...     pc.equal(sys["sys_procedure_parameters"]["ProcedureName"], "SendSMS"))
    >>> params.column("ParameterName").to_pylist()
    ['from', 'body', 'to']
    """
    tables = sorted(catalog.tables.values(), key=lambda t: t.name)
    procedures = sorted(catalog.procedures.values(), key=lambda p: p.name)
    rows: dict[str, list[dict[str, Any]]] = {
        "sys_tables": [_table_row(t) for t in tables],
        "sys_columns": [row for t in tables for row in _column_rows(t)],
        "sys_procedures": [
            {
                "ProcedureName": p.name,
                "Description": p.description,
                "Method": p.endpoint.method,
                "Path": "/v3" + p.endpoint.path,
                "Charges": p.charges,
            }
            for p in procedures
        ],
        "sys_procedure_parameters": [
            {
                "ProcedureName": p.name,
                "ParameterName": param.name,
                "Ordinal": ordinal,
                "DataType": param.type,
                "Required": param.required,
            }
            for p in procedures
            for ordinal, param in enumerate(p.parameters, start=1)
        ],
        "sys_operations": operation_rows(catalog),
    }
    return {name: pa.Table.from_pylist(rows[name], schema=schema) for name, schema in _SCHEMAS.items()}


def _table_row(table: Table) -> dict[str, Any]:
    return {
        "TableName": table.name,
        "Description": table.description,
        "PrimaryKey": ", ".join(table.primary_key),
        "ParentTable": table.parent.table if table.parent else None,
        "CanSelect": True,
        "CanInsert": "INSERT" in table.dml,
        "CanUpdate": "UPDATE" in table.dml,
        "CanDelete": "DELETE" in table.dml,
        "IncrementalColumns": ", ".join(table.incremental),
        "ListEndpoint": f"{table.list.method} /v3{table.list.path}",
    }


def _column_rows(table: Table) -> list[dict[str, Any]]:
    """One row per column; a column is read-only when it is declared so or the table takes no writes."""
    keys = {k.lower() for k in table.primary_key}
    writable = bool({"INSERT", "UPDATE"} & set(table.dml))
    rows = []
    for ordinal, col in enumerate(table.columns, start=1):
        filters = table.filters_for(col.name)
        ops = list(dict.fromkeys(op for f in filters for op in f.ops))
        rows.append(
            {
                "TableName": table.name,
                "ColumnName": col.name,
                "Ordinal": ordinal,
                "DataType": col.type,
                "ApiField": col.field,
                "IsPrimaryKey": col.name.lower() in keys,
                "IsReadOnly": col.read_only or not writable,
                "RequiredForInsert": col.required_for_insert,
                "FilterOperators": ", ".join(ops) or None,
                "FilterExact": all(f.exact for f in filters) if filters else None,
                "Description": col.description,
            }
        )
    return rows


# --- sys_operations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """One SQL statement that makes a given ClickSend request (``kind`` None: nothing does)."""

    kind: str | None  # SELECT, INSERT, UPDATE, DELETE or CALL
    table: str | None = None
    procedure: str | None = None
    example: str | None = None


@cache
def spec_operations() -> tuple[dict[str, str], ...]:
    """Every operation of the current spec plus the fax/letter/postcard ones of spec@c73ffe8.

    Read from ``operations.json``, which tools/vendor_operations.py copies from the emulator's
    vendored spec: importing that spec at connect time would cost over a second.
    """
    text = resources.files("clicksend_sql").joinpath("operations.json").read_text(encoding="utf-8")
    return tuple(json.loads(text))


def table_statements(table: Table) -> list[tuple[str, Endpoint]]:
    """The requests a table's statements make: list and get for SELECT, and the DML it declares."""
    found = [("SELECT", table.list)] + ([("SELECT", table.get)] if table.get else [])
    for kind, endpoint in (("INSERT", table.insert), ("UPDATE", table.update), ("DELETE", table.delete)):
        if endpoint is not None and kind in table.dml:
            found.append((kind, endpoint))
    return found


def operation_forms(catalog: Catalog) -> dict[tuple[str, str], list[Form]]:
    """(method, /v3 path) -> the statements that make that request, table statements first."""
    forms: dict[tuple[str, str], list[Form]] = {}
    for table in sorted(catalog.tables.values(), key=lambda t: t.name):
        for kind, endpoint in table_statements(table):
            key = (endpoint.method, "/v3" + endpoint.path)
            example = _table_example(table, kind, endpoint)
            forms.setdefault(key, []).append(Form(kind, table=table.name, example=example))
    for procedure in sorted(catalog.procedures.values(), key=lambda p: p.name):
        key = (procedure.endpoint.method, "/v3" + procedure.endpoint.path)
        forms.setdefault(key, []).append(Form("CALL", procedure=procedure.name, example=_call_example(procedure)))
    return forms


def operation_rows(catalog: Catalog) -> list[dict[str, Any]]:
    """One row per (operation, statement that reaches it); an unreachable operation keeps one
    row with a NULL Kind, so ``WHERE Kind IS NULL`` shows what SQL cannot do yet.

    >>> from clicksend_sql.catalog import load_catalog
    >>> rows = operation_rows(load_catalog())
    >>> len({r["OperationId"] for r in rows}), [r for r in rows if r["Kind"] is None]
    (201, [])
    >>> [(r["Kind"], r["Example"]) for r in rows if r["OperationId"] in ("delete-contact", "detect-address")]
    [('DELETE', 'DELETE FROM Contacts WHERE ListId = ? AND ContactId = ?'), ('CALL', 'CALL DetectAddress(?)')]
    """
    forms = operation_forms(catalog)
    return [
        {
            "OperationId": op["operation_id"],
            "Method": op["method"],
            "Path": op["path"],
            "Spec": op["spec"],
            "Summary": op["summary"],
            "Kind": form.kind,
            "TableName": form.table,
            "ProcedureName": form.procedure,
            "Example": form.example,
        }
        for op in spec_operations()
        for form in forms.get((op["method"], op["path"])) or [Form(None)]
    ]


def _table_example(table: Table, kind: str, endpoint: Endpoint) -> str:
    """A statement of ``kind`` on ``table`` that makes exactly ``endpoint``'s request, with ``?``
    for the values: the path's key columns in WHERE, the required columns in INSERT."""
    keys = [_path_column(table, var) for var in endpoint.path_vars]
    where = " WHERE " + " AND ".join(f"{_ident(k)} = ?" for k in keys) if keys else ""
    if kind == "SELECT":
        return f"SELECT * FROM {table.name}{where}"
    if kind == "DELETE":
        return f"DELETE FROM {table.name}{where}"
    writable = [c.name for c in table.columns if not c.read_only and not c.path_param]
    if kind == "UPDATE":
        return f"UPDATE {table.name} SET {_ident(writable[0] if writable else table.columns[0].name)} = ?{where}"
    wanted = {*keys, *(c.name for c in table.columns if c.required_for_insert), *(g[0] for g in table.insert_one_of)}
    columns = [c.name for c in table.columns if c.name in wanted] or writable[:1]
    return f"INSERT INTO {table.name} ({', '.join(map(_ident, columns))}) VALUES ({', '.join('?' * len(columns))})"


def _call_example(procedure: Procedure) -> str:
    return f"CALL {procedure.name}({', '.join('?' * len(procedure.parameters))})"


def _path_column(table: Table, var: str) -> str:
    return next((c.name for c in table.columns if c.path_param == var), var)


def _ident(name: str) -> str:
    """A column name as SQL: quoted only when DuckDB reserves the word (``From``, ``Order``)."""
    return f'"{name}"' if name.lower() in reserved_words() else name


DATABASE_NAME = "clicksend_sql"
SCHEMA_NAME = "clicksend"
SEARCH_PATH = f"{DATABASE_NAME}.{SCHEMA_NAME}"


def catalog_ddl(catalog: Catalog) -> str:
    """SQL that declares every ClickSend table, with comments, as schema ``clicksend`` of an
    attached in-memory database, so DuckDB's own discovery (SHOW TABLES, DESCRIBE,
    information_schema, duckdb_columns(), PRAGMA table_info) knows them without a request. Each is
    a view that fails when read: a statement's rows come from the API, and DuckDB reading the
    declaration itself (``con.duckdb.sql("SELECT count(*) FROM Contacts")``) would otherwise
    answer 0. (A database of its own keeps them out of a DuckDB file the connection opens; a
    schema not named ``main`` keeps ``main.Contacts`` from meaning the declaration.)

    >>> from clicksend_sql.catalog import load_catalog
    >>> catalog_ddl(load_catalog()).splitlines()[2].startswith('CREATE VIEW clicksend_sql.clicksend."AccountUsage" AS ')
    True
    """
    return f"ATTACH IF NOT EXISTS ':memory:' AS {DATABASE_NAME};\n{_declarations(catalog)}"


def _declarations(catalog: Catalog) -> str:
    """The schema, tables and comments of :func:`catalog_ddl`, in database ``clicksend_sql``."""
    lines = [f"CREATE SCHEMA IF NOT EXISTS {SEARCH_PATH};"]
    for table in sorted(catalog.tables.values(), key=lambda t: t.name):
        name = f'{SEARCH_PATH}."{table.name}"'
        columns = ", ".join(f'CAST(NULL AS {c.type}) AS "{c.name}"' for c in table.columns)
        lines.append(f"CREATE VIEW {name} AS SELECT {columns} FROM range(1) WHERE error({_quote(_unread(table))}) IS NULL;")
        lines.append(f"COMMENT ON VIEW {name} IS {_quote(_table_comment(table))};")
        lines.extend(
            f'COMMENT ON COLUMN {name}."{c.name}" IS {_quote(c.description)};' for c in table.columns if c.description
        )
    return "\n".join(lines)


def declare(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Declare the ClickSend tables (:func:`catalog_ddl`) and register the metadata tables on a new
    connection. Both come from a cache entry when one can be kept: attaching a prepared database
    read-only takes a few milliseconds where running the DDL takes ~140, and reading the metadata
    tables back skips building them (and the pandas import ``pyarrow.array`` makes)."""
    declared = con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = $name",
                           {"name": DATABASE_NAME}).fetchall()[0][0]  # a cursor's database has them already
    entry = cached_entry("duckdb", _declarations_key(catalog), lambda directory: _build(directory, catalog))
    tables = None
    if entry is not None:
        try:  # the tables first: a failure then leaves nothing attached
            tables = {name: pa.ipc.open_file(pa.memory_map(str(entry / f"{name}.arrow"))).read_all() for name in _SCHEMAS}
            if not declared:
                _attach_copy(con, entry / "catalog.duckdb")
        except OSError:  # another process pruned the entry since it was looked up: declare without it
            tables = None
    if tables is None:
        if not declared:
            con.execute(catalog_ddl(catalog))
        tables = system_tables(catalog)
    for name, table in tables.items():
        con.register(name, table)


def _attach_copy(con: duckdb.DuckDBPyConnection, prepared: Path) -> None:
    """Attach a private copy of the prepared file, read-only. DuckDB 1.4+ shares one registry of
    attached files between the database instances of a process; many connections attaching the
    one cached file hung there under load (a test worker spun in ATTACH), so each gets its own
    copy (270 kB, well under a millisecond). The copy is unlinked at once: DuckDB keeps it open."""
    handle, name = tempfile.mkstemp(prefix="clicksend-sql-", suffix=".duckdb")
    try:
        with os.fdopen(handle, "wb") as copy:
            copy.write(prepared.read_bytes())
        con.execute(f"ATTACH IF NOT EXISTS {_quote(name)} AS {DATABASE_NAME} (READ_ONLY)")
    finally:
        os.unlink(name)


def _declarations_key(catalog: Catalog) -> str:
    """What a cache entry of :func:`declare` depends on: the catalog, the code and data that turn
    it into SQL and rows, and the versions of the libraries that wrote the files."""
    here = Path(__file__).resolve().parent
    sources = file_stamps([here / "catalog.py", here / "system_tables.py", here / "operations.json"])
    return fingerprint([catalog.fingerprint or repr(catalog), duckdb.__version__, pa.__version__, *sources])


def _build(directory: Path, catalog: Catalog) -> None:
    with duckdb.connect() as con:
        con.execute(f"ATTACH {_quote(str(directory / 'catalog.duckdb'))} AS {DATABASE_NAME}")
        con.execute(_declarations(catalog))
        con.execute(f"DETACH {DATABASE_NAME}")
    for name, table in system_tables(catalog).items():
        with pa.ipc.new_file(str(directory / f"{name}.arrow"), table.schema) as sink:
            sink.write_table(table)


def _unread(table: Table) -> str:
    """What reading a declaration directly says: DuckDB alone has none of the table's rows."""
    return (f"{table.name} is a ClickSend table: its rows come from the API, through con.sql() (or a cursor, "
            f"DB-API or the Postgres server), not through con.duckdb, which would see none.")


def _table_comment(table: Table) -> str:
    """The description, plus the WHERE a table needs before ClickSend lists it."""
    needed = table.needed_in_where
    need = f" Needs WHERE {' AND '.join(f'{n} = ...' for n in needed)}." if needed else ""
    return f"{table.description}{need}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
