"""Metadata tables (``sys_tables``, ``sys_columns``, ...) built from the catalog.

They let users discover the catalog with SQL (``SELECT * FROM sys_columns WHERE TableName =
'Contacts'``) instead of reading YAML, and they are answered locally, without any HTTP call.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from .catalog import Catalog, Table

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
}


def system_tables(catalog: Catalog) -> dict[str, pa.Table]:
    """The four metadata tables, keyed by their SQL names.

    >>> import pyarrow.compute as pc
    >>> from clicksend_sql.catalog import load_catalog
    >>> sys = system_tables(load_catalog())
    >>> sorted(sys)
    ['sys_columns', 'sys_procedure_parameters', 'sys_procedures', 'sys_tables']
    >>> row = sys["sys_tables"].filter(pc.equal(sys["sys_tables"]["TableName"], "Contacts")).to_pylist()[0]
    >>> row["ParentTable"], row["CanDelete"], row["IncrementalColumns"], row["ListEndpoint"]
    ('ContactLists', True, 'CreatedDate, UpdatedDate', 'GET /v3/lists/{list_id}/contacts')
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


DATABASE_NAME = "clicksend_sql"
SCHEMA_NAME = "clicksend"
SEARCH_PATH = f"{DATABASE_NAME}.{SCHEMA_NAME}"


def catalog_ddl(catalog: Catalog) -> str:
    """SQL that declares every ClickSend table, with comments, as schema ``clicksend`` of an
    attached in-memory database, so DuckDB's own discovery (SHOW TABLES, DESCRIBE,
    information_schema, duckdb_columns(), PRAGMA table_info) knows them without a request. They
    stay empty: a statement's rows come from the API. (A database of its own keeps them out of a
    DuckDB file the connection opens; a schema not named ``main`` keeps ``main.Contacts`` from
    silently meaning the empty declaration.)

    >>> from clicksend_sql.catalog import load_catalog
    >>> print(catalog_ddl(load_catalog()).splitlines()[2][:70])
    CREATE TABLE clicksend_sql.clicksend."AccountUsage" ("Year" INTEGER,
    """
    lines = [f"ATTACH IF NOT EXISTS ':memory:' AS {DATABASE_NAME};", f"CREATE SCHEMA IF NOT EXISTS {SEARCH_PATH};"]
    for table in sorted(catalog.tables.values(), key=lambda t: t.name):
        name = f'{SEARCH_PATH}."{table.name}"'
        columns = ", ".join(f'"{c.name}" {c.type}' for c in table.columns)
        lines.append(f"CREATE TABLE {name} ({columns});")
        lines.append(f"COMMENT ON TABLE {name} IS {_quote(_table_comment(table))};")
        lines.extend(
            f'COMMENT ON COLUMN {name}."{c.name}" IS {_quote(c.description)};' for c in table.columns if c.description
        )
    return "\n".join(lines)


def _table_comment(table: Table) -> str:
    """The description, plus the WHERE a table needs before ClickSend lists it."""
    needed = [
        c.name
        for var in table.list.path_vars
        for c in table.columns
        if c.path_param == var and not (table.parent and table.parent.column == c.name)
    ]
    need = f" Needs WHERE {' AND '.join(f'{n} = ...' for n in needed)}." if needed else ""
    return f"{table.description}{need}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
