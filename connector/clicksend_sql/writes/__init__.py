"""Writes: INSERT / UPDATE / DELETE on ClickSend tables, a small pipeline like ``planner/``.

    statement ──plan_rows──▶ input rows (Arrow; UPDATE/DELETE find theirs through SELECT)
              ──validate_rows──▶ every row checked before anything is sent
              ──match_rows──▶ (upserts) new rows and updates of the rows they match
              ──build_requests──▶ one request per row, or batches where the API takes lists
              ──send_requests──▶ concurrently under the client's limits; sends never retried
              ──reconcile──▶ sends whose answer was lost, settled from the history by CustomString
              ──outcomes──▶ one outcome row per input row (``returning``: the written rows instead)

Each step is its own module with one public function named after it.
"""

from .build_requests import WriteRequest, build_requests
from .execute_write import Limits, Services, execute_write
from .match_rows import match_rows
from .outcomes import OUTCOME_SCHEMA, merge, outcomes
from .plan_rows import WriteRows, plan_rows
from .send_requests import RequestOutcome, send_requests
from .validate_rows import validate_rows

__all__ = [
    "OUTCOME_SCHEMA", "Limits", "RequestOutcome", "Services", "WriteRequest", "WriteRows", "build_requests",
    "execute_write", "match_rows", "merge", "outcomes", "plan_rows",
    "send_requests", "validate_rows",
]
