"""clicksend-sql: read and change a ClickSend account with SQL."""

from .errors import ClickSendSQLError

__all__ = ["ClickSendSQLError"]
__version__ = "0.1.0"
