"""Webhook deliveries: the emulator pushes inbound SMS and delivery receipts to URL rules.

ClickSend calls a rule's URL when a message arrives (inbound rules with action ``URL``) or a
delivery report comes in (receipt rules with action ``URL``), and the test endpoints
``POST /sms/inbound`` and ``POST /sms/receipts`` call the URL they are given. The emulator does
the same, in the background on the server's event loop, so the request that made the message
never waits for a webhook:

* the payload is encoded per the rule's ``webhook_type``: ``post`` (the default) as
  ``application/x-www-form-urlencoded`` fields, ``get`` as query parameters, ``json`` as a JSON
  object; blank values stay, as empty strings (``custom_string=``);
* a connection error, a timeout or an answer other than 2xx is retried, ``attempts`` times in
  all, after ``backoff_ms``, then twice that, and so on;
* **only loopback URLs are called** (``http``/``https`` to ``127.0.0.0/8``, ``::1`` or
  ``localhost``). Any other URL is accepted where ClickSend accepts it (rules, test endpoints)
  but its delivery is recorded as ``skipped`` (and the host logged once), never attempted: the emulator does not
  call out of the machine. Proxies from the environment are ignored and redirects not followed,
  for the same reason.

Every delivery is kept (the newest :data:`LOG_SIZE`) for ``GET /_emulator/deliveries``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

from ..config import is_loopback_host

LOG = logging.getLogger("clicksend_sql.emulator")
LOG_SIZE = 1000
WEBHOOK_TYPES = ("post", "get", "json")
USER_AGENT = "clicksend-sql-emulator"


def refusal(url: str) -> str | None:
    """Why the emulator will not call ``url`` (None: it will).

    >>> refusal("http://127.0.0.1:8080/hook") is None, refusal("https://example.com/hook")
    (True, 'not a loopback address: the emulator only calls this machine')
    >>> refusal("poll")
    'not an http(s) URL'
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "not an http(s) URL"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL"
    if not is_loopback_host(host):
        return "not a loopback address: the emulator only calls this machine"
    return None


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def webhook_type(raw: Any) -> str:
    """A rule's ``webhook_type``, ``post`` when unset or unknown (ClickSend's default)."""
    value = str(raw or "").strip().lower()
    return value if value in WEBHOOK_TYPES else "post"


@dataclass
class Delivery:
    """One webhook call (with its retries) of one message to one URL."""

    id: int
    event: str  # "inbound" or "receipt"
    message_id: str
    url: str
    webhook_type: str
    payload: dict[str, Any]  # field -> value, already in the JSON types the json webhook sends
    rule_id: int | None = None  # None: the URL a test endpoint was given
    status: str = "pending"  # pending, delivered, failed, skipped
    reason: str = ""
    tries: list[dict[str, Any]] = field(default_factory=list)  # per attempt: status_code or error

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "event": self.event, "message_id": self.message_id, "rule_id": self.rule_id,
            "url": self.url, "webhook_type": self.webhook_type, "method": self.method, "status": self.status,
            "reason": self.reason, "attempts": len(self.tries), "tries": list(self.tries), "payload": self.payload,
        }

    @property
    def method(self) -> str:
        return "GET" if self.webhook_type == "get" else "POST"

    def request(self) -> tuple[str, str, dict[str, str], bytes]:
        """(method, url, headers, body) of this delivery's HTTP request."""
        headers = {"user-agent": USER_AGENT}
        if self.webhook_type == "json":
            headers["content-type"] = "application/json"
            return "POST", self.url, headers, orjson.dumps(self.payload)
        fields = urlencode([(k, form_value(v)) for k, v in self.payload.items()])
        if self.webhook_type == "get":
            parts = urlsplit(self.url)
            url = self.url.split("#", 1)[0]
            return "GET", url + ("&" if parts.query else "?") + fields, headers, b""
        headers["content-type"] = "application/x-www-form-urlencoded"
        return "POST", self.url, headers, fields.encode()


def form_value(value: Any) -> str:
    """A payload value as a form or query field: None and blanks as empty strings."""
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Policy:
    """How hard a delivery tries: ``attempts`` in all, waiting ``backoff_ms`` x 2^n between them."""

    attempts: int = 4
    backoff_ms: float = 200.0
    timeout_s: float = 5.0


class Deliverer:
    """Runs deliveries as tasks on the server's event loop and keeps their log."""

    def __init__(self, policy: Policy = Policy()) -> None:
        self.policy = policy
        self.log: deque[Delivery] = deque(maxlen=LOG_SIZE)
        self._tasks: set[asyncio.Task[None]] = set()
        self._warned: set[str] = set()  # refused hosts already logged (one line each, not one per message)

    def start(self, delivery: Delivery) -> None:
        """Record ``delivery`` and send it in the background (skipped at once if refused)."""
        self.log.append(delivery)
        why = refusal(delivery.url)
        if why is not None:
            delivery.status, delivery.reason = "skipped", why
            host = _host(delivery.url)
            if host not in self._warned:
                self._warned.add(host)
                LOG.warning("emulator: webhooks to %r are skipped: %s (GET /_emulator/deliveries lists them)",
                            delivery.url, why)
            return
        task = asyncio.get_running_loop().create_task(self._run(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def pending(self) -> int:
        return sum(1 for d in self.log if d.status == "pending")

    async def _run(self, delivery: Delivery) -> None:
        method, url, headers, body = delivery.request()
        policy = self.policy
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False, verify=False,
                                     timeout=policy.timeout_s) as client:
            for attempt in range(max(1, policy.attempts)):
                if attempt:
                    await asyncio.sleep(policy.backoff_ms / 1000 * 2 ** (attempt - 1))
                try:
                    response = await client.request(method, url, headers=headers, content=body or None)
                except httpx.HTTPError as err:
                    delivery.tries.append({"at": time.time(), "error": type(err).__name__})
                    continue
                delivery.tries.append({"at": time.time(), "status_code": response.status_code})
                if 200 <= response.status_code < 300:
                    delivery.status = "delivered"
                    return
        delivery.status = "failed"
        last = delivery.tries[-1] if delivery.tries else {}
        delivery.reason = f"gave up after {len(delivery.tries)} attempts (last: {last.get('status_code') or last.get('error')})"
        LOG.warning("emulator: %s webhook to %r failed: %s", delivery.event, url, delivery.reason)
