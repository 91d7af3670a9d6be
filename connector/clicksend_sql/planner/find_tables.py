"""Rule: find the ClickSend table references of a statement."""

from __future__ import annotations

from sqlglot import exp

from ..catalog import Catalog

SCHEMA_NAME = "clicksend"


def find_tables(expression: exp.Expression, catalog: Catalog) -> dict[str, list[exp.Table]]:
    """Group the statement's ClickSend table references by lower-case table name.

    A reference is a bare name or one qualified with the ``clicksend`` schema; names bound by a
    CTE in the statement and table functions are not references.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> e = sqlglot.parse_one(
    ...     "WITH contacts AS (SELECT 1) SELECT * FROM clicksend.SMSHistory a, smshistory b, contacts, local_t",
    ...     read="duckdb")
    >>> {name: len(refs) for name, refs in find_tables(e, load_catalog()).items()}
    {'smshistory': 2}
    """
    cte_names = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    found: dict[str, list[exp.Table]] = {}
    for node in expression.find_all(exp.Table):
        if not isinstance(node.this, exp.Identifier) or node.catalog:
            continue
        name = node.name.lower()
        schema = node.db.lower()
        if schema not in ("", SCHEMA_NAME) or (not schema and name in cte_names):
            continue
        if catalog.has_table(name):
            found.setdefault(name, []).append(node)
    return found
