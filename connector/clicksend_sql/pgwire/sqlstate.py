"""The SQLSTATE an ErrorResponse carries for each of the package's errors.

Clients branch on the code (SQLAlchemy maps 42P01 to NoSuchTableError, psql's scripts check
57014 for a cancel), so the package's typed errors map one to one where PostgreSQL has a code;
a generic SQLError raised from a DuckDB error takes the code of that DuckDB error's class.
"""

from __future__ import annotations

import duckdb

from .. import errors
from ..parameters import ParameterError

SYNTAX_ERROR = "42601"
FEATURE_NOT_SUPPORTED = "0A000"
QUERY_CANCELED = "57014"
PROTOCOL_VIOLATION = "08P01"
INVALID_PASSWORD = "28P01"
IN_FAILED_TRANSACTION = "25P02"
INVALID_PARAMETER_VALUE = "22023"
INTERNAL_ERROR = "XX000"


class PgError(Exception):
    """A failure the server itself finds (a protocol misuse, a statement in a failed transaction),
    with its SQLSTATE."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

_PACKAGE: tuple[tuple[type[BaseException], str], ...] = (  # most specific first
    (errors.SQLSyntaxError, SYNTAX_ERROR),
    (errors.UnknownTableError, "42P01"),  # undefined_table
    (errors.UnknownColumnError, "42703"),  # undefined_column
    (errors.UnknownProcedureError, "42883"),  # undefined_function
    (errors.UnsupportedStatementError, FEATURE_NOT_SUPPORTED),
    (errors.MissingFilterError, FEATURE_NOT_SUPPORTED),
    (errors.LimitError, "54000"),  # program_limit_exceeded
    (ParameterError, INVALID_PARAMETER_VALUE),
    (errors.CanceledError, QUERY_CANCELED),
    (errors.ConnectionClosedError, "08003"),  # connection_does_not_exist
    (errors.LockTimeoutError, "55P03"),  # lock_not_available
    (errors.ForbiddenError, "42501"),  # insufficient_privilege
    (errors.BadRequestError, INVALID_PARAMETER_VALUE),  # ClickSend refused a value
    (errors.APIError, "58000"),  # system_error: outside the database (ClickSend)
    (errors.TransportError, "58000"),
    (errors.ConfigurationError, "58000"),
)
_DUCKDB: tuple[tuple[type[BaseException], str], ...] = (
    (duckdb.InterruptException, QUERY_CANCELED),
    (duckdb.ParserException, SYNTAX_ERROR),
    (duckdb.CatalogException, "42704"),  # undefined_object
    (duckdb.BinderException, "42703"),
    (duckdb.ConversionException, "22P02"),  # invalid_text_representation
    (duckdb.OutOfRangeException, "22003"),  # numeric_value_out_of_range
    (duckdb.ConstraintException, "23000"),  # integrity_constraint_violation
    (duckdb.TransactionException, "25000"),  # invalid_transaction_state
    (duckdb.NotImplementedException, FEATURE_NOT_SUPPORTED),
    (duckdb.InvalidInputException, INVALID_PARAMETER_VALUE),
    (duckdb.PermissionException, "42501"),
    (duckdb.OutOfMemoryException, "53200"),  # out_of_memory
    (duckdb.IOException, "58030"),  # io_error
)


def sqlstate(error: BaseException) -> str:
    """The SQLSTATE for ``error``.

    >>> sqlstate(errors.UnknownTableError("x")), sqlstate(errors.SQLError("y")), sqlstate(KeyError())
    ('42P01', '42000', 'XX000')
    """
    if isinstance(error, PgError):
        return error.code
    for kind, code in _PACKAGE:
        if isinstance(error, kind):
            return code
    if isinstance(error, errors.SQLError):
        cause = error.__cause__
        return next((code for kind, code in _DUCKDB if isinstance(cause, kind)), "42000")
    if isinstance(error, errors.ClickSendSQLError):
        return "58000"
    return INTERNAL_ERROR
