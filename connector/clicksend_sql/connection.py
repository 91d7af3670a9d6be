"""Connections: SQL text in, :class:`Result` out, one statement kind at a time.

A statement flows one way: ``parsing`` splits and parses it, and this module only dispatches it
by kind: reads to ``query`` (plan → requests → Arrow → DuckDB), INSERT/UPDATE/DELETE on ClickSend
tables to ``write`` (the ``writes`` pipeline), CALL to ``call``, EXPLAIN to ``explain``. Statements
that mention no ClickSend table go to DuckDB untouched, so ``con.sql`` is also a plain DuckDB
session over local tables, files and DataFrames.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
import sys
import threading
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import duckdb
from sqlglot import exp

from . import phones
from .call import run_call
from .catalog import Catalog, load_catalog
from .config import Limits, Settings, resolve_settings
from .engine import Engine, EventLoopThread, make_client
from .errors import ConfigurationError, ConnectionClosedError, InterfaceError, SQLError, UnsupportedStatementError
from .execution import ProgressCallback
from .explain import run_explain
from .http import AUTO, DEFAULT_DEADLINE, DEFAULT_RETRIES, Concurrency, RateLimit
from .http.response_cache import ResponseCache, cache_ttl_setting
from .parameters import Parameters
from .parsing import Statement, deep_recursion, parse
from .planner import view_name
from .planner.find_tables import QUALIFIERS, find_tables
from .query import run_query, stream_query
from .result import RecordBatchStream, Result, StatementStats
from .system_tables import SEARCH_PATH, declare
from .unread import check_unread

if TYPE_CHECKING:
    import pyarrow as pa

    from .relation import Relation

    from .listen.listener import Listener

Params = Sequence[Any] | Mapping[str, Any] | None
_WRITE_KINDS = (exp.Insert, exp.Update, exp.Delete)
_DDL_KINDS = (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable)
_PACKAGE_DIR = str(Path(__file__).resolve().parent)
_NO_CACHE = re.compile(r"/\*\+\s*no_cache\s*\*/", re.IGNORECASE)  # the per-statement hint
# What DuckDB's replacement scans read from Python variables: (module, class) pairs, looked up
# only in modules the caller already imported.
_SCANNABLE = (("pandas", "DataFrame"), ("polars", "DataFrame"), ("polars", "LazyFrame"), ("pyarrow", "Table"),
              ("pyarrow", "RecordBatch"), ("pyarrow", "RecordBatchReader"), ("pyarrow.dataset", "Dataset"),
              ("duckdb", "DuckDBPyRelation"))


class Connection:
    """A ClickSend account seen through DuckDB. Create with :func:`clicksend_sql.connect`."""

    def __init__(
        self,
        settings: Settings,
        *,
        database: str = ":memory:",
        rate_limit: RateLimit = AUTO,
        concurrency: Concurrency = AUTO,
        retries: int = DEFAULT_RETRIES,
        deadline: float = DEFAULT_DEADLINE,
        progress: ProgressCallback | None = None,
        catalog: Catalog | None = None,
        pushdown: bool = True,
        dry_run: bool = False,
        max_messages: int | None = None,
        max_cost: Decimal | float | None = None,
        default_country: str | None = None,
        invalid_rows: Literal["error", "skip"] = "error",
        cache_ttl: float | None = None,
        cache_size_mb: float = 128,
    ) -> None:
        default_country = phones.checked_region(default_country)
        ttl = cache_ttl_setting(cache_ttl)
        cache: ResponseCache[Any] | None = (
            ResponseCache(ttl, int(cache_size_mb * 1024 * 1024), size=_body_size) if ttl > 0 else None)
        limits = Limits(max_messages, Decimal(str(max_cost)) if max_cost is not None else None, invalid_rows, default_country)
        io = EventLoopThread()
        # The HTTP client (httpcore's import and a TLS context: 30-100 ms) is made on the I/O thread while this
        # one loads the catalog and opens DuckDB.
        pending = asyncio.run_coroutine_threadsafe(make_client(settings, rate_limit, concurrency, retries, deadline, cache),
                                                   io.loop)
        database_connection = None
        try:
            catalog = catalog or load_catalog()
            database_connection = duckdb.connect(database)
            functions = _prepare_session(database_connection, catalog, default_country)
            client = pending.result()
        except BaseException:  # a refused setting or a DuckDB failure leaves neither the I/O thread nor DuckDB open
            _abandon(pending, io)
            if database_connection is not None:
                database_connection.close()
            raise
        self._engine = Engine(settings, catalog, database_connection, io, client, progress, pushdown, dry_run, limits,
                              functions=functions)
        self._emulator: Any = None
        self._session_state()

    def _session_state(self) -> None:
        """What each session tracks beside its engine: its lock, its cursors, its open stream."""
        self._lock = threading.RLock()
        self._cursors: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._stream: Generator[Any, None, None] | None = None

    @classmethod
    def _over(cls, engine: Engine) -> Connection:
        """A connection object over an engine that exists already (a cursor's)."""
        cursor = cls.__new__(cls)
        cursor._engine, cursor._emulator = engine, None
        cursor._session_state()
        return cursor

    # The engine's state, as users and tools see it.
    settings = property(lambda self: self._engine.settings)
    catalog = property(lambda self: self._engine.catalog)
    duckdb = property(lambda self: self._engine.duckdb, doc="The DuckDB connection statements run in.")
    last_stats = property(lambda self: self._engine.last_stats, doc="What the last statement cost.")
    closed = property(lambda self: self._engine.closed, doc="Closed itself, or (a cursor) its connection is.")
    is_demo = property(lambda self: self._emulator is not None, doc="Opened with demo=True: the built-in emulator's data.")
    in_transaction = property(lambda self: self._engine.in_transaction(),
                              doc="Whether a DuckDB transaction opened with BEGIN is open in this session.")
    pushdown = property(lambda self: self._engine.pushdown, lambda self, on: self._set("pushdown", on),
                        doc="False: fetch whole tables and let DuckDB apply every filter (also on this session's cursors).")
    dry_run = property(lambda self: self._engine.dry_run, lambda self, on: self._set("dry_run", on),
                       doc="True: writes and changing CALLs show their requests (also on this session's cursors).")
    use_cache = property(lambda self: self._engine.use_cache, lambda self, on: self._set("use_cache", on),
                         doc="False: queries fetch every page again instead of using the connection's cache "
                             "(also on this session's cursors).")

    def _set(self, name: str, value: bool) -> None:
        """A setting of this session and of every cursor made from it, so none keeps an older one."""
        setattr(self._engine, name, value)
        for cursor in list(self._cursors):
            cursor._set(name, value)

    def __repr__(self) -> str:
        return f"Connection(username={self.settings.username!r}, base_url={self.settings.base_url!r})"

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this session's cursors and open stream (cancelling its requests), DuckDB, and
        (not for a cursor) the HTTP connections and, for ``demo=True``, the emulator. A statement
        running in another thread is waited for. Closing twice is harmless; using a closed
        connection raises ConnectionClosedError."""
        for cursor in list(self._cursors):
            cursor.close()
        with self._lock:
            stream = self._stream
            if stream is not None:
                try:
                    stream.close()
                except ValueError:  # "generator already executing": another thread is reading it
                    raise InterfaceError(
                        "A stream of this connection is being read in another thread; close it there (or let it end) "
                        "before closing the connection."
                    ) from None
            self._engine.close()
            if self._emulator is not None:
                self._emulator.stop()
                self._emulator = None

    def cursor(self) -> Connection:
        """A new session over the same account and DuckDB database, for another thread (DuckDB's
        own rule: one cursor per thread). It has the ClickSend tables, ``e164()``, the search
        path and this connection's settings, and shares its HTTP client; closing it leaves this
        connection open, and closing this connection closes its cursors' requests too."""
        with self._session():
            duck = self._engine.duckdb.cursor()
            try:
                functions = _prepare_session(duck, self.catalog, self._engine.limits.default_country)
            except BaseException:
                duck.close()
                raise
            cursor = Connection._over(dataclasses.replace(self._engine, duckdb=duck, owns_client=False, duckdb_closed=False,
                                                          streaming=False, counting=(), last_stats=StatementStats(),
                                                          functions=functions))
            self._cursors.add(cursor)
            return cursor

    def interrupt(self) -> None:
        """Cancel the statement this session is running, from another thread (as DuckDB's
        ``interrupt()``): its pending ClickSend requests and its DuckDB work stop, and it raises
        CanceledError. With no statement running, nothing happens."""
        self._engine.interrupt()

    # --- public API ----------------------------------------------------------------------------

    def sql(self, text: str, params: Params = None, *, cache: bool = True) -> Result:
        """Run one or more statements in order; the result of the last one is returned.
        ``cache=False`` (or ``/*+ no_cache */`` in a statement) fetches every page again."""
        return self.sql_each(text, params, cache=cache)[-1]

    execute = sql

    def sql_each(self, text: str, params: Params = None, *, cache: bool = True) -> list[Result]:
        """Run one or more statements in order and return every statement's result."""
        with self._session():
            statements = parse(text, self._engine.duckdb)
            if not statements:
                raise SQLError("The statement is empty.")
            parameters = Parameters(params)
            with deep_recursion(), self._python_objects(statements, _caller_frame()):
                return [self._run(statement, parameters, cache) for statement in statements]

    def stream(self, text: str, params: Params = None, *, rows_per_batch: int = 10_000,
               cache: bool = True) -> RecordBatchStream:
        """Run one query and stream its rows: a RecordBatchStream that DuckDB fills as the pages
        arrive, holding no more than a few pages at once, where ``sql()`` would hold every row.

        The requests and DuckDB's statement stay open until the reader is read to the end or
        closed (``with con.stream(...) as reader``); closing it early cancels what has not been
        fetched. Until then this connection runs no other statement: use :meth:`cursor` for that.
        A statement that is not a query over ClickSend tables (a write, a CALL) runs as with
        ``sql()`` and its result is handed out as a reader.
        """
        if not isinstance(rows_per_batch, int) or rows_per_batch < 1:
            raise SQLError(f"rows_per_batch={rows_per_batch!r}: give a positive number of rows.")
        with self._session():
            statements = parse(text, self._engine.duckdb)
            if len(statements) != 1:
                raise SQLError(f"stream() takes exactly one statement; it got {len(statements)}. Run the others with sql().")
            statement, parameters = statements[0], Parameters(params)
            expression = statement.expression
            if not isinstance(expression, exp.Query) or not find_tables(expression, self.catalog):
                return self.sql_each(text, params, cache=cache)[-1].fetch_record_batch(rows_per_batch)
            batches = self._streamed(statement, parameters, _caller_frame(), rows_per_batch, _cacheable(statement, cache))
            schema = next(batches)  # plans, binds and starts the scans: a mistake fails here, not at the first read
            self._stream = batches
        return RecordBatchStream(schema, batches)

    def _streamed(self, statement: Statement, parameters: Parameters, frame: FrameType | None,
                  rows_per_batch: int, cache: bool) -> Generator[Any, None, None]:
        """The generator behind :meth:`stream`: the session is marked busy until it ends."""
        self._engine.streaming = True
        try:
            with deep_recursion(), self._python_objects([statement], frame), self._translated():
                yield from stream_query(self._engine, statement.expression, parameters, rows_per_batch, cache=cache)
        finally:
            self._engine.streaming = False
            self._stream = None

    def listen(self, sql: str | None = None, *, callback: Callable[[pa.Table], object] | None = None,
               receipts: bool = False, state: str | Path | None = None, **options: Any) -> Listener:
        """A listener that hands each batch of new inbound SMS (``receipts=True``: delivery receipts)
        to ``sql`` as the table ``inbound`` (``receipts``), or to ``callback`` as an Arrow table.

        Use it with ``with con.listen(...) as listener:`` (it runs in a thread of its own) or
        ``.run_forever()`` (until Ctrl-C). ``state`` is a DuckDB file keeping where it got to (by
        default this connection's database); ``public_url=`` switches from polling to webhooks
        (with ``host=``/``port=`` of the local receiver); ``number=``, ``match=`` and ``term=``
        filter as ClickSend's rule does; ``backlog=True`` also processes events from before the
        first start. See :class:`~clicksend_sql.listen.listener.Listener`.
        """
        from .listen.listener import Listener

        if state is not None and not isinstance(state, (str, Path)):
            raise ConfigurationError(f"listen(state={state!r}): give the path of a DuckDB file (str or Path).")
        store = duckdb.connect(str(state)) if state is not None else None
        return Listener(self, sql=sql, callback=callback, receipts=receipts, state=store, **options)

    def table(self, name: str) -> Relation:
        """A ClickSend or local table as a lazy relation: ``con.table('SMSHistory').filter("Status =
        'Failed'").limit(5).df()`` runs one SELECT through the planner, pushed down as that SQL is."""
        from .relation import Relation

        relation = Relation(self, exp.select("*").from_(exp.to_table(name, dialect="duckdb")))
        relation.columns  # noqa: B018 - DuckDB's DESCRIBE: an unknown table fails here, with no request
        return relation

    def explain(self, text: str, params: Params = None) -> Result:
        """The plan of a statement: per table the endpoint, parameters, pushed and local predicates."""
        with self._session():
            statements = parse(text, self._engine.duckdb)
            if len(statements) != 1:
                raise SQLError("EXPLAIN takes exactly one statement.")
            with deep_recursion():
                return run_explain(self._engine, statements[0].expression, Parameters(params))

    @contextmanager
    def _session(self) -> Iterator[None]:
        """One statement at a time per connection (threads queue on the lock), never after
        ``close()`` or while a stream holds DuckDB, and DuckDB's errors as the package's own."""
        with self._lock:
            if self._engine.closed:
                raise ConnectionClosedError(f"{self!r} is closed; open a new one with clicksend_sql.connect().")
            if self._engine.streaming:
                raise SQLError("A stream of this connection is still open: read it to the end or close it first, "
                               "or run this statement on con.cursor().")
            with self._translated():
                yield

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The one boundary where any DuckDB error left becomes the package's, and where Ctrl-C's
        traceback starts: the frames below it are the package's waits on its I/O thread, noise in
        the traceback of the user's statement (as DuckDB's own interrupt shows none of its own)."""
        try:
            yield
        except duckdb.Error as exc:
            raise self._engine.translated(exc, generated=False) from exc
        except KeyboardInterrupt:
            raise KeyboardInterrupt from None

    # --- dispatch ------------------------------------------------------------------------------

    def _run(self, statement: Statement, parameters: Parameters, cache: bool) -> Result:
        check_unread(statement, self.catalog)
        expression = statement.expression
        if isinstance(expression, exp.Command) and expression.name.upper() in ("EXPLAIN", "CALL"):
            answered = self._command(expression, parameters)
            if answered is not None:
                return answered
        references = find_tables(expression, self.catalog)
        if not references or isinstance(expression, (exp.Describe, exp.Pragma, exp.Show)):
            with self._engine.accounting() as stats:
                table = self._engine.table(statement.text, parameters.for_duckdb(statement.placeholders), generated=False)
            changed = _changed(expression, table)
            return Result(table, stats, rowcount=changed, has_rows=changed is None)
        self._check_kind(expression)
        written = self._written_table(expression)
        if written is not None:
            from .write import run_write  # the writes pipeline loads only for a write (start-up)

            return run_write(self._engine, expression, written, parameters, send=not self.dry_run)
        return run_query(self._engine, expression, parameters, cache=_cacheable(statement, cache))

    def _command(self, command: exp.Command, parameters: Parameters) -> Result | None:
        """EXPLAIN and CALL of ClickSend statements; None leaves the command to DuckDB."""
        if not isinstance(command.expression, exp.Expr) or not command.expression.name.strip():
            return None  # a bare EXPLAIN or CALL: DuckDB's own syntax error says so
        rest = command.expression.name
        if command.name.upper() == "CALL":
            function = self._procedure_call(rest)
            return run_call(self._engine, function, parameters, send=True) if function is not None else None
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
        written = self._written_table(target)
        if written is not None:
            from .write import run_write

            return run_write(self._engine, target, written, parameters, send=False)
        if isinstance(target, exp.Command) and target.name.upper() == "CALL":
            function = self._procedure_call(target.expression.name)
            if function is not None:
                return run_call(self._engine, function, parameters, send=False)
        if find_tables(target, self.catalog):
            return run_explain(self._engine, target, parameters)
        return None

    def _procedure_call(self, rest: str) -> exp.Func | None:
        """The procedure a ``CALL`` names, when it is a ClickSend one."""
        function = parse(f"SELECT {rest}")[0].expression.expressions[0]
        if isinstance(function, exp.Func) and function.name and self.catalog.has_procedure(function.name):
            return function
        return None

    def _written_table(self, statement: exp.Expr) -> Any:
        """The ClickSend table an INSERT/UPDATE/DELETE changes, or None."""
        target = _target_table(statement)
        if isinstance(statement, _WRITE_KINDS) and target is not None and _is_clicksend(target, self.catalog):
            return self.catalog.table(target.name)
        return None

    def _check_kind(self, statement: exp.Expr) -> None:
        if isinstance(statement, exp.Copy) and statement.args.get("kind") and isinstance(statement.this, exp.Table) \
                and _is_clicksend(statement.this, self.catalog):
            name = self.catalog.table(statement.this.name).name
            files = ", ".join(f.sql("duckdb") for f in statement.args.get("files") or []) or "'file.csv'"
            raise UnsupportedStatementError(
                f"COPY {name} FROM a file is not supported: ClickSend tables take rows through INSERT, which checks "
                f"each row and reports its outcome. Write INSERT INTO {name} SELECT * FROM {files} (or name the "
                "columns). Nothing was sent."
            )
        if isinstance(statement, exp.Create) and str(statement.args.get("kind") or "").upper() == "VIEW":
            raise UnsupportedStatementError(
                "CREATE VIEW over ClickSend tables is not supported: their rows exist only while a statement "
                "runs, so the view would break. Use CREATE TABLE name AS SELECT ... to keep a local copy, or a CTE."
            )
        target = _target_table(statement)
        if target is None or not _is_clicksend(target, self.catalog) or isinstance(statement, _WRITE_KINDS):
            return
        table = self.catalog.table(target.name)
        kind = "TRUNCATE" if isinstance(statement, exp.TruncateTable) else statement.key.upper()
        allowed = ", ".join(("SELECT", *table.dml))
        raise UnsupportedStatementError(
            f"{kind} on ClickSend table {table.name} is not supported; its capabilities are {allowed} (see sys_tables)."
        )

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


def _cacheable(statement: Statement, cache: bool) -> bool:
    """Whether a query's pages may come from the cache: not with ``cache=False`` or the hint.

    >>> _cacheable(parse("SELECT /*+ no_cache */ * FROM Contacts")[0], True)
    False
    """
    return cache and not _NO_CACHE.search(statement.text)


def _body_size(response: Any) -> int:
    """What a cached answer costs: its body's bytes."""
    return len(response.content)


