"""DuckDB's exceptions as the package's own, in the user's terms.

Messages name the ClickSend table (not the view its rows are registered under) and never show
SQL the connector generated: DuckDB's ``LINE 1: ...`` context is kept only for statements that
reached DuckDB as the user wrote them.
"""

from __future__ import annotations

import re

import duckdb

from .catalog import Catalog
from .errors import (
    ClickSendSQLError,
    SQLConstraintError,
    SQLDataError,
    SQLError,
    SQLOperationalError,
    SQLSyntaxError,
    UnknownColumnError,
    UnknownProcedureError,
    UnknownTableError,
    UnsupportedStatementError,
    did_you_mean,
)
from .planner import VIEW_PREFIX

_CONTEXT = re.compile(r"\n+LINE \d+:.*", re.DOTALL)
# DuckDB's PEP 249 category of an error, as ours: a failed cast stays a DataError to DB-API callers.
_CATEGORIES: tuple[tuple[type[duckdb.Error], type[SQLError]], ...] = (
    (duckdb.DataError, SQLDataError),
    (duckdb.IntegrityError, SQLConstraintError),
    (duckdb.OperationalError, SQLOperationalError),
    (duckdb.NotSupportedError, UnsupportedStatementError),
)


def translate(exc: duckdb.Error, catalog: Catalog, *, generated: bool) -> ClickSendSQLError:
    """The typed error for a DuckDB exception raised by a statement.

    >>> from clicksend_sql.catalog import load_catalog
    >>> err = duckdb.BinderException('Referenced column "nme" not found in FROM clause!\\n\\nLINE 1: SELECT nme FROM __clicksend_contacts')
    >>> str(translate(err, load_catalog(), generated=True))
    'Referenced column "nme" not found in FROM clause!'
    """
    message = str(exc)
    if generated:
        message = _CONTEXT.sub("", message)
    message = re.sub(
        rf'"?{VIEW_PREFIX}(\w+)"?',
        lambda m: catalog.table(m.group(1)).name if catalog.has_table(m.group(1)) else m.group(0),
        message,
    )
    unknown = _unknown_name(message, catalog) if isinstance(exc, duckdb.CatalogException) else None
    if unknown is not None:
        return unknown
    if isinstance(exc, duckdb.BinderException) and ("not found" in message or "does not have a column" in message):
        return UnknownColumnError(message.replace("Values list", "Table"))
    if isinstance(exc, duckdb.ParserException):
        return SQLSyntaxError(message)
    return category(exc)(message)


def category(exc: duckdb.Error) -> type[SQLError]:
    """Our error class for DuckDB's PEP 249 category of ``exc``.

    >>> category(duckdb.ConversionException("x")).__name__, category(duckdb.ParserException("x")).__name__
    ('SQLDataError', 'SQLError')
    """
    return next((ours for theirs, ours in _CATEGORIES if isinstance(exc, theirs)), SQLError)


def _unknown_name(message: str, catalog: Catalog) -> ClickSendSQLError | None:
    """An unknown table or table function, with the closest ClickSend tables or procedures."""
    kinds = (
        (r"Table with name (\S+) does not exist", UnknownTableError, catalog.tables, "table", "sys_tables",
         "it is neither a ClickSend table nor a local DuckDB table."),
        (r"Table Function with name (\S+) does not exist", UnknownProcedureError, catalog.procedures,
         "procedure", "sys_procedures", "it is neither a ClickSend procedure nor a DuckDB table function."),
    )
    for pattern, error, known, noun, listing, why in kinds:
        found = re.search(pattern, message)
        if found:
            name = found.group(1).strip('"!')
            if noun == "table" and catalog.has_table(name):
                table = catalog.table(name).name
                return error(f"{table} is a ClickSend table in schema clicksend: write {table} or clicksend.{table}.")
            near = did_you_mean(name, [item.name for item in known.values()])
            return error(f"Unknown {noun} {name!r}: {why}{near} SELECT * FROM {listing} lists the ClickSend {noun}s.")
    return None
