"""ClickSend's response envelope and the error replies the emulator can give.

Handlers return data (wrapped here) or raise :class:`ApiError`; the app turns both into the
``{http_code, response_code, response_msg, data}`` body ClickSend uses (NOTES.md §2).
"""

from __future__ import annotations

from typing import Any

RESPONSE_CODES = {
    200: "SUCCESS",
    201: "CREATED",
    204: "NO_CONTENT",
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "HTTP_TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
}


def envelope(status: int, message: str, data: Any, code: str | int | None = None) -> dict[str, Any]:
    """The standard wrapper; ``http_code`` repeats the HTTP status, ``code`` overrides the
    ``response_code`` that goes with it."""
    return {
        "http_code": status,
        "response_code": RESPONSE_CODES.get(status, "SUCCESS") if code is None else code,
        "response_msg": message,
        "data": data,
    }


class ApiError(Exception):
    """An error reply: raised anywhere in a handler, rendered as an envelope by the app.

    This is the emulator's HTTP-level error, not a Python API error of the package, so it does
    not derive from ClickSendSQLError.
    """

    def __init__(self, status: int, message: str, data: Any = None, headers: dict[str, str] | None = None,
                 code: str | int | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.data = data
        self.headers = headers or {}
        self.code = code
        self.extra = extra or {}  # more top-level keys, e.g. default senders' ``details``

    def body(self) -> dict[str, Any]:
        return envelope(self.status, self.message, self.data, self.code) | self.extra


def bad_request(fields: dict[str, str], message: str = "Invalid input.") -> ApiError:
    """400 with ``data`` mapping each offending field to its message."""
    return ApiError(400, message, fields)


UNAUTHORIZED = ApiError(401, "Authorization failed.")
SUSPENDED = ApiError(403, "Your account is suspended. Please contact support for more information.")
NO_PERMISSION = ApiError(
    403, "Resource not found or you don't have the permissions to access this resource."
)
INVALID_ENDPOINT = ApiError(404, "Invalid endpoint. Please try again.")
TOO_MANY = "Too many attempts."
