"""A failed request as one of the package's errors, naming the request and never the key.

Messages are built from the request line and the error envelope only, with the key masked in
what the server said (:mod:`clicksend_sql.redaction`), so neither the key nor the
``Authorization`` header can appear in them.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import httpx

from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ..redaction import redact_bytes, redact_text
from .responses import describe, envelope, field_errors
from .retries import _TRANSIENT, _retriable, _Tries


def status_error(
    method: str,
    path: str,
    response: httpx.Response,
    tries: _Tries,
    *,
    retried: bool,
    username: str,
    secrets: Collection[str],
) -> APIError:
    """The typed error for a final non-2xx ``response`` to ``method path``; ``retried`` says whether
    a 5xx was allowed to be repeated, ``username`` is named when the credentials are refused.

    >>> body = b'{"response_code":"BAD_REQUEST","response_msg":"Bad K-1","data":{"to":["required"]}}'
    >>> error = status_error("POST", "/sms/send", httpx.Response(400, content=body), _Tries(8, 120.0),
    ...                      retried=False, username="u", secrets=("K-1",))
    >>> type(error).__name__, str(error)
    ('BadRequestError', 'ClickSend rejected POST /sms/send: Bad **** (to: required)')
    """
    status = response.status_code
    answer = envelope(redact_bytes(response.content, secrets))
    code = answer.get("response_code")
    msg = str(answer.get("response_msg") or response.reason_phrase or "no message")
    where = f"{method} {path}"
    data: Any = answer.get("data")
    error: type[APIError]
    if status == 401:
        error, text = AuthenticationError, (
            f"ClickSend refused the credentials of user {username!r} on {where} ({msg}). "
            "The password is the API key from the dashboard (Developers > API Credentials), not the "
            "dashboard login password; check the username and API key you configured."
        )
    elif status == 403:
        error, text = ForbiddenError, f"ClickSend refused {where}: {msg}"
    elif status == 404:
        error, text = NotFoundError, f"{where} was not found: {msg}"
    elif status in (400, 422):
        data = field_errors(answer)
        details = "; ".join(f"{k}: {describe(v)}" for k, v in (data or {}).items())
        error, text = BadRequestError, f"ClickSend rejected {where}: {msg}" + (f" ({details})" if details else "")
    elif status == 429:
        error, text = RateLimitError, (
            f"ClickSend still rate-limited {where} {tries.summary()} ({msg}); "
            "lower rate_limit, raise deadline= or try again later."
        )
    elif status >= 500:
        error, text = ServerError, f"ClickSend failed on {where} with HTTP {status} ({msg})" + (
            f" {tries.summary()}" if retried
            else "; not retried because the request may already have been acted on"
        )
    else:
        error, text = APIError, f"ClickSend answered {where} with HTTP {status} ({msg})"
    return error(
        redact_text(text, secrets),
        status=status,
        response_code=code if isinstance(code, str) else None,
        method=method,
        path=path,
        data=data,
    )


def transport_error(
    where: str, base_url: str, exc: Exception, tries: _Tries, *, retried: bool, secrets: Collection[str]
) -> TransportError:
    """The error for a request to ``where`` (``GET /path``) that httpx could not complete, saying
    whether it was retried (``retried``: the request was safe to repeat) and why not.

    >>> str(transport_error("POST /sms/send", "http://h/v3", httpx.ReadTimeout("timed out"), _Tries(8, 120.0),
    ...                     retried=False, secrets=()))
    'POST /sms/send to http://h/v3 failed (not retried: the request may already have been acted on): ReadTimeout: timed out'
    """
    if isinstance(exc, httpx.ConnectError):
        return TransportError(redact_text(
            f"Could not connect to {base_url} ({where}, {tries.counted}: {type(exc).__name__}: {exc or 'no detail'}). Check the API address "
            "(--base-url, CLICKSEND_BASE_URL or the profile's base_url; by default https://rest.clicksend.com/v3), "
            "that the server is up, and any proxy or firewall between.", secrets
        ))
    if _retriable(exc, retried):
        note = f" {tries.summary()}"
    elif isinstance(exc, _TRANSIENT):
        note = " (not retried: the request may already have been acted on)"
    else:
        note = ""
    return TransportError(redact_text(
        f"{where} to {base_url} failed{note}: {type(exc).__name__}: {exc or 'no detail'}", secrets
    ))
