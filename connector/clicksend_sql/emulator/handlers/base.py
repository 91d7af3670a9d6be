"""What a stateful handler receives and returns, and the table of handlers by route."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..envelope import bad_request
from ..state import Principal, Store


@dataclass
class Reply:
    """A success whose message or status differs from the operation's defaults."""

    data: Any
    message: str | None = None
    status: int | None = None


@dataclass
class Ctx:
    """One request as a handler sees it."""

    store: Store
    principal: Principal | None
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    base_url: str  # scheme://host/v3
    path: str  # the request path, e.g. /v3/lists/12/contacts
    response_msg: str
    rng: random.Random
    now: int = field(default_factory=lambda: int(time.time()))

    @property
    def url(self) -> str:
        """This request's URL without the query (paginator links are built on it)."""
        return self.base_url + self.path.removeprefix("/v3")

    def obj(self) -> dict[str, Any]:
        """The JSON body as an object; anything else is a 400."""
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise bad_request({"body": "The request body must be a JSON object."})
        return self.body

    def msg(self, **ids: object) -> str:
        """The operation's message with example ids ("List #442") replaced by the real ones."""
        text = self.response_msg
        for value in ids.values():
            text = re.sub(r"#\d+", f"#\x00{value}", text, count=1)
        return text.replace("#\x00", "#")


Handler = Callable[[Ctx], Any]

ROUTES: dict[tuple[str, str], Handler] = {}
# Checks the real API makes before it validates the body (a campaign's list is looked up first).
PRECHECKS: dict[tuple[str, str], Handler] = {}


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register a stateful handler for an operation (v3-relative template)."""

    def register(fn: Handler) -> Handler:
        ROUTES[(method, path.rstrip("/"))] = fn
        return fn

    return register


def precheck(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register a check that runs before request validation (it raises ApiError or returns)."""

    def register(fn: Handler) -> Handler:
        PRECHECKS[(method, path.rstrip("/"))] = fn
        return fn

    return register
