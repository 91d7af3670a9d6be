"""The package's exceptions: one base class, one subclass per kind of failure.

Every error a user can cause (bad SQL, bad credentials, a refused request) surfaces as a
:class:`ClickSendSQLError`, never as a raw sqlglot, DuckDB or httpx exception. Messages name
the table, column, row or parameter at fault and what would be accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class ClickSendSQLError(Exception):
    """Base class of every error raised by clicksend-sql."""


# --- configuration -------------------------------------------------------------------------


class ConfigurationError(ClickSendSQLError):
    """Missing or invalid credentials, profile, or base URL."""


# --- HTTP / API ----------------------------------------------------------------------------


class APIError(ClickSendSQLError):
    """ClickSend answered with an error envelope, or with a body that cannot be read.

    ``status`` is the HTTP status (``None`` when a body is judged after its request, as Arrow
    conversion does), ``response_code`` the envelope's code (``BAD_REQUEST``...), ``data`` the
    envelope's ``data`` (per-field messages on 400), with the API key masked like the message.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        response_code: str | None = None,
        method: str | None = None,
        path: str | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.response_code = response_code
        self.method = method
        self.path = path
        self.data = data


class AuthenticationError(APIError):
    """401: the username or API key was refused."""


class ForbiddenError(APIError):
    """403: the account may not do this (suspended, no permission on the resource)."""


class NotFoundError(APIError):
    """404: the resource or endpoint does not exist."""


class BadRequestError(APIError):
    """400: ClickSend rejected the input; ``field_errors`` maps field to message."""

    @property
    def field_errors(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.data.items()} if isinstance(self.data, dict) else {}


class RateLimitError(APIError):
    """429 that persisted until the retries or the deadline ran out."""


class ServerError(APIError):
    """5xx that persisted after the allowed retries (or was not retried: a send)."""


class InvalidResponseError(APIError):
    """A successful status with a body that is not what ClickSend sends: not JSON (a proxy's
    HTML page, an empty or truncated body), or JSON of the wrong shape for the endpoint."""


class TransportError(ClickSendSQLError):
    """The connection failed (refused, reset, timed out) and could not be retried."""


class DeadlineError(TransportError):
    """A request did not complete within its deadline, retries and waits included."""


class InvalidRequestError(ClickSendSQLError):
    """A request could not be built: a value that JSON cannot carry."""


# --- SQL -----------------------------------------------------------------------------------


class SQLError(ClickSendSQLError):
    """The statement is not valid SQL or cannot be run."""


class SQLSyntaxError(SQLError):
    """The text does not parse; the message gives line and column."""


class UnknownTableError(SQLError):
    """A table name that is neither a ClickSend table nor a local one."""


class UnknownProcedureError(SQLError):
    """A CALL of a name that is neither a ClickSend procedure nor a DuckDB table function."""


class UnknownColumnError(SQLError):
    """A column that the table does not have."""


class UnsupportedStatementError(SQLError):
    """The statement kind is not supported on that table (e.g. DELETE on SMSHistory)."""


class LimitError(SQLError):
    """A statement or call over the connection's ``max_messages`` or ``max_cost``; nothing was sent."""


class ConnectionClosedError(ClickSendSQLError):
    """A connection (or cursor) used after ``close()``."""


class LockTimeoutError(ClickSendSQLError):
    """Another statement on this machine held the account's write lock too long; nothing was sent."""


class MissingFilterError(SQLError):
    """A table needs a value for a column in WHERE (e.g. AccountUsage needs Year and Month)."""


class CatalogError(ClickSendSQLError):
    """A declaration in schema/ or procedures/ is malformed."""


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates most like ``name``, case-insensitively, best first.

    >>> closest("contact", ["Contacts", "ContactLists", "SMSHistory"])
    ['Contacts', 'ContactLists']
    """
    by_lower = {c.lower(): c for c in candidates}
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.5)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ``" Did you mean X?"`` suffix, or ``""`` when nothing is close.

    >>> did_you_mean("SMSHistroy", ["SMSHistory", "MMSHistory"])
    ' Did you mean SMSHistory or MMSHistory?'
    """
    near = closest(name, candidates)
    return f" Did you mean {' or '.join(near)}?" if near else ""
