"""The package's exceptions: one base class, one subclass per kind of failure.

Every error a user can cause (bad SQL, bad credentials, a refused request) surfaces as a
:class:`ClickSendSQLError`, never as a raw sqlglot, DuckDB or httpx exception. Messages name
the table, column, row or parameter at fault and what would be accepted.

PEP 249's classes (:class:`Error`, :class:`ProgrammingError`, :class:`OperationalError`...) sit
under the base class and every other error sits under one of them, so code written for any
DB-API driver (SQLAlchemy, pandas) classifies ours: a syntax error is a ProgrammingError, an
unreachable server an OperationalError, a value ClickSend refused a DataError.

>>> issubclass(SQLSyntaxError, ProgrammingError), issubclass(TransportError, OperationalError)
(True, True)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class ClickSendSQLError(Exception):
    """Base class of every error raised by clicksend-sql."""


# --- PEP 249 (DB-API 2.0) categories ---------------------------------------------------------


class Warning(ClickSendSQLError):  # noqa: A001 - PEP 249's name
    """PEP 249's Warning; nothing raises it today."""


class Error(ClickSendSQLError):
    """PEP 249's Error: every error below is one."""


class InterfaceError(Error):
    """The interface was misused rather than the database (a closed connection)."""


class DatabaseError(Error):
    """Errors of the statement, the account or the server."""


class DataError(DatabaseError):
    """A value could not be converted or was refused (a bad cast, a field ClickSend rejected)."""


class OperationalError(DatabaseError):
    """Not the statement's fault: the server is unreachable, credentials were refused, a limit was hit."""


class IntegrityError(DatabaseError):
    """A constraint of a local DuckDB table was violated."""


class InternalError(DatabaseError):
    """The package's own declarations are inconsistent."""


class ProgrammingError(DatabaseError):
    """The statement is wrong: bad syntax, an unknown table or column, a missing filter."""


class NotSupportedError(DatabaseError):
    """The statement is valid SQL but not something this table or ClickSend can do."""


# --- configuration -------------------------------------------------------------------------


class ConfigurationError(OperationalError):
    """Missing or invalid credentials, profile, or base URL."""


# --- HTTP / API ----------------------------------------------------------------------------


class APIError(DatabaseError):
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


class AuthenticationError(APIError, OperationalError):
    """401: the username or API key was refused."""


class ForbiddenError(APIError, OperationalError):
    """403: the account may not do this (suspended, no permission on the resource)."""


class NotFoundError(APIError, ProgrammingError):
    """404: the resource or endpoint does not exist."""


class BadRequestError(APIError, DataError):
    """400: ClickSend rejected the input; ``field_errors`` maps field to message."""

    @property
    def field_errors(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.data.items()} if isinstance(self.data, dict) else {}


class RateLimitError(APIError, OperationalError):
    """429 that persisted until the retries or the deadline ran out."""


class ServerError(APIError, OperationalError):
    """5xx that persisted after the allowed retries (or was not retried: a send)."""


class InvalidResponseError(APIError, OperationalError):
    """A successful status with a body that is not what ClickSend sends: not JSON (a proxy's
    HTML page, an empty or truncated body), or JSON of the wrong shape for the endpoint."""


class TransportError(OperationalError):
    """The connection failed (refused, reset, timed out) and could not be retried."""


class DeadlineError(TransportError):
    """A request did not complete within its deadline, retries and waits included."""


class InvalidRequestError(DataError):
    """A request could not be built: a value that JSON cannot carry."""


# --- SQL -----------------------------------------------------------------------------------


class SQLError(ProgrammingError):
    """The statement is not valid SQL or cannot be run."""


class SQLSyntaxError(SQLError):
    """The text does not parse; the message gives line and column."""


class UnknownTableError(SQLError):
    """A table name that is neither a ClickSend table nor a local one."""


class UnknownProcedureError(SQLError):
    """A CALL of a name that is neither a ClickSend procedure nor a DuckDB table function."""


class UnknownColumnError(SQLError):
    """A column that the table does not have."""


class UnsupportedStatementError(NotSupportedError, SQLError):
    """The statement kind is not supported on that table (e.g. DELETE on SMSHistory)."""


class LimitError(SQLError):
    """A statement or call over the connection's ``max_messages`` or ``max_cost``; nothing was sent."""


class CanceledError(OperationalError):
    """The statement was canceled from another thread (``Connection.interrupt``) before it finished."""


class ConnectionClosedError(InterfaceError):
    """A connection (or cursor) used after ``close()``."""


class LockTimeoutError(OperationalError):
    """Another statement on this machine held the account's write lock too long; nothing was sent."""


class SQLDataError(DataError, SQLError):
    """DuckDB could not compute a value (a failed cast, an overflow, a division by zero)."""


class SQLConstraintError(IntegrityError, SQLError):
    """DuckDB refused a change to a local table (a key or NOT NULL constraint)."""


class SQLOperationalError(OperationalError, SQLError):
    """DuckDB could not run the statement for reasons outside it (a file, memory, a transaction conflict)."""


class MissingFilterError(SQLError):
    """A table needs a value for a column in WHERE (e.g. AccountUsage needs Year and Month)."""


class CatalogError(InternalError):
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
