"""Connections: SQL text in, :class:`Result` out.

A statement flows one way: sqlglot parses it, the planner turns each ClickSend table reference
into a scan, DuckDB binds the statement against empty stand-ins (so a typo fails before any
request), the executor fetches every scan concurrently, the rows are registered in DuckDB as
Arrow tables, and DuckDB runs the statement. Statements that mention no ClickSend table go to
DuckDB untouched, so ``con.sql`` is also a plain DuckDB session over local tables and files.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from dataclasses import fields
from datetime import datetime, timezone
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from . import procedures
from .catalog import Catalog, load_catalog
from .config import Settings, resolve_settings
from .conversion import arrow_schema
from .errors import (
    ClickSendSQLError,
    SQLError,
    SQLSyntaxError,
    UnknownColumnError,
    UnknownProcedureError,
    UnknownTableError,
    UnsupportedStatementError,
    did_you_mean,
)
from .execution import Executor, ProgressCallback
from .http import ClickSendClient
from .planner import VIEW_PREFIX, Plan, plan, view_name
from .planner.plan import NO_MATCH
from .planner.bind_parameters import bind_parameters
from .planner.find_tables import find_tables
from .result import Result, StatementStats
from .system_tables import system_tables

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any] | None
EXPLAIN_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("table", "mode", "endpoint", "streams", "params", "pushed", "local")]
    + [("exact", pa.bool_()), ("limit", pa.int64()), ("expected_requests", pa.string()), ("duckdb_sql", pa.string())]
)
_WRITE_KINDS = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
_DDL_KINDS = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)


class _EventLoopThread:
    """One event loop in a daemon thread, so blocking callers (and notebooks that already run a
    loop) can drive the async client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="clicksend-sql-io", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class Connection:
    """A ClickSend account seen through DuckDB. Create with :func:`clicksend_sql.connect`."""

    def __init__(
        self,
        settings: Settings,
        *,
        database: str = ":memory:",
        rate_limit: float | None = 20.0,
        concurrency: int = 8,
        progress: ProgressCallback | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog or load_catalog()
        self.duckdb: duckdb.DuckDBPyConnection = duckdb.connect(database)
        self.progress = progress
        self.last_stats = StatementStats()
        self._io = _EventLoopThread()
        self._client = self._io.run(_make_client(settings, rate_limit, concurrency))
        self._emulator: Any = None
        for name, table in system_tables(self.catalog).items():
            self.duckdb.register(name, table)

    def __repr__(self) -> str:
        return f"Connection(username={self.settings.username!r}, base_url={self.settings.base_url!r})"

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close HTTP connections, DuckDB and (for ``demo=True``) the emulator."""
        if self._io.loop.is_closed():
            return
        self._io.run(self._client.aclose())
        self._io.close()
        self.duckdb.close()
        if self._emulator is not None:
            self._emulator.stop()

    # --- public API ----------------------------------------------------------------------------

    def sql(self, text: str, params: Params = None) -> Result:
        """Run one or more statements; the result of the last one is returned."""
        statements = _parse(text)
        if not statements:
            raise SQLError("The statement is empty.")
        result = Result(pa.table({}))
        for statement in statements:
            result = self._run(statement, params, text if len(statements) == 1 else None)
        return result

    execute = sql

    def explain(self, text: str, params: Params = None) -> Result:
        """The plan of a SELECT: per table the endpoint, parameters, pushed and local predicates."""
        statements = _parse(text)
        if len(statements) != 1:
            raise SQLError("EXPLAIN takes exactly one statement.")
        return self._explain(statements[0], params)

    # --- dispatch ------------------------------------------------------------------------------

    def _run(self, statement: exp.Expression, params: Params, original: str | None) -> Result:
        if isinstance(statement, exp.Command) and statement.name.upper() == "EXPLAIN":
            inner = _parse(statement.expression.name)
            if len(inner) == 1 and find_tables(inner[0], self.catalog):
                return self._explain(inner[0], params)
        if isinstance(statement, exp.Command) and statement.name.upper() == "CALL":
            function = _parse(f"SELECT {statement.expression.name}")[0].expressions[0]
            if isinstance(function, exp.Func) and function.name and self.catalog.has_procedure(function.name):
                return self._call(function, params)
        references = find_tables(statement, self.catalog)
        if not references:
            return self._duckdb(original or statement.sql("duckdb"), params if original else None)
        self._check_kind(statement)
        if isinstance(statement, exp.Describe) and statement.args.get("style") is None:
            return self._describe(statement)
        return self._select(bind_parameters(statement, params))

    def _call(self, function: exp.Func, params: Params) -> Result:
        """CALL a ClickSend procedure: arguments are any constant SQL expressions or parameters."""
        procedure = self.catalog.procedure(function.name)
        arguments = bind_parameters(exp.select(*[a.copy() for a in function.expressions]), params)
        values = self._duckdb_table(arguments.sql("duckdb"), None).to_pylist()[0].values() if function.expressions else ()
        bound = procedures.bind_arguments(procedure, list(values))
        with self._accounting() as stats:
            response = self._io.run(procedures.call(self._client, procedure, bound))
        return Result(procedures.result_table(response), stats)

    def _describe(self, statement: exp.Describe) -> Result:
        """DESCRIBE needs only the declared schema: answer it from the empty stand-ins, no requests."""
        the_plan = plan(statement, self.catalog, self._evaluate)
        with self._views(the_plan):
            return self._duckdb(the_plan.duckdb_sql, None)

    def _check_kind(self, statement: exp.Expression) -> None:
        if isinstance(statement, exp.Create) and str(statement.args.get("kind") or "").upper() == "VIEW":
            raise UnsupportedStatementError(
                "CREATE VIEW over ClickSend tables is not supported: their rows exist only while a statement "
                "runs, so the view would break. Use CREATE TABLE name AS SELECT ... to keep a local copy, or a CTE."
            )
        target = _target_table(statement)
        if target is None or not self.catalog.has_table(target.name) or target.db.lower() not in ("", "clicksend"):
            return
        table = self.catalog.table(target.name)
        kind = "TRUNCATE" if isinstance(statement, exp.TruncateTable) else statement.key.upper()
        allowed = ", ".join(("SELECT", *table.dml))
        raise UnsupportedStatementError(
            f"{kind} on ClickSend table {table.name} is not supported by this version of clicksend-sql; "
            f"{table.name} can be read with SELECT (its declared capabilities are: {allowed}; see sys_tables)."
        )

    def _explain(self, statement: exp.Expression, params: Params) -> Result:
        the_plan = plan(bind_parameters(statement, params), self.catalog, self._evaluate)
        rows = [{**row, "duckdb_sql": the_plan.duckdb_sql} for row in the_plan.explain_rows()]
        return Result(pa.Table.from_pylist(rows, schema=EXPLAIN_SCHEMA))

    def _select(self, statement: exp.Expression) -> Result:
        the_plan = plan(statement, self.catalog, self._evaluate)
        with self._accounting() as stats, self._views(the_plan):
            self._validate(the_plan)
            fetched = self._io.run(Executor(self._client, self.catalog, self.progress).run(the_plan.scans))
            for name, rows in fetched.items():
                if isinstance(rows, pa.Table):
                    self.duckdb.register(the_plan.scans[name].view, _redact(rows, self.settings.api_key))
                    stats.rows_fetched[the_plan.scans[name].table.name] = rows.num_rows
            if the_plan.count_alias is not None:
                total = next(iter(fetched.values()))
                sql = f'SELECT {int(total)}::BIGINT AS "{the_plan.count_alias.replace(chr(34), chr(34) * 2)}"'
            else:
                sql = the_plan.duckdb_sql
            table = self._duckdb_table(sql, None)
        return Result(table, stats)

    @contextmanager
    def _accounting(self) -> Iterator[StatementStats]:
        """Per-statement accounting: what the client spent while the block ran becomes last_stats."""
        stats = StatementStats()
        before, started = self._client.stats.snapshot(), time.perf_counter()
        try:
            yield stats
        finally:
            spent = self._client.stats - before
            for counter in fields(spent):
                setattr(stats, counter.name, getattr(spent, counter.name))
            stats.elapsed_seconds = time.perf_counter() - started
            self.last_stats = stats

    @contextmanager
    def _views(self, the_plan: Plan) -> Any:
        """Register empty stand-ins for the scans, and drop whatever was registered afterwards."""
        for scan in the_plan.scans.values():
            self.duckdb.register(scan.view, arrow_schema(scan.table).empty_table())
        try:
            yield
        finally:
            for scan in the_plan.scans.values():
                self.duckdb.unregister(scan.view)

    def _validate(self, the_plan: Plan) -> None:
        """Let DuckDB bind the statement's query against the empty stand-ins before any request."""
        query = _query_part(the_plan.statement)
        if query is not None:
            self._duckdb_table(f"SELECT * FROM ({query.sql('duckdb')}) LIMIT 0", None)

    def _evaluate(self, expression: exp.Expression, sql_type: str) -> Any:
        """A constant expression's value as the column type sees it (DuckDB's own casting rules)."""
        target = "VARCHAR" if sql_type == "JSON" else sql_type
        constant = expression.sql("duckdb")
        value = f"CAST(({constant}) AS {target})"
        # 1401.5 compared with a BIGINT key matches nothing; pushing the rounded 1402 would waste a request.
        exact = f"{value} = ({constant})" if target in ("BIGINT", "INTEGER") else "true"
        if target == "TIMESTAMPTZ":  # read as epoch microseconds: DuckDB hands out tz values only via pytz
            value = f"epoch_us({value})"
        try:
            rows = self.duckdb.execute(f"SELECT {value}, {exact}").fetchall()
        except duckdb.ConversionException as exc:
            raise SQLError(f"{constant} cannot be compared with a {sql_type} column: {exc}") from None
        except duckdb.Error as exc:
            raise ValueError(str(exc)) from None
        if not rows or rows[0][0] is None:
            return None
        if not rows[0][1]:
            return NO_MATCH
        result = rows[0][0]
        return datetime.fromtimestamp(result / 1_000_000, tz=timezone.utc) if target == "TIMESTAMPTZ" else result

    # --- DuckDB --------------------------------------------------------------------------------

    def _duckdb(self, sql: str, params: Params) -> Result:
        with self._accounting() as stats:
            table = self._duckdb_table(sql, params)
        return Result(table, stats)

    def _duckdb_table(self, sql: str, params: Params) -> pa.Table:
        try:
            relation = self.duckdb.sql(sql, params=params) if params else self.duckdb.sql(sql)
            return relation.to_arrow_table() if relation is not None else pa.table({})
        except duckdb.Error as exc:
            raise self._translate(exc) from None

    def _unknown_name(self, message: str) -> ClickSendSQLError | None:
        """An unknown table or table function, with the closest ClickSend tables or procedures."""
        kinds = (
            (r"Table with name (\S+) does not exist", UnknownTableError, self.catalog.tables, "table", "sys_tables",
             "it is neither a ClickSend table nor a local DuckDB table."),
            (r"Table Function with name (\S+) does not exist", UnknownProcedureError, self.catalog.procedures,
             "procedure", "sys_procedures", "it is neither a ClickSend procedure nor a DuckDB table function."),
        )
        for pattern, error, known, noun, listing, why in kinds:
            found = re.search(pattern, message)
            if found:
                name = found.group(1)
                near = did_you_mean(name, [item.name for item in known.values()])
                return error(f"Unknown {noun} {name!r}: {why}{near} SELECT * FROM {listing} lists the ClickSend {noun}s.")
        return None

    def _translate(self, exc: duckdb.Error) -> ClickSendSQLError:
        message = re.sub(
            rf'"?{VIEW_PREFIX}(\w+)"?',
            lambda m: self.catalog.table(m.group(1)).name if self.catalog.has_table(m.group(1)) else m.group(0),
            str(exc),
        )
        unknown = self._unknown_name(message) if isinstance(exc, duckdb.CatalogException) else None
        if unknown is not None:
            return unknown
        if isinstance(exc, duckdb.BinderException) and ("not found" in message or "does not have a column" in message):
            return UnknownColumnError(message.replace("Values list", "Table"))
        if isinstance(exc, duckdb.ParserException):
            return SQLSyntaxError(message)
        return SQLError(message)


async def _make_client(settings: Settings, rate_limit: float | None, concurrency: int) -> ClickSendClient:
    """Create the client on the I/O loop it will be used from."""
    return ClickSendClient(settings, rate_limit=rate_limit, concurrency=concurrency)


def _parse(text: str) -> list[exp.Expression]:
    """Parse DuckDB-dialect SQL; a syntax error names the line and column."""
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # statements sqlglot keeps as raw commands (CALL, EXPLAIN) are fine
    try:
        return [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        near = f" near {first['highlight']!r}" if first.get("highlight") else ""
        detail = first.get("description") or str(exc).splitlines()[0]
        if detail.startswith("Required keyword"):
            detail = "the clause is incomplete (something is missing after it)"
        raise SQLSyntaxError(f"Syntax error{where}{near}: {detail}") from None
    except TokenError as exc:
        raise SQLSyntaxError(f"Syntax error: {exc}") from None
    finally:
        sqlglot_logger.setLevel(level)


def _redact(rows: pa.Table, secret: str) -> pa.Table:
    """Mask the connection's own API key wherever the API echoes it (``GET /account`` does, in
    ``_subaccount``), so it never reaches results, files or the CLI.

    >>> _redact(pa.table({"s": ['{"api_key":"K-1"}', None], "n": [1, 2]}), "K-1").to_pylist()
    [{'s': '{"api_key":"****"}', 'n': 1}, {'s': None, 'n': 2}]
    """
    for index, field in enumerate(rows.schema):
        if pa.types.is_string(field.type) and pc.any(pc.match_substring(rows.column(index), secret)).as_py():
            masked = pc.replace_substring(rows.column(index), secret, "****")
            rows = rows.set_column(index, field, masked)
    return rows


def _target_table(statement: exp.Expression) -> exp.Table | None:
    """The table a write or DDL statement changes, if any."""
    if not isinstance(statement, (*_WRITE_KINDS, *_DDL_KINDS)):
        return None
    tables = statement.args.get("tables")  # DROP TABLE a, b
    if isinstance(statement, exp.TruncateTable):
        tables = statement.expressions
    target = tables[0] if tables else statement.this
    if isinstance(target, exp.Schema):
        target = target.this
    return target if isinstance(target, exp.Table) else None


def _query_part(statement: exp.Expression) -> exp.Expression | None:
    """The query inside a statement (itself for SELECT; the source of COPY, CTAS, INSERT)."""
    if isinstance(statement, exp.Query):
        return statement
    inner = statement.this if isinstance(statement, exp.Copy) else statement.args.get("expression")
    if isinstance(inner, exp.Subquery):
        inner = inner.this
    return inner if isinstance(inner, exp.Query) else None


def connect(
    username: str | None = None,
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    profile: str | None = None,
    demo: bool = False,
    database: str = ":memory:",
    rate_limit: float | None = 20.0,
    concurrency: int = 8,
    progress: ProgressCallback | None = None,
    emulator_options: Mapping[str, Any] | None = None,
) -> Connection:
    """Open a connection.

    Credentials come from the arguments, ``CLICKSEND_USERNAME``/``CLICKSEND_API_KEY``, or a
    profile in the config file. ``demo=True`` starts an in-process ClickSend emulator with demo
    data instead, so no account is needed.
    """
    emulator = None
    if demo:
        from .emulator import Emulator

        emulator = Emulator(**dict(emulator_options or {}))
        emulator.start()
        settings = Settings(emulator.username, emulator.api_key, emulator.base_url)
    else:
        settings = resolve_settings(username, api_key, base_url=base_url, profile=profile)
    try:
        connection = Connection(
            settings, database=database, rate_limit=rate_limit, concurrency=concurrency, progress=progress
        )
    except BaseException:
        if emulator is not None:
            emulator.stop()
        raise
    connection._emulator = emulator
    return connection


__all__ = ["Connection", "connect", "view_name"]
