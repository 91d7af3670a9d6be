"""Planning: SQL statement -> per-table scans (requests) + the SQL DuckDB runs."""

from .plan import Condition, Plan, Reference, Scan, Session
from .planner import VIEW_PREFIX, plan, view_name

__all__ = ["Condition", "Plan", "Reference", "Scan", "Session", "VIEW_PREFIX", "plan", "view_name"]
