"""The write pipeline composed: plan → validate → (match) → requests → caps → send → outcomes.

The connection hands in what the pipeline needs from it (:class:`Services`), so this module owns
the order of the steps and the money checks, and ``connection.py`` only dispatches.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Protocol

import duckdb
import orjson
import pyarrow as pa
from sqlglot import exp

from ..catalog import Table
from ..config import Limits
from .build_requests import WriteRequest, build_requests
from .match_rows import match_rows
from .outcomes import answered_rows, merge, outcomes
from .plan_rows import WriteError, WriteRows, plan_rows
from .reconcile import reconcile
from .returning import returning
from .send_requests import RequestOutcome
from .validate_rows import validate_rows

PLAN_SCHEMA = pa.schema(
    [("request", pa.int64()), ("endpoint", pa.string()), ("rows", pa.int64()), ("first_row", pa.int64()),
     ("body", pa.string()), ("retried_on_failure", pa.bool_()), ("quoted_price", pa.string())]
)


class Services(Protocol):
    """What a write needs from its connection."""

    def query(self, query: exp.Expression) -> pa.Table: ...
    def quote(self, path: str, body: Any) -> Decimal: ...
    def send(self, requests: list[WriteRequest]) -> list[RequestOutcome]: ...
    def scratch(self) -> duckdb.DuckDBPyConnection: ...


def execute_write(statement: exp.Expression, table: Table, services: Services, limits: Limits, *, send: bool) -> pa.Table:
    """The outcome table of a write (``send=False``: the plan of its requests, nothing sent)."""
    planned = validate_rows(plan_rows(statement, table, services.query))
    _check_list_sizes(planned, services)
    parts, skipped = match_rows(planned, services.query, services.scratch) if planned.conflict else ([planned], {})
    built = [(part, *build_requests(validate_rows(part) if part is not planned else part)) for part in parts]
    requests = [r for _, part_requests, _ in built for r in part_requests]
    messages = sum(len(r.rows) for r in requests if r.batch)
    if limits.max_messages is not None and messages > limits.max_messages:
        raise WriteError(
            f"This statement would send {messages} messages; the connection allows {limits.max_messages} "
            "(max_messages). Nothing was sent."
        )
    price = _quote(table, requests, services) if messages and (not send or limits.max_cost is not None) else None
    if send and limits.max_cost is not None and price is not None and price > limits.max_cost:
        raise WriteError(
            f"This statement would cost {price} (quoted by ClickSend); the connection allows {limits.max_cost} "
            "(max_cost). Nothing was sent."
        )
    if not send:
        return _plan(requests, price)
    started = datetime.now(timezone.utc)
    sent = [(part, rows, services.send(part_requests)) for part, part_requests, rows in built]
    if statement.args.get("returning"):
        return returning(statement, planned, [(part, results) for part, _, results in sent], answered_rows, services.scratch)
    done = [reconcile(part, outcomes(part, rows, results), services.query, started) for part, rows, results in sent]
    return merge(done, skipped)


def _check_list_sizes(write: WriteRows, services: Services) -> None:
    """A send to a whole list is refused when the list is larger than the API allows (RudderStack:
    20,000 contacts), before anything is sent; the list sizes come from one read of ContactLists."""
    for name in write.columns:
        limit = write.table.column(name).max_list_contacts
        ids = [v for v in dict.fromkeys(write.rows.column(name).to_pylist()) if v is not None] if limit else []
        if not ids:
            continue
        lists = exp.select("ListId", "ContactsCount").from_("ContactLists").where(exp.column("ListId").isin(*ids))
        sizes = {r["ListId"]: r["ContactsCount"] for r in services.query(lists).to_pylist()}
        for row, list_id in enumerate(write.rows.column(name).to_pylist()):
            if list_id is not None and (sizes.get(list_id) or 0) > limit:
                raise WriteError(
                    f"INSERT INTO {write.table.name} row {row + 1}: list {list_id} has {sizes[list_id]:,} contacts; "
                    f"a send to a list may reach at most {limit:,}. Nothing was sent."
                )


def _quote(table: Table, requests: list[WriteRequest], services: Services) -> Decimal | None:
    """What the sends would cost, from the table's price endpoint (nothing is sent)."""
    endpoint = table.insert
    if endpoint is None or endpoint.price is None:
        return None
    return sum((services.quote(endpoint.price, r.body) for r in requests if r.batch), Decimal(0))


def _plan(requests: list[WriteRequest], price: Decimal | None) -> pa.Table:
    """EXPLAIN of a write: one row per request, with the rows it carries and the quoted price."""
    return pa.Table.from_pylist(
        [
            {
                "request": index + 1,
                "endpoint": f"{r.method} /v3{r.path}",
                "rows": len(r.rows),
                "first_row": r.rows[0] + 1 if r.rows else None,
                "body": orjson.dumps(r.body).decode()[:500] if r.body is not None else "",
                "retried_on_failure": r.retry,
                "quoted_price": str(price) if price is not None and index == 0 else None,
            }
            for index, r in enumerate(requests)
        ],
        schema=PLAN_SCHEMA,
    )

