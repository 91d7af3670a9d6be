"""Rule: answer ``SELECT count(*) FROM t [WHERE exact filters]`` from the paginator's ``total``."""

from __future__ import annotations

from sqlglot import exp

from .plan import Scan


def count_star(statement: exp.Expression, scans: dict[str, Scan]) -> str | None:
    """Switch the scan to count mode and return the output column name, or None.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> from clicksend_sql.planner.plan import Scan
    >>> t = load_catalog().table("SMSHistory")
    >>> scans = {"smshistory": Scan(table=t, view="v", endpoint=t.list, exact=True)}
    >>> count_star(sqlglot.parse_one("SELECT count(*) AS n FROM SMSHistory"), scans), scans["smshistory"].mode
    ('n', 'count')
    """
    if not isinstance(statement, exp.Select) or len(scans) != 1 or len(statement.expressions) != 1:
        return None
    if any(statement.args.get(k) for k in ("joins", "group", "having", "distinct", "qualify", "order", "limit", "offset", "with_")):
        return None
    projection = statement.expressions[0]
    count = projection.this if isinstance(projection, exp.Alias) else projection
    if not isinstance(count, exp.Count) or not isinstance(count.this, exp.Star):
        return None
    scan = next(iter(scans.values()))
    if scan.mode != "list" or not scan.exact or scan.endpoint is None or scan.endpoint.shape != "paginator":
        return None
    scan.mode = "count"
    return projection.alias if isinstance(projection, exp.Alias) else "count_star()"
