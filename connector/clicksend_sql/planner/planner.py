"""The planner: a pipeline of rules from a parsed statement to a :class:`Plan`.

Like sqlglot's optimizer, each rule is its own module with one public function; this module
only composes them. The statement DuckDB runs is the user's statement with each ClickSend table
reference pointed at the view its rows are registered under — predicates are never removed, so
DuckDB re-applies every filter and the answer does not depend on how much was pushed down.
"""

from __future__ import annotations

from sqlglot import exp

from ..catalog import Catalog
from .count_star import count_star
from .extract_conditions import extract_conditions
from .find_tables import find_tables
from .plan import Plan, Session
from .pushdown_filters import pushdown_filters
from .pushdown_limit import pushdown_limit

VIEW_PREFIX = "__clicksend_"


def view_name(table: str) -> str:
    """The DuckDB view a table's rows are registered under while a statement runs.

    >>> view_name("SMSHistory")
    '__clicksend_smshistory'
    """
    return f"{VIEW_PREFIX}{table.lower()}"


def plan(statement: exp.Expression, catalog: Catalog, session: Session) -> Plan:
    """Plan a statement: find tables, extract conditions, push filters, LIMIT and count(*).

    Like sqlglot's ``optimize``, it works on a copy: the caller's tree is left as it was.
    """
    statement = statement.copy()
    references = find_tables(statement, catalog)
    conditions = extract_conditions(statement, references, catalog, session)
    scans = {
        name: pushdown_filters(catalog.table(name), conditions[name], catalog, view_name(name), pushdown=session.pushdown)
        for name in references
    }
    pushdown_limit(statement, scans, session)
    result = Plan(statement=statement, scans=scans, count_alias=count_star(statement, scans))
    result.duckdb_sql = _point_at_views(statement, references).sql("duckdb")
    return result


def _point_at_views(statement: exp.Expression, references: dict[str, list[exp.Table]]) -> exp.Expression:
    """Point each reference at its view, keeping the name the query uses for it as alias and every
    modifier (TABLESAMPLE, PIVOT, column aliases, ...) it carries.

    Only FROM and JOIN items take an alias; ``DESCRIBE t`` and ``COPY t TO ...`` do not.
    """
    for name, nodes in references.items():
        for node in nodes:
            if not node.alias and isinstance(node.parent, (exp.From, exp.Join)):
                node.set("alias", exp.TableAlias(this=exp.to_identifier(node.name, quoted=node.this.quoted)))
            node.set("this", exp.to_identifier(view_name(name)))
            node.set("db", None)
            node.set("catalog", None)
    return statement
