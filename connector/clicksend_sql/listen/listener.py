"""A listener: inbound SMS (or delivery receipts) as they happen, each batch handed to SQL.

Two ways in, one way through. In **poll mode** a POLL rule makes ClickSend list the events
(``GET /sms/inbound``); in **webhook mode** (``public_url``) a URL rule makes ClickSend call this
process's receiver. Either way events go to the inbox (:mod:`.inbox`), and a worker thread hands
the pending ones to the statement as a table (``inbound`` / ``receipts``) or to a callback; only
when that succeeded are they done (and, in poll mode, marked read in ClickSend). A failing
statement leaves its batch pending, is retried with backoff, and is reported once per batch.

The first start processes only what arrives from then on: what ClickSend already lists is
recorded as skipped (``backlog=True`` processes it). The rule this listener made is deleted when it
stops, also on SIGINT and SIGTERM; one a killed process left (the state remembers it) is deleted
by the next start with that state.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ClickSendSQLError, ConfigurationError
from ..serving import bind, quiet_server
from .events import INBOUND, MATCH_TYPES, RECEIPTS, EventKind, MatchType, matches
from .inbox import Inbox
from .webhook import WebhookApp

if TYPE_CHECKING:
    from ..connection import Connection

log = logging.getLogger("clicksend_sql.listen")
MAX_BACKOFF = 60.0
BATCH_ROWS = 1000


@dataclass
class BatchError:
    """A batch whose statement failed (reported once, retried until it succeeds)."""

    ids: tuple[str, ...]
    error: str
    attempts: int = 1


@dataclass
class ListenStats:
    """What a listener did so far."""

    processed: int = 0
    batches: int = 0
    skipped_backlog: int = 0
    errors: list[BatchError] = field(default_factory=list)


class Listener:
    """Create with :meth:`Connection.listen`; ``with`` it, or :meth:`run_forever` until Ctrl-C."""

    def __init__(self, con: Connection, *, sql: str | None = None, callback: Callable[[pa.Table], object] | None = None,
                 receipts: bool = False, state: duckdb.DuckDBPyConnection | None = None, public_url: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, number: str = "*", match: MatchType = "any", term: str = "",
                 backlog: bool = False, interval: float = 2.0,
                 on_batch: Callable[[pa.Table], None] | None = None,
                 on_error: Callable[[BatchError], None] | None = None) -> None:
        if (sql is None) == (callback is None):
            raise ConfigurationError("listen needs exactly one of sql= (a statement over the batch) and callback=.")
        if match not in MATCH_TYPES:
            *others, last = MATCH_TYPES
            raise ConfigurationError(f"match={match!r}: give {', '.join(others)} or {last}.")
        if match != "any" and not term:
            raise ConfigurationError(f"match={match!r} needs a term.")
        if public_url and con.dry_run:
            raise ConfigurationError("A dry run makes no rule, so in webhook mode (public_url) nothing would call it: "
                                     "listen in poll mode for a dry run (it hears what the account's POLL rules list).")
        self.kind: EventKind = RECEIPTS if receipts else INBOUND
        self.table = con.catalog.table(self.kind.table)
        self._session = con.cursor()  # the worker's own session: the caller's connection stays free
        self._inbox = Inbox(state if state is not None else self._session.duckdb, self.kind, self.table)
        self.sql, self.callback, self.public_url = sql, callback, public_url.rstrip("/") if public_url else None
        self.host, self.port = host, port
        self.number, self.match, self.term = number, match, term
        self.backlog, self.interval = backlog, interval
        self.on_batch, self.on_error = on_batch, on_error
        self.stats = ListenStats()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: Any = None
        self._rule_id: int | None = None
        self._failing: BatchError | None = None
        self._retry_at = 0.0
        self._marked_before: int | None = None  # the last date_before sent to mark_read

    # --- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Listener:
        """Make the rule (and the receiver), skip the backlog on a first start, start the worker."""
        first = self._inbox.first_start()
        # A dry run makes no rule (its INSERT would answer with the planned request, not a rule id, and
        # a later start would delete whichever real rule has that number) and so deletes and forgets
        # none: it hears what existing POLL rules list, and the next real start deletes what a killed
        # one left. (Webhook mode, where nothing would call it, is refused for a dry run.)
        if not self._session.dry_run:
            for left in self._inbox.rules_left():  # a killed run's rule: ClickSend would keep serving it
                self._delete_rule(left)
            if self.public_url:
                self._start_receiver()
                self._rule_id = self._make_rule("URL", f"{self.public_url}/{self._server.config.app.token}")
            else:
                self._rule_id = self._make_rule("POLL", "clicksend-sql")
        if first and not self.backlog:
            listed = self._listed()
            self._inbox.skip(self.kind.ids(listed))
            self.stats.skipped_backlog = listed.num_rows
        elif self.backlog:
            self._inbox.put(self._listed())
        worker = threading.Thread(target=self._work, name=f"clicksend-sql-listen-{self.kind.name}", daemon=True)
        worker.start()
        self._threads.append(worker)
        return self

    def stop(self) -> None:
        """Stop the worker and the receiver, and delete the rule this listener made."""
        self._stop.set()
        self._wake.set()
        if self._server is not None:
            self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()
        if self._rule_id is not None:
            rule, self._rule_id = self._rule_id, None
            self._delete_rule(rule)
        self._inbox.close()
        self._session.close()

    def run_forever(self) -> None:
        """Listen until SIGINT or SIGTERM (or :meth:`stop` from another thread), then clean up."""
        with self:
            self.wait()

    def wait(self) -> None:
        """Block a started listener's caller until SIGINT or SIGTERM (or :meth:`stop` from another thread)."""
        import signal

        previous = signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)

    @property
    def url(self) -> str | None:
        """Where the receiver listens locally (webhook mode)."""
        if self._server is None:
            return None
        return f"http://{self.host}:{self.port}/{self._server.config.app.token}"

    # --- the rule and the receiver -----------------------------------------------------------------
    def _make_rule(self, action: str, address: str) -> int:
        """Make the rule that hands this listener its events, and remember it in the state."""
        values = self.kind.rule(action, address, self.number, self.match, self.term, "json")
        columns = ", ".join(f'"{c}"' for c in values)
        result = self._session.sql(
            f'INSERT INTO "{self.kind.rules}" ({columns}) VALUES ({", ".join("?" * len(values))}) '
            f'RETURNING "{self.kind.rule_key}"', list(values.values()))
        rule = int(result.fetchall()[0][0])
        self._inbox.rule_made(rule)
        return rule

    def _delete_rule(self, rule: int) -> None:
        """Delete a rule a listener made (one already gone counts as deleted) and forget it."""
        self._session.sql(f'DELETE FROM "{self.kind.rules}" WHERE "{self.kind.rule_key}" = ?', [rule])
        self._inbox.rule_gone(rule)

    def _start_receiver(self) -> None:
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        app = WebhookApp(self.table, secrets.token_urlsafe(24), self._received)
        self._server = quiet_server(app)
        thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                  name=f"clicksend-sql-receiver-{self.port}")
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise ClickSendSQLError(f"The webhook receiver did not start on {self.host}:{self.port}.")
            time.sleep(0.01)

    def _received(self, events: pa.Table) -> None:
        self._inbox.put(self._wanted(events))
        self._wake.set()

    # --- the work ---------------------------------------------------------------------------------
    def _listed(self) -> pa.Table:
        """The events ClickSend lists unread now (needs a POLL rule), filtered as the rule is."""
        return self._wanted(self._session.sql(f'SELECT * FROM "{self.kind.table}"', cache=False).arrow())

    def _wanted(self, events: pa.Table) -> pa.Table:
        if not self.kind.filters or (self.number == "*" and self.match == "any"):
            return events
        keep = [matches(self.kind, self.number, self.match, self.term, to, body)
                for to, body in zip(events.column("To").to_pylist(), events.column("Body").to_pylist(), strict=True)]
        return events.filter(pa.array(keep, pa.bool_()))

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                listed = self._poll() if not self.public_url else None
                self._process()
                if listed is not None and listed.num_rows:
                    self._mark_read(listed)
            except Exception as exc:  # noqa: BLE001 (a poll or the state file failed: reported, tried again next round)
                self._report(BatchError((), f"{type(exc).__name__}: {exc}"))
            self._wake.wait(self.interval)
            self._wake.clear()

    def _poll(self) -> pa.Table:
        listed = self._listed()
        if listed.num_rows:
            self._inbox.put(listed)
        return listed

    def _mark_read(self, listed: pa.Table) -> None:
        """Mark read in ClickSend what the statement has processed: everything before the oldest event
        still pending, else before the newest listed second (which stays unread, as a message may still
        arrive in it; the done-list drops it when it is listed again)."""
        stamps = self._inbox.oldest(self.kind.time_column) or pc.max(listed.column(self.kind.time_column)).as_py()
        before = int(stamps.timestamp()) - 1 if stamps is not None else None
        if before is not None and before != self._marked_before:  # a quiet poll marks nothing again
            self._session.sql(f"CALL {self.kind.mark_read}(?)", [before])
            self._marked_before = before

    def _process(self) -> None:
        if time.monotonic() < self._retry_at:
            return
        while not self._stop.is_set():
            batch = self._inbox.pending(BATCH_ROWS)
            if not batch.num_rows:
                return
            ids = tuple(self.kind.ids(batch))
            try:
                self._hand_over(batch)
            except Exception as exc:  # noqa: BLE001 (the user's statement or callback: any failure leaves the batch pending)
                self._failed(ids, exc)
                return
            self._inbox.finish(ids)
            self._failing, self._retry_at = None, 0.0
            self.stats.processed += len(ids)
            self.stats.batches += 1
            if self.on_batch is not None:
                self.on_batch(batch)

    def _hand_over(self, batch: pa.Table) -> None:
        if self.callback is not None:
            self.callback(batch)
            return
        assert self.sql is not None
        self._session.duckdb.register(self.kind.name, batch)
        try:
            self._session.sql(self.sql)
        finally:
            self._session.duckdb.unregister(self.kind.name)

    def _failed(self, ids: tuple[str, ...], exc: Exception) -> None:
        """Backoff, and one report per batch (not per retry)."""
        failing = self._failing
        if failing is not None and failing.ids == ids:
            failing.attempts += 1
        else:
            self._failing = failing = BatchError(ids, f"{type(exc).__name__}: {exc}")
            self._report(failing)
        self._retry_at = time.monotonic() + min(MAX_BACKOFF, self.interval * 2 ** (failing.attempts - 1))

    def _report(self, error: BatchError) -> None:
        self.stats.errors.append(error)
        log.warning("listen (%s): %s", self.kind.name, error.error)
        if self.on_error is not None:
            self.on_error(error)
