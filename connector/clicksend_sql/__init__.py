"""clicksend-sql: read and change a ClickSend account with SQL.

>>> import clicksend_sql
>>> sorted(n for n in clicksend_sql.__all__ if n[0].islower())
['connect']
"""

__version__ = "0.1.0"

from .connection import Connection, connect  # noqa: E402  (http.py reads __version__)
from .errors import ClickSendSQLError
from .result import Result, StatementStats

__all__ = ["ClickSendSQLError", "Connection", "Result", "StatementStats", "connect"]
