"""The async HTTP layer every SQL statement goes through, one module per concern:

* :mod:`.client`: :class:`ClickSendClient`, its limits and its request counters;
* :mod:`.rate_control`: the pace and the requests in flight, learnt per account from the responses;
* :mod:`.pacing`: how a request waits for its turn (the account's pace, the client's slots);
* :mod:`.responses`: what ClickSend answered (:class:`ApiResponse`, page counts, error envelopes);
* :mod:`.pagination`: a paginator class per envelope shape of a list endpoint;
* :mod:`.retries`: when a failed request is tried again, and how long to wait;
* :mod:`.errors`: a failed request as one of the package's errors.

The names other modules use are re-exported here.
"""

from .client import USER_AGENT, ClickSendClient, RequestStats, statement_counters
from .pagination import PAGE_STYLES
from .rate_control import AUTO, Concurrency, RateLimit
from .responses import ApiResponse, Paginator
from .retries import DEFAULT_DEADLINE, DEFAULT_RETRIES, MAX_RETRY_AFTER, SAFE_METHODS, retry_after_seconds

__all__ = [
    "AUTO",
    "DEFAULT_DEADLINE",
    "DEFAULT_RETRIES",
    "MAX_RETRY_AFTER",
    "PAGE_STYLES",
    "SAFE_METHODS",
    "USER_AGENT",
    "ApiResponse",
    "ClickSendClient",
    "Concurrency",
    "Paginator",
    "RateLimit",
    "RequestStats",
    "statement_counters",
    "retry_after_seconds",
]
