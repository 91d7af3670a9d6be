"""The receiver of ClickSend's webhooks: an ASGI app that puts each event into the inbox.

ClickSend calls a rule's URL in the rule's ``webhook_type``: ``post`` (form fields), ``get`` (query
parameters) or ``json``. Every value of a form or query arrives as text; blanks are kept (an empty
``custom_string`` is a value) and the catalog's types apply (``timestamp``, ``timestamp_send`` are
Unix seconds). The URL carries a secret token: a request without it is refused with 403, a body
that is not an event with 400, and neither changes anything. The answer (200) comes only once the
event is in the inbox, so a crash after it loses nothing; the requests that arrive while one
group is being stored are stored together next (one transaction for a burst, not one each).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson
import pyarrow as pa

from ..catalog import Table
from ..conversion import bodies_to_arrow

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
MAX_BODY = 1 << 20  # an event is a few hundred bytes; a megabyte is not one


def events_of(table: Table, method: str, query: bytes, content_type: str, body: bytes) -> pa.Table:
    """The events a webhook request carries, as ``table``'s columns; ValueError if it carries none.

    >>> from clicksend_sql.catalog import load_catalog
    >>> inbound = load_catalog().table("InboundSMS")
    >>> rows = events_of(inbound, "POST", b"", "application/x-www-form-urlencoded",
    ...                  b"message_id=A1&from=%2B61411&body=hi&custom_string=&timestamp=1700000000")
    >>> rows.select(["MessageId", "From", "CustomString"]).to_pylist()
    [{'MessageId': 'A1', 'From': '+61411', 'CustomString': ''}]
    >>> str(rows.column("Timestamp")[0])
    '2023-11-14 22:13:20+00:00'
    >>> str(events_of(inbound, "GET", b"message_id=A2&timestamp_send=1700000000", "", b"").column("Timestamp")[0])
    '2023-11-14 22:13:20+00:00'
    """
    if method == "GET":
        fields: Any = _form(query)
    elif "json" in content_type:
        try:
            fields = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"the body is not JSON ({exc})") from None
    else:
        fields = _form(body)
    items = fields if isinstance(fields, list) else [fields]
    key = next(c.field for c in table.columns if c.name == table.primary_key[0])
    if not items or not all(isinstance(i, dict) and str(i.get(key) or "").strip() for i in items):
        raise ValueError(f"an event needs a non-empty {key}")
    return bodies_to_arrow(table, [orjson.dumps({"data": {"data": items}})], "paginator")


def _form(data: bytes) -> dict[str, str]:
    """Form or query fields, blanks kept, the last of a repeated name winning."""
    return {k: v[-1] for k, v in parse_qs(data.decode("utf-8", "replace"), keep_blank_values=True).items()}


class WebhookApp:
    """ASGI: ``/<token>`` takes events for ``accept`` (called in a worker thread; it stores them)."""

    def __init__(self, table: Table, token: str, accept: Callable[[pa.Table], object]) -> None:
        self.table, self.token, self.accept = table, token, accept
        self._waiting: list[tuple[pa.Table, asyncio.Future[None]]] = []  # events not yet handed to accept
        self._storing: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                return await self._answer(send, 413, {"error": "too large"})
            if not message.get("more_body"):
                break
        if scope["path"].strip("/") != self.token or scope["method"] not in ("GET", "POST"):
            return await self._answer(send, 403 if scope["method"] in ("GET", "POST") else 405, {"error": "not here"})
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        try:
            events = events_of(self.table, scope["method"], scope.get("query_string", b""),
                               headers.get("content-type", ""), body)
        except ValueError as exc:
            return await self._answer(send, 400, {"error": str(exc)})
        await self._store(events)
        await self._answer(send, 200, {"received": events.num_rows})

    async def _store(self, events: pa.Table) -> None:
        """Hand ``events`` to ``accept`` together with those of the requests waiting beside it: one
        call (one inbox transaction) at a time, for every request that came while the last one ran,
        so a burst of webhooks costs a transaction per group rather than per request."""
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[None] = loop.create_future()
        self._waiting.append((events, stored))
        if self._storing is None:
            self._storing = loop.create_task(self._store_waiting())
        await stored

    async def _store_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    await loop.run_in_executor(None, self.accept, pa.concat_tables([events for events, _ in group]))
                    outcome: BaseException | None = None
                except BaseException as exc:  # noqa: BLE001 (each request of the group fails with it: 500, the sender retries)
                    outcome = exc
                for _, stored in group:
                    if stored.done():  # its request was cancelled (the sender hung up); its events are kept anyway
                        continue
                    if outcome is None:
                        stored.set_result(None)
                    elif isinstance(outcome, Exception):
                        stored.set_exception(outcome)
                    else:
                        stored.cancel()
                if outcome is not None and not isinstance(outcome, Exception):
                    raise outcome
        finally:
            self._storing = None

    async def _answer(self, send: Send, status: int, payload: dict[str, Any]) -> None:
        body = orjson.dumps(payload)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
