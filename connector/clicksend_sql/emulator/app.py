"""The emulator's raw ASGI application: routing, auth, envelope, realism knobs, introspection.

Raw ASGI (no framework) because list pages are the benchmark's hot path: one router lookup,
one handler call, one ``orjson.dumps`` per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson

from . import events, spec
from .delivery import Deliverer, Policy
from .envelope import INVALID_ENDPOINT, SUSPENDED, TOO_MANY, UNAUTHORIZED, ApiError, envelope
from .handlers import PRECHECKS, ROUTES, Ctx, Handler, Reply
from .resources import MAIN_SUBACCOUNT_ID, USER_ID
from .router import Router
from .state import TEST_ACCOUNT_KEY, Principal, Store

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


_LIST_PARAMS = frozenset({"page", "limit"})
REQUEST_LOG_SIZE = 10_000  # request lines kept for /_emulator/requests (tests assert exact paths)


@dataclass(frozen=True)
class Knobs:
    """Realism settings: per-request latency, a token-bucket rate limit, injected faults."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit: float | None = None
    rate_headers: bool = True  # False: a 429 and nothing else, as behind a proxy that strips the headers
    fault_rate: float = 0.0
    lost_share: float = 0.5  # of the faults: processed, then the response is lost (the rest fail before)
    delivery_attempts: int = 4  # webhook calls per delivery before it is given up (delivery.py)
    delivery_backoff_ms: float = 200.0  # wait before the 2nd call; doubled before each later one


@dataclass(frozen=True)
class Bound:
    """An operation and its stateful handler (None: answer with a synthesized response)."""

    op: spec.Operation
    handler: Handler | None
    precheck: Handler | None = None

    @property
    def stats_key(self) -> str:
        return f"{self.op.method} /v3{self.op.path}"


class _TokenBucket:
    """N requests per second with a burst of N; reports what the x-ratelimit-* headers need,
    or no header at all with ``headers=False`` (not even ``Retry-After``)."""

    def __init__(self, rate: float, *, headers: bool = True) -> None:
        self.rate = rate
        self.headers = headers
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def take(self) -> tuple[bool, dict[str, str]]:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        allowed = self.tokens >= 1.0
        if allowed:
            self.tokens -= 1.0
        if not self.headers:
            return allowed, {}
        headers = {
            "x-ratelimit-limit": str(int(self.capacity)),
            "x-ratelimit-remaining": str(int(self.tokens)),
            "ratelimit-reset": str(math.ceil((self.capacity - self.tokens) / self.rate)),
        }
        if not allowed:
            headers["retry-after"] = str(max(1, math.ceil((1.0 - self.tokens) / self.rate)))
        return allowed, headers


@dataclass
class ScriptedFault:
    """A fault for the next ``count`` requests whose request line starts with ``match``
    (``"POST /v3/sms/send"``): ``lose`` processes the request and loses the answer, ``fail``
    answers 500 without processing it (a proxy in front of ClickSend failing), ``drop`` drops the
    connection without processing it. Tests script them to make one outcome happen for certain."""

    match: str
    kind: Literal["lose", "fail", "drop"]
    count: int = 1


class _Dropped(Exception):
    """Marks an injected dropped connection (the response was started and will never finish)."""


def bind_operations(operations: Iterable[spec.Operation], routes: dict[tuple[str, str], Handler],
                    prechecks: dict[tuple[str, str], Handler] | None = None) -> Router[Bound]:
    """Route every operation; those with a stateful handler get it, the rest are synthesized.

    A handler registered for a method the spec lacks on a spec path (POST on a contact's URL,
    which the real API answers like the update) is bound to that path's operation.
    """
    router: Router[Bound] = Router()
    by_handler: dict[tuple[str, Handler], spec.Operation] = {}
    checks = prechecks or {}
    for op in operations:
        key = (op.method, op.path.rstrip("/"))
        router.add(op.method, op.path, Bound(op, routes.get(key), checks.get(key)))
        if key in routes:
            by_handler[(key[1], routes[key])] = op
    for (method, path), handler in routes.items():
        if (path, handler) in by_handler and router.match(method, path) is None:
            router.add(method, path, Bound(by_handler[(path, handler)], handler))
    return router


