"""The write pipeline composed: plan → validate → (match) → requests → caps → send → outcomes.

The connection hands in what the pipeline needs from it (:class:`Services`), so this module owns
the order of the steps and the money checks, and ``connection.py`` only dispatches.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

import duckdb
import orjson
import pyarrow as pa
from sqlglot import exp

from ..catalog import Table
from ..charges import Charge, Send, charge_of, check_caps
from ..config import Limits
from .build_requests import WriteRequest, build_requests
from .match_rows import match_rows
from .outcomes import merge, outcomes
from .plan_rows import WriteError, WriteRows, plan_rows
from .reconcile import messages_before, reconcile
from .returning import Written, returning
from .send_requests import RequestOutcome
from .validate_rows import validate_rows

PLAN_SCHEMA = pa.schema(
    [("request", pa.int64()), ("endpoint", pa.string()), ("rows", pa.int64()), ("first_row", pa.int64()),
     ("body", pa.string()), ("retried_on_failure", pa.bool_()), ("messages", pa.int64()), ("quoted_price", pa.string())]
)


class Services(Protocol):
    """What a write needs from its connection."""

    def query(self, query: exp.Expr) -> pa.Table: ...
    def quote(self, path: str, body: Any) -> Decimal: ...
    def list_sizes(self, ids: list[int]) -> dict[int, int]: ...
    def send(self, requests: list[WriteRequest]) -> list[RequestOutcome]: ...
    def scratch(self) -> duckdb.DuckDBPyConnection: ...
    def exclusive(self) -> AbstractContextManager[None]: ...


def execute_write(statement: exp.Expr, table: Table, services: Services, limits: Limits, *, send: bool) -> pa.Table:
    """The outcome table of a write (``send=False``: the plan of its requests, nothing sent).

    An upsert or a de-duplicated send (``ON CONFLICT``) holds the account's write lock from its
    read of the existing rows to its last request, so two at once on this machine cannot both
    find a row missing and both create it.
    """
    planned = plan_rows(statement, table, services.query)
    lock = services.exclusive() if planned.conflict is not None and send else nullcontext()
    with lock:
        return _execute(statement, planned, services, limits, send=send)


def _execute(statement: exp.Expr, planned: WriteRows, services: Services, limits: Limits, *, send: bool) -> pa.Table:
    table = planned.table
    planned, invalid = validate_rows(planned, limits)
    _check_list_sizes(planned, services)
    parts, skipped = match_rows(planned, services.query, services.scratch) if planned.conflict else ([planned], {})
    parts = [_checked(part, planned, limits) for part in parts]
    skipped = {**invalid, **{planned.origin(row): why for row, why in skipped.items()}}
    built = [(part, *build_requests(part)) for part in parts]
    requests = [(r, rows, part) for part, part_requests, rows in built for r in part_requests]
    sends = [_send(table, r, rows, part, services) for r, rows, part in requests if _charges(table, r, part)]
    what = f"{statement.key.upper()} INTO {table.name}" if isinstance(statement, exp.Insert) else f"{statement.key.upper()} {table.name}"
    if not send:
        firsts = [part.origin(r.rows[0]) + 1 if r.rows else None for r, _, part in requests]
        return _plan([r for r, _, _ in requests], firsts, charge_of(sends, services.list_sizes, price=True), bool(sends))
    check_caps(what, sends, services.list_sizes, limits)
    started = datetime.now(timezone.utc)
    before = frozenset().union(*(messages_before(part, services.query, started) for part in parts if _charges(table)))
    written = []
    for part, part_requests, rows in built:
        outcome, answered = outcomes(part, rows, services.send(part_requests))
        outcome, settled = reconcile(part, rows, outcome, services.query, started, before)
        written.append(Written(part, outcome, answered, settled))
    if statement.args.get("returning"):
        return returning(statement, written, services.scratch)
    return merge([w.outcome for w in written], skipped)


def _checked(part: WriteRows, planned: WriteRows, limits: Limits) -> WriteRows:
    """An upsert's part with its origins pointing at the statement's input rows, its UPDATE rows
    (the DO UPDATE SET values) checked as the write they became."""
    if part is planned:
        return part
    origins = tuple(planned.origin(i) for i in (part.origins or range(part.rows.num_rows)))
    if part.kind == "INSERT":  # a subset of the planned rows, which passed every check already
        return replace(part, origins=origins)
    checked, _ = validate_rows(replace(part, origins=origins), replace(limits, invalid_rows="error"))
    return checked


def _charges(table: Table, request: WriteRequest | None = None, write: WriteRows | None = None) -> bool:
    """Whether the table's inserts send or charge; with a request, whether that one does: an
    INSERT, or an UPDATE pointing a campaign at a contact list (it sends to that list if it has
    not gone out yet, so it is counted as a send to it)."""
    endpoint = table.insert
    if endpoint is None or not endpoint.charges:
        return False
    if request is None or write is None:
        return True
    if write.kind == "INSERT":
        return request.method == endpoint.method
    return write.kind == "UPDATE" and any(table.column(c).recipient == "list" for c in write.columns)


def _send(table: Table, request: WriteRequest, rows: pa.Table, write: WriteRows, services: Services) -> Send:
    """A sending request as the caps see it: its direct messages and the lists it sends to (an
    UPDATE has no price endpoint: ``max_cost`` refuses it, as any charge it cannot quote)."""
    lists = [c.name for c in table.columns if c.recipient == "list" and c.name in rows.column_names]
    direct, to_lists = 0, []
    for index in request.rows:
        list_id = next((rows.column(n)[index].as_py() for n in lists if rows.column(n)[index].is_valid), None)
        if list_id is None:
            direct += 1
        else:
            to_lists.append(int(list_id))
    price = table.insert.price if table.insert and write.kind == "INSERT" else None
    quote: Callable[[], Decimal] | None = (lambda: services.quote(price, request.body)) if price else None
    return Send(quote, direct, tuple(to_lists))


def _check_list_sizes(write: WriteRows, services: Services) -> None:
    """A send to a whole list is refused when the list is larger than the API allows (RudderStack:
    20,000 contacts), before anything is sent; the list sizes come from one read of ContactLists."""
    for name in write.columns:
        limit = write.table.column(name).max_list_contacts
        if limit is None:
            continue
        ids = [v for v in dict.fromkeys(write.rows.column(name).to_pylist()) if v is not None]
        if not ids:
            continue
        sizes = services.list_sizes(ids)
        for row, list_id in enumerate(write.rows.column(name).to_pylist()):
            if list_id is not None and sizes.get(list_id, 0) > limit:
                raise WriteError(
                    f"INSERT INTO {write.table.name} row {write.origin(row) + 1}: list {list_id} has {sizes[list_id]:,} "
                    f"contacts; a send to a list may reach at most {limit:,}. Nothing was sent."
                )


def _plan(requests: list[WriteRequest], firsts: list[int | None], charge: Charge, sending: bool) -> pa.Table:
    """EXPLAIN of a write: one row per request, with the rows it carries and the statement's
    input row of its first; the first row of a send also says how many messages the statement
    sends and ClickSend's quoted price."""
    return pa.Table.from_pylist(
        [
            {
                "request": index + 1,
                "endpoint": f"{r.method} /v3{r.path}",
                "rows": len(r.rows),
                "first_row": first,
                "body": orjson.dumps(r.body).decode()[:500] if r.body is not None else "",
                "retried_on_failure": r.retry,
                "messages": charge.messages if sending and index == 0 else None,
                "quoted_price": str(charge.cost) if sending and charge.cost is not None and index == 0 else None,
            }
            for index, (r, first) in enumerate(zip(requests, firsts, strict=True))
        ],
        schema=PLAN_SCHEMA,
    )
