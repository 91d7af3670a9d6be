"""Rule: push LIMIT (and a sortable ORDER BY) to the API when that is provably safe."""

from __future__ import annotations

from sqlglot import exp

from .plan import Scan

_SORTABLE = ("BIGINT", "INTEGER", "DOUBLE", "TIMESTAMPTZ", "DATE")


def pushdown_limit(statement: exp.Expression, scans: dict[str, Scan]) -> None:
    """Set ``max_rows`` on the scan of a single-table SELECT whose filters are all exact.

    Safe means: one table and no joins, subqueries, DISTINCT, GROUP BY, aggregates or windows;
    every predicate pushed exactly; any ORDER BY is one numeric/time column the API sorts by.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> from clicksend_sql.planner.plan import Scan
    >>> t = load_catalog().table("SMSHistory")
    >>> scans = {"smshistory": Scan(table=t, view="v", endpoint=t.list, exact=True)}
    >>> pushdown_limit(sqlglot.parse_one("SELECT * FROM SMSHistory ORDER BY Date DESC LIMIT 5 OFFSET 2"), scans)
    >>> scans["smshistory"].max_rows, scans["smshistory"].params
    (7, {'order_by': 'date:desc'})
    """
    if not isinstance(statement, exp.Select) or len(scans) != 1:
        return
    scan = next(iter(scans.values()))
    limit = _integer(statement.args.get("limit"))
    offset = _integer(statement.args.get("offset")) if statement.args.get("offset") else 0
    if limit is None or offset is None or not _simple(statement) or not _streamable(scan):
        return
    order = statement.args.get("order")
    if order is not None:
        sort = _api_sort(order, scan)
        if sort is None:
            return
        assert scan.table.order_by is not None
        scan.params[scan.table.order_by.param] = sort
        scan.order = sort
    scan.max_rows = limit + offset


def _integer(clause: exp.Expression | None) -> int | None:
    node = clause.expression if isinstance(clause, (exp.Limit, exp.Offset)) else None
    return int(node.name) if isinstance(node, exp.Literal) and node.is_int else None


def _simple(select: exp.Select) -> bool:
    if any(select.args.get(k) for k in ("joins", "group", "having", "distinct", "qualify", "with_", "laterals")):
        return False
    if len(list(select.find_all(exp.Table))) != 1:
        return False
    return not any(select.find_all(exp.AggFunc, exp.Window, exp.Subquery, exp.Unnest))


def _streamable(scan: Scan) -> bool:
    return scan.mode == "list" and scan.exact and not scan.fan_out and len(scan.streams) == 1


def _api_sort(order: exp.Order, scan: Scan) -> str | None:
    keys = order.expressions
    if len(keys) != 1 or not isinstance(keys[0].this, exp.Column) or scan.table.order_by is None:
        return None
    name = keys[0].this.name.lower()
    column = next((c for c in scan.table.columns if c.name.lower() == name), None)
    api_field = next((f for col, f in scan.table.order_by.fields.items() if col.lower() == name), None)
    if column is None or api_field is None or column.type not in _SORTABLE:
        return None
    return f"{api_field}:{'desc' if keys[0].args.get('desc') else 'asc'}"
