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
from .find_tables import QUALIFIERS, find_tables
from .key_list_cost import key_list_cost
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


def plan(statement: exp.Expr, catalog: Catalog, session: Session) -> Plan:
    """Plan a statement: find tables, extract conditions, push filters (a long key list through the
    parent's listing), LIMIT and count(*).

    Like sqlglot's ``optimize``, it works on a copy: the caller's tree is left as it was.
    """
    statement = statement.copy()
    references = find_tables(statement, catalog)
    conditions = extract_conditions(statement, references, catalog, session)
    scans = {
        name: pushdown_filters(catalog.table(name), conditions[name], catalog, view_name(name), pushdown=session.pushdown)
        for name in references
    }
    for scan in scans.values():
        key_list_cost(scan)
    pushdown_limit(statement, scans, session)
    result = Plan(statement=statement, scans=scans, count_alias=count_star(statement, scans))
    result.duckdb_sql = _point_at_views(statement, references).sql("duckdb")
    return result


def _point_at_views(statement: exp.Expr, references: dict[str, list[exp.Table]]) -> exp.Expr:
    """Point each reference at its view, keeping the name the query uses for it as alias and every
    modifier (TABLESAMPLE, PIVOT, column aliases, ...) it carries.

    Only FROM and JOIN items take an alias; ``DESCRIBE t`` and ``COPY t TO ...`` do not. A column
    qualified with the table's schema or catalog (``clicksend.SMSHistory.Status``) names the
    table by its name then, as DuckDB lets it where the table has no alias of its own.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> e = sqlglot.parse_one("SELECT clicksend_sql.clicksend.SMSHistory.Status FROM clicksend.SMSHistory", read="duckdb")
    >>> _point_at_views(e, find_tables(e, load_catalog())).sql("duckdb")
    'SELECT SMSHistory.Status FROM __clicksend_smshistory AS SMSHistory'
    """
    unaliased = {name for name, nodes in references.items() for node in nodes if not node.alias}
    for column in statement.find_all(exp.Column):
        parts = (column.args.get("catalog"), column.args.get("db"))
        qualifier = tuple(p.name.lower() if isinstance(p, exp.Identifier) else "" for p in parts)
        if column.table.lower() in unaliased and qualifier in QUALIFIERS - {("", "")}:
            column.set("catalog", None)
            column.set("db", None)
    for name, nodes in references.items():
        for node in nodes:
            if not node.alias and isinstance(node.parent, (exp.From, exp.Join)):
                node.set("alias", exp.TableAlias(this=exp.to_identifier(node.name, quoted=node.this.quoted)))
            node.set("this", exp.to_identifier(view_name(name)))
            node.set("db", None)
            node.set("catalog", None)
    return statement
