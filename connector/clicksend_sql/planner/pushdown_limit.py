"""Rule: push LIMIT (and a sortable ORDER BY) to the API when that is provably safe."""

from __future__ import annotations

from sqlglot import exp

from ..errors import SQLError
from .direct_read import direct_read
from .plan import Scan, Session

_SORTABLE = ("BIGINT", "INTEGER", "DOUBLE", "TIMESTAMPTZ", "DATE")


def pushdown_limit(statement: exp.Expr, scans: dict[str, Scan], session: Session) -> None:
    """Set ``max_rows`` on the scan of a SELECT that reads its table directly (:func:`direct_read`).

    The executor then stops once that many rows passing :attr:`Scan.checks` have arrived, over
    every stream in turn (Contacts through its lists). Any ORDER BY must be one numeric/time
    column the API sorts by (declared never NULL, so NULL placement cannot differ), not a
    select-list alias, in the direction DuckDB's ``default_order`` gives it, on a single stream.

    >>> import sqlglot
    >>> from types import SimpleNamespace
    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("SMSHistory")
    >>> scans = {"smshistory": Scan(table=t, view="v", endpoint=t.list, exact=True)}
    >>> session = SimpleNamespace(evaluate=lambda e, t: int(e.name), setting=lambda name: "ASCENDING")
    >>> pushdown_limit(sqlglot.parse_one("SELECT * FROM SMSHistory ORDER BY Date DESC LIMIT 5 OFFSET 2"), scans, session)
    >>> scans["smshistory"].max_rows, scans["smshistory"].params
    (7, {'order_by': 'date:desc'})
    """
    scan = direct_read(statement, scans, exact=False)
    limit_clause = statement.args.get("limit")
    if scan is None or not isinstance(statement, exp.Select) or not isinstance(limit_clause, exp.Limit) \
            or limit_clause.args.get("limit_options"):
        return
    if statement.find(exp.AggFunc):
        return
    limit = _count(limit_clause.expression, session)
    offset_clause = statement.args.get("offset")
    offset = _count(offset_clause.expression, session) if isinstance(offset_clause, exp.Offset) else 0
    if limit is None or offset is None:
        return
    order = statement.args.get("order")
    if order is not None:
        sort = _api_sort(statement, order, scan, session)
        if sort is None:
            return
        assert scan.table.order_by is not None
        scan.params[scan.table.order_by.param] = sort
        scan.order = sort
    scan.max_rows = limit + offset


def _count(node: exp.Expr | None, session: Session) -> int | None:
    """A LIMIT/OFFSET value (a literal or a parameter), or None when it is not a plain count."""
    if node is None:
        return None
    try:
        value = session.evaluate(node, "BIGINT")
    except SQLError:  # DuckDB refuses it, and says so when it runs the statement
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _api_sort(statement: exp.Select, order: exp.Order, scan: Scan, session: Session) -> str | None:
    keys = order.expressions
    if len(keys) != 1 or not isinstance(keys[0].this, exp.Column) or scan.table.order_by is None:
        return None
    if scan.fan_out or len(scan.streams) != 1:  # the API sorts within a stream, not across them
        return None
    name = keys[0].this.name.lower()
    if any(isinstance(p, exp.Alias) and p.alias.lower() == name and p.this.name.lower() != name for p in statement.expressions):
        return None  # ORDER BY names a select-list alias, not the column
    column = next((c for c in scan.table.columns if c.name.lower() == name), None)
    api_field = next((f for col, f in scan.table.order_by.fields.items() if col.lower() == name), None)
    if column is None or api_field is None or column.type not in _SORTABLE:
        return None
    desc = keys[0].args.get("desc")
    if desc is None:  # no ASC/DESC written: DuckDB's default_order decides
        desc = session.setting("default_order").upper().startswith("DESC")
    return f"{api_field}:{'desc' if desc else 'asc'}"
