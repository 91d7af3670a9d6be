"""Step: make the requests concurrently under the client's rate limiter and concurrency cap.

A failure is an outcome of its rows, never a reason to stop the others: each request ends as
``ok`` (with the response), ``error`` (the API refused it, so nothing happened) or ``unknown``
(the connection failed after the request may have been acted on; it is not retried unless the
request is idempotent, so a send is never duplicated). A DELETE answered 404 is ``ok``: the
row the statement read is gone, whether a retry after a lost answer or another writer did it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from ..errors import APIError, ClickSendSQLError, TransportError
from ..http import ApiResponse, ClickSendClient
from .build_requests import WriteRequest

Status = Literal["ok", "error", "unknown"]


@dataclass(frozen=True)
class RequestOutcome:
    request: WriteRequest
    status: Status
    response: ApiResponse | None = None
    error: str | None = None
    gone: bool = False  # a DELETE answered 404: the row was already deleted, which is what was asked


async def send_requests(client: ClickSendClient, requests: list[WriteRequest]) -> list[RequestOutcome]:
    """Every request's outcome, in request order."""
    return list(await asyncio.gather(*(_send(client, r) for r in requests)))


async def _send(client: ClickSendClient, request: WriteRequest) -> RequestOutcome:
    try:
        response = await client.request(request.method, request.path, json=request.body, retry=request.retry)
    except APIError as exc:
        if request.method == "DELETE" and exc.status == 404:  # already gone: an earlier attempt, or another writer
            return RequestOutcome(request, "ok", error=None, gone=True)
        status: Status = "unknown" if exc.status is None or exc.status >= 500 else "error"
        return RequestOutcome(request, status, error=str(exc))
    except TransportError as exc:
        return RequestOutcome(request, "unknown", error=str(exc))
    except ClickSendSQLError as exc:
        return RequestOutcome(request, "unknown", error=str(exc))
    return RequestOutcome(request, "ok", response=response)
