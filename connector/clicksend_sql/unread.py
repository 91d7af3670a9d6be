"""Statements DuckDB parses and sqlglot cannot read: DuckDB runs them as written, unless they read
a ClickSend table.

A ClickSend table's rows come from requests the planner makes from sqlglot's syntax tree. In
DuckDB's catalog the table is declared but empty, so running such a statement there would answer
from no rows: it is refused instead, naming the table and what sqlglot could not read.
"""

from __future__ import annotations

from .catalog import Catalog
from .duckdb_parser import duckdb_reading
from .errors import UnsupportedStatementError
from .parsing import Statement


def check_unread(statement: Statement, catalog: Catalog) -> None:
    """Refuse an unread statement (:attr:`Statement.unread`) that names a ClickSend table.

    >>> from clicksend_sql.catalog import load_catalog
    >>> from clicksend_sql.parsing import parse
    >>> check_unread(parse("SELECT list_transform([1], lambda x: x + 1)")[0], load_catalog())
    >>> check_unread(parse("SELECT lambda x: x FROM clicksend.Contacts")[0], load_catalog())
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.UnsupportedStatementError: DuckDB parses this statement but sqlglot, which plans the requests for ClickSend tables, cannot read it (Syntax error at line 1, column 16 near ':': Invalid expression / Unexpected token), and it reads Contacts; rewrite the part sqlglot cannot read, or copy the rows to a local table first (CREATE TABLE t AS SELECT ...).
    """
    if statement.unread is None:
        return
    named = sorted(catalog.table(name).name for name in duckdb_reading(statement.text).tables if catalog.has_table(name))
    if named:
        raise UnsupportedStatementError(
            f"DuckDB parses this statement but sqlglot, which plans the requests for ClickSend tables, cannot read it "
            f"({statement.unread}), and it reads {', '.join(named)}; rewrite the part sqlglot cannot read, or copy the "
            "rows to a local table first (CREATE TABLE t AS SELECT ...)."
        )
