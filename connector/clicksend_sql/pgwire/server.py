"""The server: an asyncio listener whose client sessions each run statements on a cursor of one
:class:`~clicksend_sql.Connection`.

Sessions share the connection's HTTP client and DuckDB database; each has its own DuckDB cursor
and one worker thread (the connection is synchronous, and DuckDB's cursors want one thread).
A message is handled by a generator that runs in the worker, one step at a time, and yields the
bytes to send; the event loop writes each step and waits for the client to take it before the
next, so a large result streams through with the client's pace (nothing holds every row), and a
client that goes away stops it. A second task reads the client's messages meanwhile: a closed
connection interrupts the running statement (its ClickSend requests stop), and so does a
CancelRequest or the server stopping.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hmac
import itertools
import logging
import secrets
import socket
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

import duckdb
import pyarrow as pa
from sqlglot import exp

from .. import __version__
from ..connection import Connection
from ..errors import ClickSendSQLError, SQLSyntaxError
from ..parsing import parse
from . import catalog_queries, codec, statements
from .auth import ScramPassword, check_host
from .sqlstate import (
    FEATURE_NOT_SUPPORTED,
    IN_FAILED_TRANSACTION,
    INVALID_PARAMETER_VALUE,
    INVALID_PASSWORD,
    PROTOCOL_VIOLATION,
    PgError,
    sqlstate,
)
from .statements import Classified, Kind
from .types import TEXT, PgType, decode_parameter, encode_column, pg_type

log = logging.getLogger(__name__)
T = TypeVar("T")

SERVER_VERSION = "15.0"  # what psql 15, drivers and BI tools are told (and adapt their catalog queries to)
ROWS_PER_BATCH = 2048  # rows per step of a result: DataRows are encoded and sent a batch at a time
_REPORTED = ("server_version", "server_encoding", "client_encoding", "application_name", "DateStyle", "IntervalStyle",
             "TimeZone", "integer_datetimes", "standard_conforming_strings", "is_superuser", "session_authorization",
             "default_transaction_read_only", "in_hot_standby")
_SETTINGS = {  # PostgreSQL's session parameters as this server has them
    "server_version": SERVER_VERSION, "server_version_num": "150000", "server_encoding": "UTF8",
    "client_encoding": "UTF8", "DateStyle": "ISO, MDY", "IntervalStyle": "postgres", "TimeZone": "UTC",
    "integer_datetimes": "on", "standard_conforming_strings": "on", "application_name": "", "is_superuser": "on",
    "session_authorization": catalog_queries.ROLE, "default_transaction_read_only": "off", "in_hot_standby": "off",
    "transaction_isolation": "repeatable read",  # DuckDB's snapshot isolation
    "default_transaction_isolation": "repeatable read", "transaction_read_only": "off", "extra_float_digits": "1",
    "max_identifier_length": "63", "lc_collate": "C", "lc_ctype": "C", "statement_timeout": "0",
}


@dataclass
class Prepared:
    """A parsed statement (the unnamed one, or one named by Parse)."""

    statement: Classified
    text: str  # what runs: the statement, in DuckDB's SQL when it reads the catalog
    expression: exp.Expr | None
    parameter_types: tuple[int, ...]  # one per placeholder $1..$n; 0: unspecified (read as text)


@dataclass
class Portal:
    """A statement bound to its parameters; started (run) at its Describe or first Execute."""

    prepared: Prepared
    parameters: list[Any] | None
    result_formats: tuple[int, ...]
    started: bool = False
    fields: list[codec.Field] | None = None  # None: the statement returns no rows
    types: list[PgType] = field(default_factory=list)
    batches: Iterator[pa.RecordBatch] = field(default_factory=lambda: iter(()))
    close: Callable[[], None] = lambda: None  # closes an open stream (its requests stop)
    held: pa.RecordBatch | None = None  # rows taken but not sent (Execute with a row limit)
    rows: int = 0
    tag: str = ""  # the tag of a statement that returns no rows (or a write's, whose rows are its outcome)
    notices: list[bytes] = field(default_factory=list)


class Server:
    """A PostgreSQL-protocol (v3) server over one connection (see the module docstring).

    ``start()`` serves from a thread of its own (tests, notebooks), ``serve_forever()`` until
    Ctrl-C; ``port=0`` picks a free port (``server.port``). ``password`` is what clients log in
    with (SCRAM-SHA-256), never the ClickSend API key. Listening beyond loopback needs
    ``allow_remote=True``.
    """

    def __init__(self, connection: Connection, password: str, *, host: str = "127.0.0.1", port: int = 5433,
                 allow_remote: bool = False) -> None:
        check_host(host, allow_remote)
        self.connection = connection
        self.host, self.port = host, port
        self._password = ScramPassword(password)
        self._sessions: dict[int, Session] = {}
        self._pids = itertools.count(1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        duck = connection.duckdb
        catalog_queries.install(duck, f"PostgreSQL {SERVER_VERSION} (clicksend-sql {__version__}, DuckDB {duckdb.__version__})")
        self.duckdb_settings = {row[0].lower() for row in duck.execute("SELECT name FROM duckdb_settings()").fetchall()}

    def __repr__(self) -> str:
        return f"Server(host={self.host!r}, port={self.port}, sessions={len(self._sessions)})"

    def start(self) -> Self:
        """Listen and serve from a daemon thread; returns once the port accepts connections."""
        sock = socket.create_server((self.host, self.port), family=_family(self.host), backlog=128)
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sock, ready), name=f"pgwire-{self.port}", daemon=True)
        self._thread.start()
        ready.wait()
        log.info("Serving PostgreSQL clients on %s:%s", self.host, self.port)
        return self

    def serve_forever(self) -> None:
        """Serve (starting if not started) until Ctrl-C or :meth:`stop`; Ctrl-C cancels the
        statements sessions are running."""
        if self._thread is None:
            self.start()
        try:
            while not self._stopped.wait(0.5):
                pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop listening, cancel every running statement and end every session."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
        self._stopped.set()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def cancel(self, pid: int, secret: int) -> None:
        """A CancelRequest: interrupt the session with this key's running statement (if the key is right)."""
        session = self._sessions.get(pid)
        if session is not None and hmac.compare_digest(session.secret.to_bytes(4, "big"), secret.to_bytes(4, "big", signed=True)):
            session.interrupt()

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._listener = self._loop.run_until_complete(asyncio.start_server(self._accept, sock=sock))
        ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pid = next(self._pids)
        session = Session(self, pid, reader, writer)
        self._sessions[pid] = session
        try:
            await session.run()
        finally:
            del self._sessions[pid]

    async def _shutdown(self) -> None:
        self._listener.close()
        sessions = list(self._sessions.values())
        for session in sessions:
            session.interrupt()
            session.writer.close()
        await asyncio.gather(*(s.finished.wait() for s in sessions))

    async def authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        return await self._password.check(reader, writer)