def _prepare_session(con: duckdb.DuckDBPyConnection, catalog: Catalog, default_country: str | None) -> tuple[str, ...]:
    """What every session of a connection has: the ClickSend tables, ``e164()``, the search path;
    the names of the Python functions made for it (:func:`phones.register`)."""
    declare(con, catalog)
    functions = phones.register(con, default_country)
    current = con.execute("SELECT current_setting('search_path')").fetchall()[0][0] or "main"
    con.execute("SET search_path = $path", {"path": f"{current},{SEARCH_PATH}"})
    # DuckDB's own bar is printed to stdout, piped or not, once a statement passes 2 s, as any
    # statement reading ClickSend pages does: it would land in the output people redirect. The
    # connection's progress (the CLI's line on stderr, a notebook's bar, progress=) replaces it.
    # In a notebook without ipywidgets DuckDB refuses any change to it, and shows no bar there.
    with suppress(duckdb.InvalidInputException):
        con.execute("SET enable_progress_bar_print = false")
    return functions


def _abandon(pending: Future[Any], io: EventLoopThread) -> None:
    """Close the client a failed set-up made (if it made one) and stop its I/O thread."""
    try:
        client = pending.result()
    except BaseException:  # noqa: S110 - the set-up's own failure is the one raised
        pass
    else:
        io.run(client.aclose())
    io.close()


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
    found: dict[str, Any] = {}
    if frame is None:
        return found
    for name in names:
        value = frame.f_locals.get(name, frame.f_globals.get(name))
        if isinstance(value, kinds):
            found[name] = value
    return found