class EmulatorApp:
    """One emulated ClickSend account behind HTTP."""

    def __init__(self, store: Store, *, username: str, api_key: str, seed: int = 0, knobs: Knobs = Knobs()) -> None:
        self.store = store
        self.username = username
        self._api_key = api_key
        self.knobs = knobs
        self.router = bind_operations(spec.load_operations(), ROUTES, PRECHECKS)
        self.stats: Counter[str] = Counter()
        self.requests: deque[str] = deque(maxlen=REQUEST_LOG_SIZE)  # raw request lines, newest last
        self._bucket = _TokenBucket(knobs.rate_limit, headers=knobs.rate_headers) if knobs.rate_limit else None
        self._fault_rng = random.Random(f"faults:{seed}")
        self.scripted: list[ScriptedFault] = []
        self._latency_rng = random.Random(f"latency:{seed}")
        self._synth_rng = random.Random(f"synth:{seed}")
        self.deliverer = Deliverer(Policy(attempts=knobs.delivery_attempts, backoff_ms=knobs.delivery_backoff_ms))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith("/_emulator/"):
            await self._introspect(scope, receive, send)
            return
        extra: dict[str, str] = {}
        try:
            status, body, extra = await self._v3(scope, receive, send)
        except _Dropped:
            return
        except ApiError as err:
            status, body = err.status, err.body()
            extra = {**extra, **err.headers}
        await _respond(send, status, body, extra)

    async def _v3(self, scope: Scope, receive: Receive, send: Send) -> tuple[int, Any, dict[str, str]]:
        method: str = scope["method"]
        path: str = scope["path"]
        found = self.router.match(method, path[3:]) if path.startswith("/v3/") else None
        query = scope.get("query_string") or b""
        raw = (scope.get("raw_path") or path.encode()) + (b"?" + query if query else b"")
        self.requests.append(f"{method} {raw.decode('latin-1')}")
        self.stats["total"] += 1
        self.stats[found[0].stats_key if found else f"{method} {path}"] += 1
        await self._delay()
        headers: dict[str, str] = {}
        if self._bucket is not None:
            allowed, headers = self._bucket.take()
            if not allowed:
                raise ApiError(429, TOO_MANY, headers=headers)
        lose = await self._scripted_fault(f"{method} {raw.decode('latin-1')}", send, headers) or await self._maybe_fault(
            send, headers)
        if found is None:
            raise ApiError(INVALID_ENDPOINT.status, INVALID_ENDPOINT.message, headers=headers)
        bound, params = found
        try:
            status, body = self._dispatch(scope, await _read_body(receive), bound, params)
        except ApiError as err:
            err.headers.update(headers)
            raise
        finally:
            self._send_outbox()
        if lose:  # the request was acted on; the client never hears of it
            await _hang_up(send)
        return status, body, headers

    def _dispatch(self, scope: Scope, raw: bytes, bound: Bound, params: dict[str, str]) -> tuple[int, Any]:
        op = bound.op
        principal = self._authenticate(scope) if op.auth else None
        query = _parse_query(scope.get("query_string", b""))
        try:
            body = _parse_json(raw, scope)
        except ApiError as err:  # in the operation's documented error shape, like any invalid request
            raise _invalid(op, err.data) from None
        ctx = Ctx(
            store=self.store, principal=principal, params=params, query=query, body=body,
            base_url=_base_url(scope), path=scope["path"], response_msg=op.response_msg, rng=self.store.rng,
        )
        if bound.precheck is not None:
            bound.precheck(ctx)
        if spec.leaks_php_error(op, body):
            raise ApiError(400, spec.PHP_LEAK_MESSAGE, code=400)
        # page/limit are this emulator's list semantics (clamped, see listing.py), not the spec's
        errors = spec.validate_request(op, body, {k: v for k, v in query.items() if k not in _LIST_PARAMS})
        if errors:
            raise _invalid(op, errors)
        if bound.handler is None:
            return op.success_status, spec.synthesize_response(op, params, self._synth_rng)
        result = bound.handler(ctx)
        reply = result if isinstance(result, Reply) else Reply(result)
        status = reply.status or op.success_status
        if status == 204:
            return 204, None
        if not op.envelope:
            return status, reply.data
        return status, envelope(status, reply.message or op.response_msg, reply.data)

    def _send_outbox(self) -> None:
        """Start the webhook calls the request made; they run after it is answered."""
        outbox = self.store.outbox
        while outbox:
            self.deliverer.start(outbox.pop(0))

    def _authenticate(self, scope: Scope) -> Principal:
        username, key = _basic_credentials(scope)
        if username == self.username and key == self._api_key:
            return Principal(username, USER_ID, MAIN_SUBACCOUNT_ID)
        if key == TEST_ACCOUNT_KEY and username in ("nocredit", "banned"):
            if username == "banned":
                raise SUSPENDED
            return Principal(username, USER_ID, MAIN_SUBACCOUNT_ID, no_credit=True)
        for sub in self.store.table("subaccounts", "subaccount_id"):
            if sub["api_username"] == username and sub["api_key"] == key:
                return Principal(username, USER_ID, sub["subaccount_id"])
        raise UNAUTHORIZED  # wrong key, unknown user, and the notactive test account alike

    async def _delay(self) -> None:
        k = self.knobs
        if k.latency_ms or k.jitter_ms:
            ms = k.latency_ms + self._latency_rng.uniform(-k.jitter_ms, k.jitter_ms)
            await asyncio.sleep(max(0.0, ms) / 1000)

    async def _scripted_fault(self, line: str, send: Send, headers: dict[str, str]) -> bool:
        """The first scripted fault matching ``line``, used up once (True: lose the answer)."""
        fault = next((f for f in self.scripted if line.startswith(f.match)), None)
        if fault is None:
            return False
        fault.count -= 1
        if fault.count <= 0:
            self.scripted.remove(fault)
        if fault.kind == "fail":
            raise ApiError(500, "Internal server error. Please try again.", headers=headers)
        if fault.kind == "drop":
            await _hang_up(send)
        return True

    async def _maybe_fault(self, send: Send, headers: dict[str, str]) -> bool:
        """Seeded faults: a ``lost_share`` of them let the request be processed and lose the
        response (True); the others fail before processing, as a 500 or a dropped connection."""
        if not self.knobs.fault_rate or self._fault_rng.random() >= self.knobs.fault_rate:
            return False
        if self._fault_rng.random() < self.knobs.lost_share:
            return True
        if self._fault_rng.random() < 0.5:
            raise ApiError(500, "Internal server error. Please try again.", headers=headers)
        await _hang_up(send)
        return False

    async def _introspect(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (scope["method"], scope["path"].rstrip("/"))
        if route == ("GET", "/_emulator/stats"):
            stats = dict(self.stats)
            total = stats.pop("total", 0)
            await _respond(send, 200, {"total": total, "by_operation": stats})
        elif route == ("GET", "/_emulator/requests"):
            await _respond(send, 200, {"requests": list(self.requests)})
        elif route == ("POST", "/_emulator/faults"):
            wanted = orjson.loads(await _read_body(receive) or b"{}")
            if wanted.get("kind") not in ("lose", "fail", "drop") or not isinstance(wanted.get("match"), str):
                await _respond(send, 400, {"error": "give match (a request line prefix) and kind (lose, fail or drop)"})
                return
            self.scripted.append(ScriptedFault(wanted["match"], wanted["kind"], int(wanted.get("count", 1))))
            await _respond(send, 200, {"scripted": len(self.scripted)})
        elif route == ("POST", "/_emulator/reset-stats"):
            self.stats.clear()
            self.requests.clear()
            self.scripted.clear()
            await _respond(send, 200, {"total": 0, "by_operation": {}})
        elif route in (("POST", "/_emulator/inbound"), ("POST", "/_emulator/receipts")):
            await self._arrival(route[1], receive, send)
        elif route == ("GET", "/_emulator/deliveries"):
            log = [d.public() for d in self.deliverer.log]
            await _respond(send, 200, {"pending": self.deliverer.pending(), "deliveries": log})
        elif route == ("DELETE", "/_emulator/deliveries"):
            self.deliverer.log.clear()
            await _respond(send, 200, {"pending": 0, "deliveries": []})
        else:
            await _respond(send, 404, INVALID_ENDPOINT.body())


    async def _arrival(self, path: str, receive: Receive, send: Send) -> None:
        """POST /_emulator/inbound or /_emulator/receipts: a message arrives (events.py)."""
        try:
            body = orjson.loads(await _read_body(receive) or b"{}")
            now = int(time.time())
            if path.endswith("/inbound"):
                row, deliveries = events.admin_inbound(self.store, self.store.rng, body, now)
            else:
                row, deliveries = events.admin_receipt(self.store, body, now)
        except orjson.JSONDecodeError:
            await _respond(send, 400, {"error": "the body is not valid JSON"})
            return
        except events.Refused as err:
            await _respond(send, err.status, {"error": str(err)})
            return
        finally:
            self._send_outbox()
        await _respond(send, 200, {"data": row, "deliveries": [d.id for d in deliveries]})


async def _hang_up(send: Send) -> None:
    """Start a response that promises more bytes than it will ever send, then drop the connection."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")]})
    await send({"type": "http.response.body", "body": b'{"http_code":200,', "more_body": True})
    raise _Dropped


def _invalid(op: spec.Operation, errors: dict[str, str]) -> ApiError:
    """The 400 for a request that fails validation: the operation's documented error body where the
    spec gives one (default senders: ``default_sender_error`` with field/reason ``details``)."""
    if spec.error_schema_name(op, 400) == "default_sender_error":
        details = [{"field": field, "reason": reason} for field, reason in errors.items()]
        return ApiError(400, "Failed to process default sender", extra={"details": details})
    return ApiError(400, "Invalid input.", errors)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
    payload = b"" if status == 204 else orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if extra:
        headers.extend((k.encode(), v.encode()) for k, v in extra.items())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _basic_credentials(scope: Scope) -> tuple[str, str]:
    raw = _header(scope, b"authorization") or ""
    scheme, _, encoded = raw.partition(" ")
    if scheme.lower() != "basic":
        raise UNAUTHORIZED
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise UNAUTHORIZED from None
    username, sep, key = decoded.partition(":")
    if not sep:
        raise UNAUTHORIZED
    return username, key


def _parse_query(raw: bytes) -> dict[str, str]:
    """Query parameters; a repeated name (``filter[status][]``) gets its values comma-joined."""
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query and name.endswith("[]") else value
    return query


def _parse_json(raw: bytes, scope: Scope) -> Any:
    if not raw.strip():
        return None
    content_type = _header(scope, b"content-type") or ""
    if content_type.startswith("multipart/"):
        return None  # uploads: the file itself is not inspected
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "Invalid input.", {"body": "The request body is not valid JSON."}) from None


def _base_url(scope: Scope) -> str:
    host = _header(scope, b"host")
    if host is None:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}/v3"

