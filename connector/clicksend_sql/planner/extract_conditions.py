"""Rule: the WHERE / ON conjuncts that restrict each ClickSend table reference on its own.

It runs sqlglot's optimizer (``qualify``, ``pushdown_predicates``, ``normalize``) on a copy of
the statement, then walks every scope. For a ClickSend table in a scope, a conjunct is a
restriction when every column in it belongs to that table and it is null-rejecting
(``=``, ``IN``, ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN`` against constants). Such conjuncts may be
applied before the scope's joins without changing the result, whether they come from WHERE, an
inner join's ON, or the ON of an outer join whose null-supplying side is this table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.normalize import normalize
from sqlglot.optimizer.pushdown_predicates import pushdown_predicates
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from ..catalog import Catalog, Table
from ..errors import SQLError, UnknownColumnError
from .plan import NO_MATCH, Condition, Reference

REF = "clicksend_ref"
Evaluate = Callable[[exp.Expression, str], Any]
_FLIP = {exp.GT: "<", exp.GTE: "<=", exp.LT: ">", exp.LTE: ">=", exp.EQ: "="}
_OPS = {exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=", exp.EQ: "="}


def extract_conditions(
    expression: exp.Expression,
    references: dict[str, list[exp.Table]],
    catalog: Catalog,
    evaluate: Evaluate,
) -> dict[str, list[Reference]]:
    """Per table, one :class:`Reference` per occurrence with its pushable conditions.

    ``evaluate(expr, sql_type)`` turns a constant expression into a Python value of the column's
    type (the executor uses DuckDB, so ``now() - INTERVAL 1 DAY`` works); it returns None when the
    value cannot be pushed, and raises SQLError when it can never match the column's type.

    >>> import sqlglot
    >>> from clicksend_sql.catalog import load_catalog
    >>> from clicksend_sql.planner.find_tables import find_tables
    >>> cat = load_catalog()
    >>> e = sqlglot.parse_one("SELECT * FROM Contacts c WHERE c.ListId IN (1, 2) AND lower(c.Email) = 'x'", read="duckdb")
    >>> ref = extract_conditions(e, find_tables(e, cat), cat, lambda x, t: int(x.name))["contacts"][0]
    >>> [str(c) for c in ref.conditions], ref.leftover
    (['ListId IN (1, 2)'], ["LOWER(email) = 'x'"])
    """
    result: dict[str, list[Reference]] = {name: [] for name in references}
    by_id: dict[int, tuple[str, Reference]] = {}
    for name, nodes in references.items():
        for node in nodes:
            ref = Reference(node=node)
            node.meta[REF] = id(ref)
            by_id[id(ref)] = (name, ref)
            result[name].append(ref)
    try:
        analysed = _optimize(expression.copy(), catalog)
        scopes = traverse_scope(analysed)
    except (SqlglotError, RecursionError, KeyError, ValueError):
        for _, ref in by_id.values():
            ref.leftover.append("(the statement is too complex to analyse; nothing pushed)")
        return result
    finally:
        for nodes in references.values():
            for node in nodes:
                node.meta.pop(REF, None)
    for scope in scopes:
        for alias, (_, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table) and source.meta.get(REF) in by_id:
                name, ref = by_id[source.meta[REF]]
                _restrict(ref, catalog.table(name), alias, scope, evaluate)
    return result


def _optimize(expression: exp.Expression, catalog: Catalog) -> exp.Expression:
    schema = {t.name: {c.name: c.type.replace("TIMESTAMPTZ", "TIMESTAMP") for c in t.columns} for t in catalog.tables.values()}
    try:
        expression = qualify(expression, schema=schema, dialect="duckdb", validate_qualify_columns=False)
    except OptimizeError:
        expression = qualify(expression, dialect="duckdb", validate_qualify_columns=False)
    expression = pushdown_predicates(expression)
    return normalize(expression, dnf=False)


def _candidate_conjuncts(scope: Scope, source: exp.Table) -> list[exp.Expression]:
    select = scope.expression
    if not isinstance(select, exp.Select):
        return []
    conjuncts: list[exp.Expression] = []
    where = select.args.get("where")
    if where:
        conjuncts.extend(where.this.flatten() if isinstance(where.this, exp.And) else [where.this])
    for join in select.args.get("joins") or ():
        on = join.args.get("on")
        side = (join.side or "").upper()
        if on is None or side in ("RIGHT", "FULL") or (side == "LEFT" and join.this is not source):
            continue
        conjuncts.extend(on.flatten() if isinstance(on, exp.And) else [on])
    return conjuncts


def _restrict(ref: Reference, table: Table, alias: str, scope: Scope, evaluate: Evaluate) -> None:
    for conjunct in _candidate_conjuncts(scope, scope.selected_sources[alias][1]):
        columns = list(conjunct.find_all(exp.Column))
        tables = {c.table for c in columns}
        if tables != {alias}:
            continue
        converted = _conditions(conjunct, table, evaluate)
        if converted is None:
            ref.leftover.append(_unqualified_sql(conjunct))
        else:
            ref.conditions.extend(converted)


def _conditions(conjunct: exp.Expression, table: Table, evaluate: Evaluate) -> list[Condition] | None:
    if isinstance(conjunct, exp.Between):
        low = exp.GTE(this=conjunct.this.copy(), expression=conjunct.args["low"].copy())
        high = exp.LTE(this=conjunct.this.copy(), expression=conjunct.args["high"].copy())
        parts = [_conditions(low, table, evaluate), _conditions(high, table, evaluate)]
        return None if None in parts else [c for p in parts for c in p or ()]
    if isinstance(conjunct, exp.In) and not conjunct.args.get("query") and isinstance(conjunct.this, exp.Column):
        column, values = conjunct.this, conjunct.expressions
        op = "IN"
    elif type(conjunct) in _OPS:
        left, right = conjunct.this, conjunct.expression
        if isinstance(left, exp.Column) and _is_constant(right):
            column, values, op = left, [right], _OPS[type(conjunct)]
        elif isinstance(right, exp.Column) and _is_constant(left):
            column, values, op = right, [left], _FLIP[type(conjunct)]
        else:
            return None
    else:
        return None
    if not all(_is_constant(v) for v in values):
        return None
    try:
        col = table.column(column.name)
        evaluated = tuple(evaluate(v, col.type) for v in values)
    except (UnknownColumnError, ValueError):
        return None
    except SQLError as exc:  # the constant can never match the column's type: fail before any request
        raise SQLError(f"WHERE {table.name}.{col.name}: {exc}") from None
    if any(v is None for v in evaluated):
        return None
    if NO_MATCH in evaluated:
        if op not in ("=", "IN"):
            return None
        evaluated = tuple(v for v in evaluated if v is not NO_MATCH)
    return [Condition(column=col, op=op, values=evaluated, sql=_condition_sql(col.name, op, values))]


def _is_constant(node: exp.Expression) -> bool:
    return not any(
        isinstance(n, (exp.Column, exp.Query, exp.AggFunc, exp.Window, exp.Placeholder, exp.Star))
        for n in node.walk()
    )


def _condition_sql(column: str, op: str, values: list[exp.Expression]) -> str:
    if op == "IN":
        return f"{column} IN ({', '.join(v.sql('duckdb') for v in values)})"
    return f"{column} {op} {values[0].sql('duckdb')}"


def _unqualified_sql(conjunct: exp.Expression) -> str:
    copy = conjunct.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    for identifier in copy.find_all(exp.Identifier):
        identifier.set("quoted", False)
    return copy.sql("duckdb")