class Session:
    """One client connection: start-up, authentication, then its messages in order."""

    def __init__(self, server: Server, pid: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server, self.pid, self.reader, self.writer = server, pid, reader, writer
        self.secret = secrets.randbits(31)
        self.cursor: Connection | None = None
        self.status = "I"  # ReadyForQuery's transaction status: I idle, T in a transaction, E failed one
        self.settings = dict(_SETTINGS)
        self.prepared: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.skipping = False  # after an error in the extended protocol: ignore messages until Sync
        self.finished = asyncio.Event()
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"pgwire-session-{pid}")
        self._messages: asyncio.Queue[codec.FrontendMessage | None] = asyncio.Queue(maxsize=256)

    def interrupt(self) -> None:
        """Cancel the statement this session runs (CancelRequest, a closed connection, Ctrl-C)."""
        if self.cursor is not None:
            self.cursor.interrupt()

    async def run(self) -> None:
        try:
            if await self._start_up():
                await self._serve()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except codec.ProtocolError as exc:
            await self._fatal(PROTOCOL_VIOLATION, str(exc))
        finally:
            self.interrupt()
            await asyncio.get_running_loop().run_in_executor(self._worker, self._close)
            self._worker.shutdown(wait=False)
            self.writer.close()
            self.finished.set()

    async def _start_up(self) -> bool:
        """SSL/GSS requests answered 'N', a CancelRequest passed on, then authentication and the parameters."""
        while True:
            first = await codec.read_startup(self.reader)
            if isinstance(first, codec.EncryptionRequest):
                self.writer.write(b"N")
                continue
            if isinstance(first, codec.CancelRequest):
                self.server.cancel(first.pid, first.secret)
                return False
            break
        if first.version & 0xFFFF:  # a newer 3.x: say which minor version this server speaks
            options = [name for name in first.parameters if name.startswith("_pq_.")]
            self.writer.write(codec.negotiate_protocol_version(0, options))
        if not await self.server.authenticate(self.reader, self.writer):
            user = first.parameters.get("user", "")
            await self._fatal(INVALID_PASSWORD, f'password authentication failed for user "{user}"')
            return False
        self.cursor = await self._call(self.server.connection.cursor)
        self.settings["application_name"] = first.parameters.get("application_name", "")
        out = [codec.authentication(0)]
        out += [codec.parameter_status(name, self.settings[name]) for name in _REPORTED]
        out += [codec.backend_key_data(self.pid, self.secret), codec.ready_for_query(self.status)]
        self.writer.write(b"".join(out))
        await self.writer.drain()
        return True

    async def _serve(self) -> None:
        reading = asyncio.create_task(self._read())
        try:
            while (message := await self._messages.get()) is not None and not isinstance(message, codec.Terminate):
                steps = self._handle(message)
                try:
                    while (chunk := await self._call(next, steps, None)) is not None:
                        self.writer.write(chunk)
                        await self.writer.drain()
                finally:  # a client gone mid-result: its stream closes now, in the worker, not when collected
                    await self._call(steps.close)
        finally:
            reading.cancel()

    async def _read(self) -> None:
        """Read messages ahead; a connection that closes interrupts the statement running."""
        try:
            while True:
                message = await codec.read_message(self.reader)
                await self._messages.put(message)
                if isinstance(message, codec.Terminate):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, codec.ProtocolError):
            self.interrupt()
            await self._messages.put(None)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function`` in this session's worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, function, *args)

    async def _fatal(self, code: str, message: str) -> None:
        try:
            self.writer.write(codec.error_response(code, message, severity="FATAL"))
            await self.writer.drain()
        except ConnectionError:
            pass

    def _close(self) -> None:
        """Close the portals (their streams' requests stop) and the cursor: in the worker thread."""
        for portal in self.portals.values():
            _quietly(portal.close)
        if self.cursor is not None:
            _quietly(self.cursor.close)

    # --- messages: generators run in the worker thread, yielding what to send -----------------

    def _handle(self, message: codec.FrontendMessage) -> Generator[bytes, None, None]:
        if isinstance(message, codec.Query):
            yield from self._query(message.text)
            return
        if isinstance(message, codec.Sync):
            self.skipping = False
            if self.status == "I":
                self._close_portals()
            yield codec.ready_for_query(self.status)
            return
        if isinstance(message, codec.Flush) or self.skipping:
            return
        try:
            if isinstance(message, codec.Parse):
                self.prepared[message.name] = self._prepare(message.text, message.parameter_types)
                yield codec.PARSE_COMPLETE
            elif isinstance(message, codec.Bind):
                self._bind(message)
                yield codec.BIND_COMPLETE
            elif isinstance(message, codec.Describe):
                yield self._describe(message)
            elif isinstance(message, codec.Execute):
                yield from self._execute(self._portal(message.portal), message.max_rows)
            elif isinstance(message, codec.Close):
                self._forget(message)
                yield codec.CLOSE_COMPLETE
            else:
                raise PgError(PROTOCOL_VIOLATION, f"Unexpected {type(message).__name__} message.")
        except Exception as exc:  # noqa: BLE001 - every failure of a message is the client's ErrorResponse
            self.skipping = True
            yield self._error(exc)

    def _query(self, text: str) -> Iterator[bytes]:
        """A simple Query: each statement in turn (text results), the first failure ends it."""
        pieces = statements.split(text)
        if not pieces:
            yield codec.EMPTY_QUERY
        for piece in pieces:
            portal: Portal | None = None
            try:
                portal = Portal(self._prepare(piece, ()), None, ())
                yield from self._execute(portal, 0, describe=True)
            except Exception as exc:  # noqa: BLE001 - the client's ErrorResponse
                yield self._error(exc)
                break
            finally:
                if portal is not None:
                    portal.close()
        self._drop_portal("")  # a Query ends the unnamed portal, as PostgreSQL does
        yield codec.ready_for_query(self.status)

    def _prepare(self, text: str, parameter_types: tuple[int, ...]) -> Prepared:
        statement = statements.classify(text)
        if statement.kind is not Kind.OTHER:
            return Prepared(statement, text, None, parameter_types)
        rewritten = catalog_queries.rewrite(text)
        parsed = parse(rewritten) if rewritten.strip() else []
        if len(parsed) > 1:
            raise SQLSyntaxError("cannot insert multiple commands into a prepared statement")
        if not parsed:
            return Prepared(statement, "", None, ())  # an empty statement
        count = max((int(p) for p in parsed[0].placeholders if p.isdigit()), default=0)
        types = tuple(parameter_types[i] if i < len(parameter_types) else 0 for i in range(count))
        return Prepared(statement, parsed[0].text, parsed[0].expression, types)

    def _bind(self, bind: codec.Bind) -> None:
        prepared = self.prepared.get(bind.statement)
        if prepared is None:
            raise PgError("26000", f'prepared statement "{bind.statement}" does not exist')
        formats = _formats(bind.parameter_formats, len(bind.parameters))
        if len(bind.parameters) < len(prepared.parameter_types):
            raise PgError(PROTOCOL_VIOLATION, f"bind message supplies {len(bind.parameters)} parameters, but prepared "
                                              f"statement requires {len(prepared.parameter_types)}")
        types = [*prepared.parameter_types, *[0] * len(bind.parameters)]
        try:
            values = [decode_parameter(v, types[i], formats[i] == 1) for i, v in enumerate(bind.parameters)]
        except ValueError as exc:
            raise PgError(INVALID_PARAMETER_VALUE, str(exc)) from None
        self._drop_portal(bind.portal)
        self.portals[bind.portal] = Portal(prepared, values or None, bind.result_formats)

    def _describe(self, describe: codec.Describe) -> bytes:
        if describe.kind == "P":
            portal = self._portal(describe.name)
            notices = self._start(portal)
            return b"".join(notices) + (codec.row_description(portal.fields) if portal.fields is not None else codec.NO_DATA)
        prepared = self.prepared.get(describe.name)
        if prepared is None:
            raise PgError("26000", f'prepared statement "{describe.name}" does not exist')
        parameters = codec.parameter_description([oid or TEXT.oid for oid in prepared.parameter_types])
        fields = self._statement_fields(prepared)
        return parameters + (codec.row_description(fields) if fields is not None else codec.NO_DATA)

    def _execute(self, portal: Portal, max_rows: int, *, describe: bool = False) -> Iterator[bytes]:
        """A portal's rows (up to ``max_rows``, 0: all) in batches, then its tag (or PortalSuspended)."""
        if not portal.started:
            notices = self._start(portal)
            yield b"".join(notices) + (codec.row_description(portal.fields) if describe and portal.fields else b"")
        if portal.fields is None:
            yield codec.command_complete(portal.tag) if portal.tag else codec.EMPTY_QUERY
            return
        limit = max_rows if max_rows > 0 else None
        try:
            while limit is None or limit > 0:
                batch = portal.held if portal.held is not None else next(portal.batches, None)
                portal.held = None
                if batch is None:
                    break
                if limit is not None and batch.num_rows > limit:
                    batch, portal.held = batch.slice(0, limit), batch.slice(limit)
                portal.rows += batch.num_rows
                limit = None if limit is None else limit - batch.num_rows
                yield self._data_rows(portal, batch)
            else:  # the row limit was reached: suspended, unless no row is left
                if portal.held is None:
                    portal.held = next(portal.batches, None)
                if portal.held is not None:
                    yield codec.PORTAL_SUSPENDED
                    return
        except BaseException:
            portal.close()
            raise
        portal.close()
        yield b"".join(portal.notices) + codec.command_complete(portal.tag or statements.command_tag(
            portal.prepared.expression, portal.prepared.text, portal.rows))

    def _data_rows(self, portal: Portal, batch: pa.RecordBatch) -> bytes:
        assert portal.fields is not None
        columns = [encode_column(batch.column(i), portal.types[i], f.format == 1) for i, f in enumerate(portal.fields)]
        return codec.data_rows(columns, batch.num_rows)

    # --- running a statement ---------------------------------------------------------------------

    def _start(self, portal: Portal) -> list[bytes]:
        """Run the portal's statement: its rows become the portal's batches (a query streams), or
        its tag is set. Returns the notices and parameter reports to send first."""
        if portal.started:
            return []
        portal.started = True
        statement = portal.prepared.statement
        kind = statement.kind
        if self.status == "E" and kind not in (Kind.COMMIT, Kind.ROLLBACK):
            raise PgError(IN_FAILED_TRANSACTION,
                          "current transaction is aborted, commands ignored until end of transaction block")
        try:
            notices = self._run(portal, statement)
        except BaseException:
            if self.status == "T":
                self.status = "E"
            raise
        if kind is Kind.BEGIN:
            self.status = "T"
        elif kind in (Kind.COMMIT, Kind.ROLLBACK):
            self.status = "I"
        return notices

    def _run(self, portal: Portal, statement: Classified) -> list[bytes]:
        cursor = self.cursor
        assert cursor is not None
        kind = statement.kind
        if kind in (Kind.BEGIN, Kind.COMMIT, Kind.ROLLBACK):
            return self._transaction(portal, kind)
        if kind is Kind.SAVEPOINT:
            portal.tag = statement.name
            return []
        if kind is Kind.ROLLBACK_TO:
            raise PgError(FEATURE_NOT_SUPPORTED, "ROLLBACK TO SAVEPOINT is not supported: DuckDB cannot undo part of a "
                                                 "transaction. ROLLBACK the whole transaction.")
        if kind is Kind.CLIENT_COPY:
            raise PgError(FEATURE_NOT_SUPPORTED, "COPY to or from the client (STDIN/STDOUT) is not supported; "
                                                 "COPY to a file, or SELECT the rows.")
        if kind in (Kind.SET, Kind.RESET):
            portal.tag = kind.value
            return self._set(statement)
        if kind in (Kind.DISCARD, Kind.DEALLOCATE):
            portal.tag = f"{kind.value} ALL" if statement.name.upper() == "ALL" else kind.value
            if kind is Kind.DEALLOCATE:
                if statement.name.upper() == "ALL":
                    self.prepared.clear()
                else:
                    self.prepared.pop(statement.name, None)
            return []
        if kind is Kind.SHOW:
            shown = self._show(statement.name)
            if shown is not None:
                self._rows(portal, shown)
                portal.tag = "SHOW"
                return []
        return self._statement(portal, cursor)

    def _statement(self, portal: Portal, cursor: Connection) -> list[bytes]:
        """A statement for the connection: a query streams; anything else runs whole."""
        prepared = portal.prepared
        if not prepared.text:
            return []  # an empty statement: EmptyQueryResponse
        if isinstance(prepared.expression, exp.Query):
            stream = cursor.stream(prepared.text, portal.parameters, rows_per_batch=ROWS_PER_BATCH)
            portal.close = stream.close
            self._rows(portal, stream.schema, iter(stream))
            return []
        result = cursor.sql(prepared.text, portal.parameters)
        table = result.arrow()
        if not result.has_rows:  # DuckDB's status answer: PostgreSQL sends only the tag
            portal.tag = statements.command_tag(prepared.expression, prepared.text, max(result.rowcount, 0))
            return []
        self._rows(portal, table)
        if result.kind == "write":  # the outcome rows of a ClickSend write (or its RETURNING rows)
            portal.tag = statements.command_tag(prepared.expression, prepared.text, result.rowcount)
            unwritten = table.num_rows - result.rowcount
            if unwritten > 0:
                portal.notices.append(codec.error_response(
                    "01000", f"{unwritten} row(s) were not written, or may not have been: see the status and error "
                    "columns.", severity="WARNING", notice=True))
        return []

    def _rows(self, portal: Portal, source: pa.Table | pa.Schema, batches: Iterator[pa.RecordBatch] | None = None) -> None:
        """Make the portal's rows ``source``'s (a table, or a schema with its batches)."""
        schema = source if isinstance(source, pa.Schema) else source.schema
        if batches is None:
            assert isinstance(source, pa.Table)
            batches = iter(source.to_batches(max_chunksize=ROWS_PER_BATCH))
        formats = _formats(portal.result_formats, len(schema))
        portal.types = [pg_type(f.type) for f in schema]
        portal.fields = [codec.Field(f.name, t.oid, t.size, formats[i]) for i, (f, t) in enumerate(zip(schema, portal.types))]
        portal.batches = batches

    def _transaction(self, portal: Portal, kind: Kind) -> list[bytes]:
        """BEGIN, COMMIT and ROLLBACK reach DuckDB; PostgreSQL's warnings where there is nothing to do."""
        assert self.cursor is not None
        portal.tag = kind.value
        if (kind is Kind.BEGIN) == (self.status != "I"):
            already = "there is already a transaction in progress" if kind is Kind.BEGIN else "there is no transaction in progress"
            return [codec.error_response("25001" if kind is Kind.BEGIN else "25P01", already, severity="WARNING", notice=True)]
        if kind is Kind.COMMIT and self.status == "E":  # a failed transaction cannot commit: PostgreSQL rolls back
            kind = Kind.ROLLBACK
            portal.tag = kind.value
        self.cursor.sql(kind.value)
        return []

    def _set(self, statement: Classified) -> list[bytes]:
        """SET and RESET: DuckDB's own settings reach DuckDB; PostgreSQL's are kept for SHOW (and
        reported to the client, as PostgreSQL reports them)."""
        assert self.cursor is not None
        names = list(_SETTINGS) if statement.kind is Kind.RESET and statement.name == "all" else [statement.name]
        reports = []
        for name in names:
            if name == "transaction":
                continue
            value = statement.value if statement.kind is Kind.SET else None
            key = next((k for k in _SETTINGS if k.lower() == name.lower()), name)
            if key == "client_encoding" and value is not None and value.upper().replace("-", "") not in ("UTF8", "UNICODE"):
                raise PgError(FEATURE_NOT_SUPPORTED, f"client_encoding {value} is not supported: this server speaks UTF8.")
            if name.lower() in self.server.duckdb_settings and statement.name != "all":
                literal = "'" + value.replace("'", "''") + "'" if value is not None else None
                self.cursor.sql(f"SET {name} = {literal}" if literal is not None else f"RESET {name}")
            self.settings[key] = value if value is not None else _SETTINGS.get(key, "")
            if key in _REPORTED:
                reports.append(codec.parameter_status(key, self.settings[key]))
        return reports

    def _show(self, name: str) -> pa.Table | None:
        """SHOW of a PostgreSQL parameter (or ALL of them); None leaves SHOW to DuckDB."""
        if name == "all":
            return pa.table({"name": list(self.settings), "setting": list(self.settings.values())})
        key = next((k for k in self.settings if k.lower() == name.lower()), None)
        if key is None:
            if name.lower() not in self.server.duckdb_settings:
                return None
            assert self.cursor is not None
            return pa.table({name: [str(self.cursor.duckdb.execute("SELECT current_setting($n)", {"n": name}).fetchall()[0][0])]})
        return pa.table({name: [self.settings[key]]})

    def _statement_fields(self, prepared: Prepared) -> list[codec.Field] | None:
        """What Describe of a statement says it returns, before any parameter is bound: DuckDB
        describes a query with NULL for every parameter (ClickSend tables are declared in DuckDB,
        so this makes no request)."""
        assert self.cursor is not None
        if prepared.statement.kind is Kind.SHOW:
            return [codec.Field(prepared.statement.name, TEXT.oid, TEXT.size, 0)]
        if not isinstance(prepared.expression, exp.Query):
            return None
        nulls = [None] * len(prepared.parameter_types)
        try:
            relation = self.cursor.duckdb.sql(prepared.text, params=nulls or None)
            schema = relation.limit(0).to_arrow_table().schema
        except Exception as exc:  # noqa: BLE001 - Describe of a statement is a hint: Execute reports the error
            log.debug("Describe could not type a statement: %s", exc)
            return None
        return [codec.Field(f.name, pg_type(f.type).oid, pg_type(f.type).size, 0) for f in schema]

    # --- portals and errors ----------------------------------------------------------------------

    def _portal(self, name: str) -> Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise PgError("34000", f'portal "{name}" does not exist')
        return portal

    def _forget(self, close: codec.Close) -> None:
        if close.kind == "S":
            self.prepared.pop(close.name, None)
        else:
            self._drop_portal(close.name)

    def _drop_portal(self, name: str) -> None:
        """Close and forget the portal of this name, if there is one (its stream's requests stop)."""
        portal = self.portals.pop(name, None)
        if portal is not None:
            portal.close()

    def _close_portals(self) -> None:
        for portal in self.portals.values():
            portal.close()
        self.portals.clear()

    def _error(self, error: BaseException) -> bytes:
        if self.status == "T":
            self.status = "E"
        if not isinstance(error, (ClickSendSQLError, PgError)):
            log.exception("Unexpected failure in session %s", self.pid, exc_info=error)
        return codec.error_response(sqlstate(error), str(error) or type(error).__name__)


def _formats(codes: tuple[int, ...], count: int) -> list[int]:
    """Per-column (or per-parameter) format codes: none means text, one applies to all."""
    if not codes:
        return [0] * count
    if len(codes) == 1:
        return [codes[0]] * count
    if len(codes) != count:
        raise PgError(PROTOCOL_VIOLATION, f"{len(codes)} format codes for {count} values")
    return list(codes)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _quietly(close: Callable[[], object]) -> None:
    try:
        close()
    except Exception as exc:  # noqa: BLE001 - closing after the session ended: nothing left to tell
        log.debug("Closing after a session failed: %s", exc)
