"""clicksend-sql: read and change a ClickSend account with SQL.

DuckDB and Arrow load on first use of :func:`connect`, :class:`Connection` or :class:`Result`
(dlt on first use of :func:`replicate`, :func:`sync` or :func:`dlt_source`), so the command line starts quickly
(``clicksend-sql --help`` loads none of them).

>>> import clicksend_sql
>>> sorted(n for n in clicksend_sql.__all__ if n[0].islower())
['connect', 'dlt_source', 'replicate', 'sync']
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import ClickSendSQLError  # noqa: E402  (http/client.py reads __version__)

if TYPE_CHECKING:
    from .connection import Connection, connect
    from .replication import dlt_source, replicate, sync
    from .result import Result, StatementStats

_MODULE_OF = {"Connection": ".connection", "connect": ".connection", "Result": ".result", "StatementStats": ".result",
              "replicate": ".replication", "dlt_source": ".replication", "sync": ".replication"}
__all__ = ["ClickSendSQLError", "Connection", "Result", "StatementStats", "connect", "dlt_source", "replicate", "sync"]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_MODULE_OF[name], __name__), name)
