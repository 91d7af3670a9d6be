"""Rule: find the ClickSend table references of a statement."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from ..catalog import Catalog
from ..system_tables import DATABASE_NAME, SCHEMA_NAME
from .plan import ANALYSIS_ERRORS

# The (catalog, schema) qualifiers under which DuckDB finds a ClickSend table: bare,
# ``clicksend.t``, ``clicksend_sql.t`` (a catalog, its schema from the search path) and
# ``clicksend_sql.clicksend.t``. DuckDB compares names case-insensitively, quoted or not.
QUALIFIERS = frozenset({("", ""), ("", SCHEMA_NAME), ("", DATABASE_NAME), (DATABASE_NAME, SCHEMA_NAME)})


def find_tables(expression: exp.Expr, catalog: Catalog) -> dict[str, list[exp.Table]]:
    """Group the statement's ClickSend table references by lower-case table name.

    A reference is a name DuckDB resolves to a ClickSend table (bare, or qualified as in
    :data:`QUALIFIERS`) that reads rows (``DESCRIBE t`` does not: DuckDB answers it from the
    declared tables). A name bound by a
    CTE refers to the CTE only where the CTE is in scope (sqlglot's scope analysis decides), so a
    CTE named like a ClickSend table does not hide the table elsewhere in the statement.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> e = sqlglot.parse_one(
    ...     "WITH contacts AS (SELECT 1) SELECT * FROM clicksend.SMSHistory a, smshistory b, contacts, local_t, "
    ...     "clicksend_sql.clicksend.smshistory, main.SMSHistory", read="duckdb")
    >>> {name: len(refs) for name, refs in find_tables(e, load_catalog()).items()}
    {'smshistory': 3}
    >>> e = sqlglot.parse_one("SELECT * FROM (WITH contacts AS (SELECT 1) SELECT * FROM contacts), Contacts")
    >>> {name: len(refs) for name, refs in find_tables(e, load_catalog()).items()}
    {'contacts': 1}
    """
    bound_to_cte = _cte_references(expression)
    found: dict[str, list[exp.Table]] = {}
    for node in expression.find_all(exp.Table):
        if not isinstance(node.this, exp.Identifier) or id(node) in bound_to_cte:
            continue
        if node.find_ancestor(exp.Describe, exp.Show, exp.Pragma):
            continue  # DuckDB answers these from the declared (empty) tables: no rows are read
        if (node.catalog.lower(), node.db.lower()) in QUALIFIERS and catalog.has_table(node.name):
            found.setdefault(node.name.lower(), []).append(node)
    return found


def _cte_references(expression: exp.Expr) -> set[int]:
    """Ids of the table nodes that name a CTE in their scope.

    Statements scope analysis does not cover (DESCRIBE, COPY t, PIVOT t) contain no CTE scopes;
    where it fails, any name a CTE of the statement binds is taken as the CTE (no request is
    better than a wrong one).
    """
    try:
        scopes = list(traverse_scope(expression))
    except ANALYSIS_ERRORS:
        names = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
        return {id(t) for t in expression.find_all(exp.Table) if not t.db and t.name.lower() in names}
    return {
        id(table)
        for scope in scopes
        for table in scope.tables
        if isinstance(source := scope.sources.get(table.alias_or_name), Scope) and source.is_cte
    }
