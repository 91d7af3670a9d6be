"""SQLAlchemy 2.x dialect ``clicksend://``: pandas' ``read_sql``, JupySQL's ``%sql`` and any tool
built on SQLAlchemy reach ClickSend tables through :mod:`clicksend_sql.dbapi`.

SQL is compiled as PostgreSQL's (DuckDB reads it), with ``?`` placeholders. Reflection answers
from the catalog, with no ClickSend request and no statement run through the driver: the
ClickSend tables are schema ``clicksend`` (and listed under the default schema too, since their
names resolve unqualified); local DuckDB tables are asked of DuckDB's own catalog directly.

URLs: ``clicksend://USERNAME:API_KEY@/`` (or credentials from the environment or a profile:
``clicksend:///?profile=work``), ``clicksend:///?demo=true`` for the demo emulator, and any
:func:`clicksend_sql.connect` option in the query string (``dry_run=true&max_messages=100``).

>>> from sqlalchemy.engine import make_url
>>> ClickSendDialect().create_connect_args(make_url("clicksend://me:secret@/?demo=false&rate_limit=10"))
([], {'username': 'me', 'api_key': 'secret', 'demo': False, 'rate_limit': 10.0})
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType
from typing import Any

from sqlalchemy import pool
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.postgresql.base import PGCompiler, PGDDLCompiler, PGIdentifierPreparer, PGTypeCompiler
from sqlalchemy.engine import URL, Connection
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import (
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedPrimaryKeyConstraint,
    ReflectedTableComment,
)
from sqlalchemy.exc import ArgumentError, NoSuchTableError

from . import dbapi
from .catalog import Table
from .system_tables import SCHEMA_NAME

DEFAULT_SCHEMA = "main"  # where DuckDB creates an unqualified local table


def _flag(value: str) -> bool:
    if value.lower() in ("true", "1", "yes", "on"):
        return True
    if value.lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not true or false")


def _rate(value: str) -> float | str | None:
    text = value.lower()
    return None if text == "none" else "auto" if text == "auto" else float(value)


def _slots(value: str) -> int | str:
    return "auto" if value.lower() == "auto" else int(value)


# The connect() options a URL's query string may carry, and how each is read from text.
_OPTIONS: dict[str, Callable[[str], Any]] = {
    "demo": _flag, "profile": str, "base_url": str, "database": str, "rate_limit": _rate, "concurrency": _slots,
    "retries": int, "deadline": float, "pushdown": _flag, "dry_run": _flag, "max_messages": int, "max_cost": float,
    "default_country": str, "invalid_rows": str, "cache_ttl": float,
}
_SIZED = re.compile(r"\s*\((\d+)\s*(?:,\s*(\d+))?\)")


def _numeric(size: re.Match[str] | None) -> sqltypes.Numeric[Any]:
    precision, scale = size.groups() if size else (None, None)
    return sqltypes.Numeric(int(precision) if precision else None, int(scale) if scale else None)


_TYPES: tuple[tuple[str, Callable[[re.Match[str] | None], sqltypes.TypeEngine[Any]]], ...] = (
    ("TIMESTAMP WITH TIME ZONE", lambda _: sqltypes.DateTime(timezone=True)),
    ("TIMESTAMPTZ", lambda _: sqltypes.DateTime(timezone=True)),
    ("TIMESTAMP", lambda _: sqltypes.DateTime()),
    ("DATE", lambda _: sqltypes.Date()),
    ("TIME", lambda _: sqltypes.Time()),
    ("INTERVAL", lambda _: sqltypes.Interval()),
    ("DECIMAL", _numeric),
    ("NUMERIC", _numeric),
    ("HUGEINT", lambda _: sqltypes.Numeric(38, 0)),
    ("BIGINT", lambda _: sqltypes.BigInteger()),
    ("UBIGINT", lambda _: sqltypes.Numeric(20, 0)),
    ("INTEGER", lambda _: sqltypes.Integer()),
    ("UINTEGER", lambda _: sqltypes.BigInteger()),
    ("SMALLINT", lambda _: sqltypes.SmallInteger()),
    ("TINYINT", lambda _: sqltypes.SmallInteger()),
    ("DOUBLE", lambda _: sqltypes.Double()),
    ("FLOAT", lambda _: sqltypes.Float()),
    ("REAL", lambda _: sqltypes.Float()),
    ("BOOLEAN", lambda _: sqltypes.Boolean()),
    ("BLOB", lambda _: sqltypes.LargeBinary()),
    ("UUID", lambda _: sqltypes.Uuid()),
    ("JSON", lambda _: sqltypes.JSON()),
    ("VARCHAR", lambda m: sqltypes.String(int(m.group(1))) if m else sqltypes.String()),
)


def sqlalchemy_type(sql_type: str) -> sqltypes.TypeEngine[Any]:
    """The SQLAlchemy type of a DuckDB type name; lists, structs and maps read as NullType.

    >>> sqlalchemy_type("DECIMAL(18,6)"), sqlalchemy_type("TIMESTAMPTZ"), sqlalchemy_type("VARCHAR")
    (Numeric(precision=18, scale=6), DateTime(timezone=True), String())
    """
    upper = sql_type.strip().upper()
    for name, make in _TYPES:
        if upper == name or (upper.startswith(name) and _SIZED.fullmatch(upper[len(name):])):
            return make(_SIZED.fullmatch(upper[len(name):]))
    return sqltypes.NullType()


class ClickSendDialect(DefaultDialect):
    """``clicksend://``: PostgreSQL's SQL compiler over the clicksend-sql DB-API driver."""

    name = "clicksend"
    driver = "clicksend_sql"
    supports_statement_cache = True
    default_paramstyle = "qmark"
    statement_compiler = PGCompiler
    ddl_compiler = PGDDLCompiler
    type_compiler_cls = PGTypeCompiler
    preparer = PGIdentifierPreparer
    supports_native_boolean = True
    supports_native_decimal = True
    supports_native_uuid = True
    supports_multivalues_insert = True
    supports_sane_rowcount = True
    supports_sane_multi_rowcount = False
    supports_comments = True
    # executemany goes to the driver, which makes one INSERT of every row: a send is capped as one statement
    use_insertmanyvalues = False
    postfetch_lastrowid = False

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        return dbapi

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        """One connection per thread for an in-memory database (every ``demo=true`` connection would
        start an emulator of its own, and local tables would differ between pooled connections)."""
        database = url.query.get("database", ":memory:")
        return pool.SingletonThreadPool if database == ":memory:" else pool.QueuePool

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        """``connect()``'s keyword arguments from the URL; an unknown option is refused by name."""
        if url.host or url.port or url.database:
            raise ArgumentError(
                f"clicksend URLs name no host or database ({url.render_as_string()}): write clicksend://USER:KEY@/ "
                "and put a different API address in the query string as base_url=..."
            )
        options: dict[str, Any] = {}
        if url.username:
            options["username"] = url.username
        if url.password:
            options["api_key"] = url.password
        for name, value in url.query.items():
            if name not in _OPTIONS:
                raise ArgumentError(f"Unknown clicksend URL option {name!r}; accepted: {', '.join(sorted(_OPTIONS))}.")
            text = value[-1] if isinstance(value, tuple) else value
            try:
                options[name] = _OPTIONS[name](text)
            except ValueError as exc:
                raise ArgumentError(f"clicksend URL option {name}={text!r}: {exc}") from None
        return [], options

    # --- session set-up without SQL ----------------------------------------------------------------

    def initialize(self, connection: Connection) -> None:
        self.server_version_info = self._get_server_version_info(connection)
        self.default_schema_name = DEFAULT_SCHEMA
        self.default_isolation_level = "AUTOCOMMIT"

    def _get_server_version_info(self, connection: Connection) -> tuple[int, ...]:
        from . import __version__

        return tuple(int(part) for part in __version__.split(".") if part.isdigit())

    def _get_default_schema_name(self, connection: Connection) -> str:
        return DEFAULT_SCHEMA

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "AUTOCOMMIT"  # ClickSend changes are made as each statement runs

    def get_isolation_level_values(self, dbapi_connection: Any) -> list[Any]:
        return ["AUTOCOMMIT"]

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        if level != "AUTOCOMMIT":
            raise ArgumentError(f"Isolation level {level!r}: ClickSend changes are made as each statement runs; "
                                "only AUTOCOMMIT is available.")

    def do_ping(self, dbapi_connection: Any) -> bool:
        return not dbapi_connection.closed

    # --- reflection --------------------------------------------------------------------------------

    def get_schema_names(self, connection: Connection, **kw: Any) -> list[str]:
        local = self._duckdb(connection, "SELECT DISTINCT schema_name FROM duckdb_schemas() WHERE NOT internal "
                                         "AND database_name = current_database() ORDER BY 1")
        return sorted({DEFAULT_SCHEMA, SCHEMA_NAME, *(r[0] for r in local)})

    def get_table_names(self, connection: Connection, schema: str | None = None, **kw: Any) -> list[str]:
        ours = [t.name for t in self._catalog(connection).tables.values()] if schema in (None, SCHEMA_NAME) else []
        local = [] if schema == SCHEMA_NAME else self._local_tables(connection, schema, "BASE TABLE")
        return ours + [name for name in local if name not in ours]

    def get_view_names(self, connection: Connection, schema: str | None = None, **kw: Any) -> list[str]:
        return [] if schema == SCHEMA_NAME else self._local_tables(connection, schema, "VIEW")

    def has_table(self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any) -> bool:
        names = {n.lower() for n in self.get_table_names(connection, schema) + self.get_view_names(connection, schema)}
        return table_name.lower() in names

    def get_columns(self, connection: Connection, table_name: str, schema: str | None = None,
                    **kw: Any) -> list[ReflectedColumn]:
        table = self._clicksend_table(connection, table_name, schema)
        if table is not None:
            return [ReflectedColumn(name=c.name, type=sqlalchemy_type(c.type), nullable=c.name not in table.primary_key,
                                    default=None, comment=c.description or None) for c in table.columns]
        rows = self._duckdb(connection, "SELECT column_name, data_type, is_nullable, column_default FROM "
                                        "information_schema.columns WHERE lower(table_name) = lower(?) AND "
                                        "table_schema = ? ORDER BY ordinal_position",
                            [table_name, schema or DEFAULT_SCHEMA])
        if not rows:
            raise NoSuchTableError(table_name)
        return [ReflectedColumn(name=name, type=sqlalchemy_type(kind), nullable=nullable == "YES", default=default)
                for name, kind, nullable, default in rows]

    def get_pk_constraint(self, connection: Connection, table_name: str, schema: str | None = None,
                          **kw: Any) -> ReflectedPrimaryKeyConstraint:
        table = self._clicksend_table(connection, table_name, schema)
        if table is not None:
            return ReflectedPrimaryKeyConstraint(constrained_columns=list(table.primary_key), name=None)
        rows = self._duckdb(connection, "SELECT constraint_column_names FROM duckdb_constraints() WHERE "
                                        "constraint_type = 'PRIMARY KEY' AND lower(table_name) = lower(?) AND "
                                        "schema_name = ?", [table_name, schema or DEFAULT_SCHEMA])
        return ReflectedPrimaryKeyConstraint(constrained_columns=list(rows[0][0]) if rows else [], name=None)

    def get_foreign_keys(self, connection: Connection, table_name: str, schema: str | None = None,
                         **kw: Any) -> list[ReflectedForeignKeyConstraint]:
        """A ClickSend child table's parent (Contacts.ListId → ContactLists.ListId), so BI tools join them."""
        table = self._clicksend_table(connection, table_name, schema)
        if table is None or table.parent is None:
            return []
        return [ReflectedForeignKeyConstraint(
            name=None, constrained_columns=[table.parent.column], referred_schema=SCHEMA_NAME,
            referred_table=table.parent.table, referred_columns=[table.parent.parent_column], options={})]

    def get_indexes(self, connection: Connection, table_name: str, schema: str | None = None, **kw: Any) -> list[Any]:
        return []

    def get_unique_constraints(self, connection: Connection, table_name: str, schema: str | None = None,
                               **kw: Any) -> list[Any]:
        return []

    def get_check_constraints(self, connection: Connection, table_name: str, schema: str | None = None,
                              **kw: Any) -> list[Any]:
        return []

    def get_table_comment(self, connection: Connection, table_name: str, schema: str | None = None,
                          **kw: Any) -> ReflectedTableComment:
        table = self._clicksend_table(connection, table_name, schema)
        return ReflectedTableComment(text=table.description if table is not None else None)

    def _clicksend_table(self, connection: Connection, name: str, schema: str | None) -> Table | None:
        """The ClickSend table of that name, unless the schema names a local one (``main``)."""
        catalog = self._catalog(connection)
        if schema not in (None, SCHEMA_NAME) or not catalog.has_table(name):
            return None
        return catalog.table(name)

    def _local_tables(self, connection: Connection, schema: str | None, kind: str) -> list[str]:
        rows = self._duckdb(connection, "SELECT table_name FROM information_schema.tables WHERE table_type = ? "
                                        "AND table_schema = ? AND table_catalog = current_database() ORDER BY 1",
                            [kind, schema or DEFAULT_SCHEMA])
        return [r[0] for r in rows]

    @staticmethod
    def _session(connection: Connection) -> Any:
        return connection.connection.dbapi_connection.session  # type: ignore[union-attr]

    def _catalog(self, connection: Connection) -> Any:
        return self._session(connection).catalog

    def _duckdb(self, connection: Connection, sql: str, params: list[Any] | None = None) -> list[Any]:
        """DuckDB's own catalog, asked directly: reflection sends nothing through the driver."""
        cursor = self._session(connection).duckdb.cursor()
        try:
            return list(cursor.execute(sql, params).fetchall())
        finally:
            cursor.close()


dialect = ClickSendDialect
