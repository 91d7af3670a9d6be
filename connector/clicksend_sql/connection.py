"""Connections: SQL text in, :class:`Result` out.

A statement flows one way: sqlglot parses it, the planner turns each ClickSend table reference
into a scan, DuckDB binds the statement against empty stand-ins (so a typo fails before any
request), the executor fetches every scan concurrently, the rows are registered in DuckDB as
Arrow tables, and DuckDB runs the statement. Statements that mention no ClickSend table go to
DuckDB untouched, so ``con.sql`` is also a plain DuckDB session over local tables and files.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from . import phones, procedures, writes
from .catalog import Catalog, Table, load_catalog
from .config import Settings, resolve_settings
from .conversion import arrow_schema
from .duckdb_errors import translate
from .errors import SQLError, UnsupportedStatementError
from .evaluation import DuckDBSession
from .execution import Executor, ProgressCallback
from .http import DEFAULT_DEADLINE, DEFAULT_RETRIES, ClickSendClient
from .parameters import BINDING_ERRORS, ParameterError, Parameters
from .parsing import Statement, deep_recursion, parse
from .planner import Plan, plan, view_name
from .planner.find_tables import find_tables
from .result import Result, StatementStats
from .system_tables import SEARCH_PATH, catalog_ddl, system_tables

T = TypeVar("T")
Params = Sequence[Any] | Mapping[str, Any] | None
EXPLAIN_SCHEMA = pa.schema(
    [(name, pa.string()) for name in ("table", "mode", "endpoint", "streams", "params", "pushed", "local", "kept_local")]
    + [("exact", pa.bool_()), ("limit", pa.int64()), ("expected_requests", pa.string()), ("duckdb_sql", pa.string())]
)
_WRITE_KINDS = (exp.Insert, exp.Update, exp.Delete)
_DDL_KINDS = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)
_PACKAGE_DIR = str(Path(__file__).resolve().parent)
# What DuckDB's replacement scans read from Python variables: (module, class) pairs, looked up
# only in modules the caller already imported.
_SCANNABLE = (("pandas", "DataFrame"), ("polars", "DataFrame"), ("polars", "LazyFrame"), ("pyarrow", "Table"),
              ("pyarrow", "RecordBatch"), ("pyarrow", "RecordBatchReader"), ("pyarrow.dataset", "Dataset"),
              ("duckdb", "DuckDBPyRelation"))


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
            future.cancel()  # the statement's task group cancels its requests...
            asyncio.run_coroutine_threadsafe(_settle(), self.loop).result(timeout=10)  # ...let them unwind
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
        retries: int = DEFAULT_RETRIES,
        deadline: float = DEFAULT_DEADLINE,
        progress: ProgressCallback | None = None,
        catalog: Catalog | None = None,
        pushdown: bool = True,
        dry_run: bool = False,
        max_messages: int | None = None,
        max_cost: Decimal | float | None = None,
        default_country: str | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog or load_catalog()
        self.duckdb: duckdb.DuckDBPyConnection = duckdb.connect(database)
        self.duckdb.execute(catalog_ddl(self.catalog))
        phones.register(self.duckdb, default_country)
        current = self.duckdb.execute("SELECT current_setting('search_path')").fetchall()[0][0] or "main"
        self.duckdb.execute("SET search_path = $path", {"path": f"{current},{SEARCH_PATH}"})
        self.progress = progress
        self.pushdown = pushdown  # False: fetch whole tables and let DuckDB do everything
        self.dry_run = dry_run  # True: writes show their requests and price instead of sending
        self.limits = writes.Limits(max_messages, max_cost)  # writes over these are refused before sending
        self.last_stats = StatementStats()
        self._io = _EventLoopThread()
        try:
            self._client = self._io.run(_make_client(settings, rate_limit, concurrency, retries, deadline))
        except BaseException:  # a refused setting must not leave the I/O thread and DuckDB open
            self._io.close()
            self.duckdb.close()
            raise
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
        """Run one or more statements in order; the result of the last one is returned."""
        return self.sql_each(text, params)[-1]

    execute = sql

    def sql_each(self, text: str, params: Params = None) -> list[Result]:
        """Run one or more statements in order and return every statement's result."""
        statements = parse(text)
        if not statements:
            raise SQLError("The statement is empty.")
        parameters = Parameters(params)
        with deep_recursion(), self._python_objects(statements, _caller_frame()):
            return [self._run(statement, parameters) for statement in statements]

    def explain(self, text: str, params: Params = None) -> Result:
        """The plan of a statement: per table the endpoint, parameters, pushed and local predicates."""
        statements = parse(text)
        if len(statements) != 1:
            raise SQLError("EXPLAIN takes exactly one statement.")
        with deep_recursion():
            return self._explain(statements[0].expression, Parameters(params))

    # --- dispatch ------------------------------------------------------------------------------

    def _run(self, statement: Statement, parameters: Parameters) -> Result:
        expression = statement.expression
        if isinstance(expression, exp.Command) and expression.name.upper() in ("EXPLAIN", "CALL"):
            answered = self._command(expression, parameters)
            if answered is not None:
                return answered
        references = find_tables(expression, self.catalog)
        if not references or isinstance(expression, (exp.Describe, exp.Pragma, exp.Show)):
            return self._duckdb(statement.text, parameters.for_duckdb(statement.placeholders))
        self._check_kind(expression)
        target = _target_table(expression)
        if isinstance(expression, _WRITE_KINDS) and target is not None and _is_clicksend(target, self.catalog):
            return self._write(expression, self.catalog.table(target.name), parameters, send=not self.dry_run)
        return self._select(expression, parameters)

    def _command(self, command: exp.Command, parameters: Parameters) -> Result | None:
        """EXPLAIN and CALL of ClickSend statements; None leaves the command to DuckDB."""
        if not isinstance(command.expression, exp.Expression) or not command.expression.name.strip():
            return None  # a bare EXPLAIN or CALL: DuckDB's own syntax error says so
        rest = command.expression.name
        if command.name.upper() == "CALL":
            function = parse(f"SELECT {rest}")[0].expression.expressions[0]
            if isinstance(function, exp.Func) and function.name and self.catalog.has_procedure(function.name):
                return self._call(function, parameters, send=True)
            return None
        if re.match(r"\s*ANALY[SZ]E\b", rest, re.IGNORECASE):
            if find_tables(parse(re.sub(r"^\s*ANALY[SZ]E", "", rest, flags=re.IGNORECASE))[0].expression, self.catalog):
                raise UnsupportedStatementError(
                    "EXPLAIN ANALYZE is not supported on ClickSend tables. EXPLAIN shows the requests a "
                    "statement would make; run the statement and read result.stats for what it cost."
                )
            return None
        inner = parse(rest)
        if len(inner) != 1:
            return None
        target = inner[0].expression
        written = _target_table(target)
        if isinstance(target, _WRITE_KINDS) and written is not None and _is_clicksend(written, self.catalog):
            return self._write(target, self.catalog.table(written.name), parameters, send=False)
        if isinstance(target, exp.Command) and target.name.upper() == "CALL":
            function = parse(f"SELECT {target.expression.name}")[0].expression.expressions[0]
            if isinstance(function, exp.Func) and self.catalog.has_procedure(function.name):
                return self._call(function, parameters, send=False)
        if find_tables(target, self.catalog):
            return self._explain(target, parameters)
        return None

    def _call(self, function: exp.Func, parameters: Parameters, *, send: bool) -> Result:
        """CALL a ClickSend procedure: arguments are any constant SQL expressions or parameters.
        With ``send=False`` (EXPLAIN CALL) the request is shown, not made."""
        procedure = self.catalog.procedure(function.name)
        values: list[Any] = []
        if function.expressions:  # every argument evaluated by DuckDB, named ones (name := value) too
            plain = [a.expression if isinstance(a, exp.PropertyEQ) else a for a in function.expressions]
            aliased = [argument.as_(f"a{index}") for index, argument in enumerate(plain)]
            arguments, bound = parameters.evaluation(exp.select(*aliased))
            values = list(self._duckdb_table(arguments.sql("duckdb"), bound, generated=True).to_pylist()[0].values())
        names = [a.this.name if isinstance(a, exp.PropertyEQ) else None for a in function.expressions]
        first_named = next((i for i, n in enumerate(names) if n is not None), len(names))
        if any(n is None for n in names[first_named:]):
            raise procedures.ProcedureArgumentError(f"CALL {procedure.name}: positional arguments come before named ones.")
        positional = [v for v, n in zip(values, names, strict=True) if n is None]
        named = {n: v for v, n in zip(values, names, strict=True) if n is not None}
        arguments_by_name = procedures.bind_arguments(procedure, positional, named)
        if not send:
            return Result(pa.Table.from_pylist([procedures.describe(procedure, arguments_by_name)]), kind="explain")
        with self._accounting() as stats:
            response = self._io.run(procedures.call(self._client, procedure, arguments_by_name))
        returns = self.catalog.table(procedure.returns) if procedure.returns else None
        return Result(_redact(procedures.result_table(response, returns), self.settings.api_key), stats, kind="call")

    def _check_kind(self, statement: exp.Expression) -> None:
        if isinstance(statement, exp.Create) and str(statement.args.get("kind") or "").upper() == "VIEW":
            raise UnsupportedStatementError(
                "CREATE VIEW over ClickSend tables is not supported: their rows exist only while a statement "
                "runs, so the view would break. Use CREATE TABLE name AS SELECT ... to keep a local copy, or a CTE."
            )
        target = _target_table(statement)
        if target is None or not _is_clicksend(target, self.catalog) or isinstance(statement, (exp.Insert, exp.Update, exp.Delete)):
            return
        table = self.catalog.table(target.name)
        kind = "TRUNCATE" if isinstance(statement, exp.TruncateTable) else statement.key.upper()
        allowed = ", ".join(("SELECT", *table.dml))
        raise UnsupportedStatementError(
            f"{kind} on ClickSend table {table.name} is not supported; its capabilities are {allowed} (see sys_tables)."
        )

    def _write(self, statement: exp.Expression, table: Table, parameters: Parameters, *, send: bool) -> Result:
        """INSERT/UPDATE/DELETE through the write pipeline (EXPLAIN and dry_run: its plan)."""
        services = _WriteServices(self, parameters)
        with self._accounting() as stats:
            table_out = writes.execute_write(statement, table, services, self.limits, send=send)
        return Result(table_out, stats, kind="write" if send else "explain")

    def _query(self, query: exp.Expression, parameters: Parameters) -> pa.Table:
        """A query's rows through the engine: pushdown when it reads ClickSend tables."""
        if find_tables(query, self.catalog):
            return self._select(query, parameters).arrow()
        bound_query, bound = parameters.evaluation(query)
        return self._duckdb_table(bound_query.sql("duckdb"), bound, generated=True)

    def _plan(self, statement: exp.Expression, parameters: Parameters) -> Plan:
        return plan(statement, self.catalog, DuckDBSession(self.duckdb, parameters, pushdown=self.pushdown))

    def _explain(self, statement: exp.Expression, parameters: Parameters) -> Result:
        the_plan = self._plan(statement, parameters)
        rows = [{**row, "duckdb_sql": the_plan.duckdb_sql} for row in the_plan.explain_rows()]
        return Result(pa.Table.from_pylist(rows, schema=EXPLAIN_SCHEMA), kind="explain")

    def _select(self, statement: exp.Expression, parameters: Parameters) -> Result:
        the_plan = self._plan(statement, parameters)
        with self._accounting() as stats, self._views(the_plan):
            self._validate(the_plan, parameters)
            fetched = self._io.run(Executor(self._client, self.catalog, self.progress).run(the_plan.scans))
            for name, rows in fetched.items():
                if isinstance(rows, pa.Table):
                    self.duckdb.register(the_plan.scans[name].view, _redact(rows, self.settings.api_key))
                    stats.rows_fetched[the_plan.scans[name].table.name] = rows.num_rows
            if the_plan.count_alias is not None:
                total = next(iter(fetched.values()))
                table = pa.table({the_plan.count_alias: pa.array([int(total)], pa.int64())})
            else:
                sql, bound = parameters.evaluation(the_plan.statement)
                table = self._duckdb_table(sql.sql("duckdb"), bound, generated=True)
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
    def _views(self, the_plan: Plan) -> Iterator[None]:
        """Register empty stand-ins for the scans, and drop whatever was registered afterwards."""
        for scan in the_plan.scans.values():
            self.duckdb.register(scan.view, arrow_schema(scan.table).empty_table())
        try:
            yield
        finally:
            for scan in the_plan.scans.values():
                self.duckdb.unregister(scan.view)

    @contextmanager
    def _python_objects(self, statements: Sequence[Statement], frame: FrameType | None) -> Iterator[None]:
        """DuckDB's replacement scans, through this wrapper: a DataFrame, Arrow or polars object in
        the caller's variables can be queried by its name, unless a table or view has that name."""
        names = {
            t.name
            for s in statements
            for t in s.expression.find_all(exp.Table)
            if isinstance(t.this, exp.Identifier) and not t.db and not self.catalog.has_table(t.name)
        }
        found = _scannable_variables(frame, names)
        if found:
            existing = {r[0].lower() for r in self.duckdb.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            found = {n: v for n, v in found.items() if n.lower() not in existing}
        for name, value in found.items():
            self.duckdb.register(name, value)
        try:
            yield
        finally:
            for name in found:
                self.duckdb.unregister(name)

    def _validate(self, the_plan: Plan, parameters: Parameters) -> None:
        """Let DuckDB bind the statement's query against the empty stand-ins before any request."""
        query = _query_part(the_plan.statement)
        if query is not None:
            bound_query, bound = parameters.evaluation(query)
            self._duckdb_table(f"SELECT * FROM ({bound_query.sql('duckdb')}) LIMIT 0", bound, generated=True)

    # --- DuckDB --------------------------------------------------------------------------------

    def _duckdb(self, sql: str, params: Any) -> Result:
        with self._accounting() as stats:
            table = self._duckdb_table(sql, params, generated=False)
        return Result(table, stats)

    def _duckdb_table(self, sql: str, params: Any, *, generated: bool) -> pa.Table:
        """Run SQL in DuckDB with DuckDB's own parameter binding; every failure becomes ours."""
        try:
            relation = self.duckdb.sql(sql, params=params) if params else self.duckdb.sql(sql)
            return relation.to_arrow_table() if relation is not None else pa.table({})
        except duckdb.Error as exc:
            raise translate(exc, self.catalog, generated=generated) from exc
        except RecursionError:
            raise SQLError("The statement nests too deeply for DuckDB; simplify it.") from None
        except BINDING_ERRORS as exc:
            raise ParameterError(
                f"A parameter could not be bound ({type(exc).__name__}: {exc}). DuckDB binds None, bool, int, float, "
                "Decimal, str, bytes, date/time/datetime/timedelta, UUID, lists, dicts and numpy scalars."
            ) from exc


async def _settle() -> None:
    """Wait for every other task of the I/O loop to finish unwinding (after a cancellation)."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)


async def _make_client(
    settings: Settings, rate_limit: float | None, concurrency: int, retries: int, deadline: float
) -> ClickSendClient:
    """Create the client on the I/O loop it will be used from."""
    return ClickSendClient(settings, rate_limit=rate_limit, concurrency=concurrency, retries=retries, deadline=deadline)


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


def _caller_frame() -> FrameType | None:
    """The frame of the code that called into this package (whose variables a statement may name)."""
    frame = inspect.currentframe()
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame


def _scannable_variables(frame: FrameType | None, names: set[str]) -> dict[str, Any]:
    """The variables named ``names`` in ``frame`` (locals, then globals) that DuckDB can scan."""
    kinds = tuple(
        getattr(sys.modules[module], cls) for module, cls in _SCANNABLE if hasattr(sys.modules.get(module), cls)
    )
    found = {}
    for name in names if frame is not None else ():
        value = frame.f_locals.get(name, frame.f_globals.get(name))
        if isinstance(value, kinds):
            found[name] = value
    return found


def _is_clicksend(table: exp.Table, catalog: Catalog) -> bool:
    return catalog.has_table(table.name) and table.db.lower() in ("", "clicksend") and not table.catalog


class _WriteServices:
    """What the write pipeline needs from a connection, for one statement."""

    def __init__(self, connection: Connection, parameters: Parameters) -> None:
        self._con, self._parameters = connection, parameters

    def query(self, query: exp.Expression) -> pa.Table:
        return self._con._query(query, self._parameters)

    def quote(self, path: str, body: Any) -> Decimal:
        response = self._con._io.run(self._con._client.request("POST", path, json=body, retry=True))
        data = response.data if isinstance(response.data, dict) else {}
        return Decimal(str(data.get("total_price") or 0))

    def send(self, requests: list[writes.WriteRequest]) -> list[writes.RequestOutcome]:
        return self._con._io.run(writes.send_requests(self._con._client, requests))

    def scratch(self) -> duckdb.DuckDBPyConnection:
        return self._con.duckdb


def _target_table(statement: exp.Expression) -> exp.Table | None:
    """The table a write or DDL statement changes, if any."""
    if not isinstance(statement, (*_WRITE_KINDS, exp.Merge, *_DDL_KINDS)):
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
    retries: int = DEFAULT_RETRIES,
    deadline: float = DEFAULT_DEADLINE,
    progress: ProgressCallback | None = None,
    emulator_options: Mapping[str, Any] | None = None,
    pushdown: bool = True,
    dry_run: bool = False,
    max_messages: int | None = None,
    max_cost: Decimal | float | None = None,
    default_country: str | None = None,
) -> Connection:
    """Open a connection.

    Credentials come from the arguments, ``CLICKSEND_USERNAME``/``CLICKSEND_API_KEY``, or a
    profile in the config file. ``demo=True`` starts an in-process ClickSend emulator with demo
    data instead, so no account is needed. ``pushdown=False`` fetches whole tables and lets
    DuckDB apply every filter: slower, and the reference that pushdown is checked against.
    ``dry_run=True`` makes every INSERT/UPDATE/DELETE show its requests (and the quoted price of
    sends) instead of making them; ``max_messages`` and ``max_cost`` refuse, before sending, a
    statement that would send more messages or cost more than that. ``default_country`` is the
    region ``e164(phone)`` and upserts read numbers without a ``+`` in (e.g. ``"AU"``).
    ``retries`` (failed attempts repeated after the first) and ``deadline`` (seconds per request,
    retries and waits included) bound how long one request may keep trying.
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
            settings, database=database, rate_limit=rate_limit, concurrency=concurrency, retries=retries,
            deadline=deadline, progress=progress, pushdown=pushdown, dry_run=dry_run, max_messages=max_messages,
            max_cost=Decimal(str(max_cost)) if max_cost is not None else None, default_country=default_country,
        )
    except BaseException:
        if emulator is not None:
            emulator.stop()
        raise
    connection._emulator = emulator
    return connection


__all__ = ["Connection", "connect", "view_name"]