def _changed(statement: exp.Expr, table: pa.Table) -> int | None:
    """Rows a DuckDB statement changed when it answers with its status rather than rows: a one-row
    ``Count`` (a write, CREATE TABLE AS) or ``Success`` (SET, ...: -1); None when it answered rows."""
    if isinstance(statement, exp.Query) or table.column_names not in (["Count"], ["Success"]):
        return None
    return int(table.column(0)[0].as_py()) if table.column_names == ["Count"] and table.num_rows == 1 else -1


def _is_clicksend(table: exp.Table, catalog: Catalog) -> bool:
    return catalog.has_table(table.name) and (table.catalog.lower(), table.db.lower()) in QUALIFIERS


def _target_table(statement: exp.Expr) -> exp.Table | None:
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


def connect(
    username: str | None = None,
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    profile: str | None = None,
    demo: bool = False,
    database: str = ":memory:",
    rate_limit: RateLimit = AUTO,
    concurrency: Concurrency = AUTO,
    retries: int = DEFAULT_RETRIES,
    deadline: float = DEFAULT_DEADLINE,
    progress: ProgressCallback | None = None,
    emulator_options: Mapping[str, Any] | None = None,
    pushdown: bool = True,
    dry_run: bool = False,
    max_messages: int | None = None,
    max_cost: Decimal | float | None = None,
    default_country: str | None = None,
    invalid_rows: Literal["error", "skip"] = "error",
    cache_ttl: float | None = None,
    cache_size_mb: float = 128,
) -> Connection:
    """Open a connection.

    Credentials come from the arguments, ``CLICKSEND_USERNAME``/``CLICKSEND_API_KEY``, or a
    profile in the config file. ``demo=True`` starts an in-process ClickSend emulator with demo
    data instead, so no account is needed. ``pushdown=False`` fetches whole tables and lets
    DuckDB apply every filter: slower, and the reference that pushdown is checked against.
    ``dry_run=True`` makes every INSERT/UPDATE/DELETE and every changing CALL show its requests
    (and the messages and quoted price of sends) instead of making them; ``max_messages`` and
    ``max_cost`` refuse, before sending, a statement or call that would send more messages or
    cost more than that (list sends and campaigns count each contact). ``default_country`` is the
    region ``e164(phone)``, upserts and recipient checks read numbers without a ``+`` in (e.g.
    ``"AU"``). ``invalid_rows="skip"`` sends a write's valid rows and reports the rows that fail
    a per-row check (NULL where required, too long, an impossible number) ``skipped``, instead of
    sending nothing.
    ``retries`` (failed attempts repeated after the first) and ``deadline`` (seconds per request,
    retries and waits included) bound how long one request may keep trying.
    ``rate_limit="auto"`` learns the account's allowance from ClickSend's answers (shared by the
    account's connections; see :mod:`clicksend_sql.http.rate_control`); a number holds this
    connection to that many requests a second, None to none. ``concurrency="auto"`` keeps as
    many requests in flight as that rate needs at the measured latency; a number caps them.
    ``progress`` is called with each table's running totals after every page; in a notebook it
    defaults to a bar in the cell's output.
    ``cache_ttl`` (seconds; default ``$CLICKSEND_SQL_CACHE_TTL``, else 300; 0 turns it off) is how
    long a query's pages are kept and answered again without a request, in at most
    ``cache_size_mb`` of memory; the connection's own writes empty it.
    """
    if progress is None:
        from .notebook_progress import NotebookProgress, in_notebook

        progress = NotebookProgress() if in_notebook() else None
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
            invalid_rows=invalid_rows, cache_ttl=cache_ttl, cache_size_mb=cache_size_mb,
        )
    except BaseException:
        if emulator is not None:
            emulator.stop()
        raise
    connection._emulator = emulator
    return connection


__all__ = ["Connection", "connect", "view_name"]
