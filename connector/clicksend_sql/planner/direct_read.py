"""Rule helper: whether a SELECT reads one ClickSend table with nothing between it and the answer."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from .plan import ANALYSIS_ERRORS, Scan

# Clauses that choose, merge or multiply rows between the table and the SELECT's output.
_ROW_CHANGING = ("joins", "laterals", "group", "having", "qualify", "distinct", "sample", "windows", "connect", "prewhere")


def direct_read(statement: exp.Expr, scans: dict[str, Scan], *, exact: bool = True) -> Scan | None:
    """The scan when ``statement`` is one SELECT whose rows are exactly its table's rows, in one
    scope, filtered only by predicates the scan pushed exactly: the only case in which the API may
    answer count(*), LIMIT or ORDER BY on DuckDB's behalf.

    With ``exact=False`` the filters may also be conditions the executor checks on the rows as
    they arrive (:attr:`Scan.checks`): enough for a LIMIT, which only needs to know when to stop.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("SMSHistory")
    >>> scans = {"smshistory": Scan(table=t, view="v", endpoint=t.list, exact=True)}
    >>> direct_read(sqlglot.parse_one("SELECT * FROM SMSHistory LIMIT 5"), scans) is scans["smshistory"]
    True
    >>> direct_read(sqlglot.parse_one("SELECT count(*) FROM (SELECT DISTINCT Status FROM SMSHistory)"), scans)
    """
    if not isinstance(statement, exp.Select) or len(scans) != 1 or statement.args.get("with_"):
        return None
    scan = next(iter(scans.values()))
    source = statement.args.get("from_") or statement.args.get("from")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table) or table.name.lower() != scan.table.name.lower():
        return None
    if any(statement.args.get(k) for k in _ROW_CHANGING) or any(table.args.get(k) for k in ("sample", "pivots", "joins")):
        return None
    # a subquery anywhere may read or change rows, unless it is a local scalar a condition was evaluated from
    evaluated = sum(c.subqueries for c in (*scan.pushed, *scan.checks))
    try:
        if len(traverse_scope(statement)) != 1 + evaluated:
            return None
    except ANALYSIS_ERRORS:  # not analysable: not provably direct
        return None
    if any(statement.find_all(exp.Window, *exp.SET_RETURNING_FUNCTIONS)) or len(list(statement.find_all(exp.Subquery))) != evaluated:
        return None
    if scan.mode != "list" or scan.held or scan.endpoint is None or not (scan.exact or (scan.complete and not exact)):
        return None
    return scan
