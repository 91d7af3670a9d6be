"""Rule: answer ``SELECT count(*) FROM t [WHERE exact filters]`` from the paginator's ``total``."""

from __future__ import annotations

from sqlglot import exp

from .direct_read import direct_read
from .plan import Scan


def count_star(statement: exp.Expr, scans: dict[str, Scan]) -> str | None:
    """Switch the scan to count mode and return the output column name, or None.

    Only when the statement reads the table directly (:func:`direct_read`): a DISTINCT, GROUP BY,
    LIMIT or unpushed WHERE between the table and the count would make ``total`` wrong. A table
    reached through its parent rows (all of them, or those among a key list) is counted from them
    when the catalog names the parent's count column (``ContactLists.ContactsCount``), else from
    each stream's ``total``.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("SMSHistory")
    >>> scans = {"smshistory": Scan(table=t, view="v", endpoint=t.list, exact=True)}
    >>> count_star(sqlglot.parse_one("SELECT count(*) AS n FROM SMSHistory"), scans), scans["smshistory"].mode
    ('n', 'count')
    """
    scan = direct_read(statement, scans)
    if scan is None or len(statement.expressions) != 1 or scan.endpoint is None or scan.endpoint.shape != "paginator":
        return None
    link = scan.table.parent  # a parent row's count is of all its child rows: only its key may be filtered on
    if scan.fan_out and (scan.params or any(link is None or c.column.name != link.column for c in scan.pushed)):
        return None
    if any(statement.args.get(k) for k in ("order", "limit", "offset")):
        return None
    projection = statement.expressions[0]
    count = projection.this if isinstance(projection, exp.Alias) else projection
    if not isinstance(count, exp.Count) or not isinstance(count.this, exp.Star):
        return None
    scan.mode = "count"
    return projection.alias if isinstance(projection, exp.Alias) else "count_star()"
