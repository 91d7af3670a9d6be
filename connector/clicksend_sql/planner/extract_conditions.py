"""Rule: the WHERE / ON conjuncts that restrict each ClickSend table reference on its own.

It runs sqlglot's optimizer (``qualify``, ``pushdown_predicates``, ``normalize``) on a copy of
the statement, with what no test proves it rewrites right hidden from it (:mod:`.hide_unproven`),
then walks every scope. For a ClickSend table in a scope, a conjunct is a restriction when every
column in it belongs to that table and it is one of the node types :func:`_conditions` knows
exactly, all null-rejecting: ``=``, ``IN`` (a list), ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN``
(not SYMMETRIC) between a column and constants DuckDB evaluates. Anything else stays local. Such
conjuncts may be applied before the scope's joins without changing the result, whether they come
from WHERE, an inner join's ON, or the ON of an outer join whose null-supplying side is this table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.normalize import normalize
from sqlglot.optimizer.pushdown_predicates import pushdown_predicates
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, traverse_scope

from ..catalog import Catalog, Table
from ..errors import SQLError, UnknownColumnError
from .hide_unproven import hide_unproven
from .plan import ANALYSIS_ERRORS, NO_MATCH, Condition, Reference, Session

REF = "clicksend_ref"
_FLIP: dict[type[exp.Expr], str] = {exp.GT: "<", exp.GTE: "<=", exp.LT: ">", exp.LTE: ">=", exp.EQ: "="}
_OPS: dict[type[exp.Expr], str] = {exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<=", exp.EQ: "="}
# Functions whose value changes from one evaluation to the next: never a pushable constant.
_VOLATILE = frozenset({"random", "rand", "uuid", "gen_random_uuid", "uuidv4", "uuidv7", "nextval", "setseed"})
# Functions of the clock: stable in a statement, but evaluated later by DuckDB than by the planner.
_CLOCK = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.CurrentDatetime)
_CLOCK_NAMES = frozenset({"now", "get_current_timestamp", "today", "transaction_timestamp", "get_current_time"})
# Join kinds whose ON never restricts a side on its own (ASOF picks the nearest row, POSITIONAL has no ON).
_OPAQUE_JOINS = frozenset({"ASOF", "POSITIONAL"})


def extract_conditions(
    expression: exp.Expr,
    references: dict[str, list[exp.Table]],
    catalog: Catalog,
    session: Session,
) -> dict[str, list[Reference]]:
    """Per table, one :class:`Reference` per occurrence with its pushable conditions.

    ``session.evaluate_all(exprs, sql_type)`` turns constant expressions into Python values of the
    column's type under DuckDB's own comparison rules (so ``now() - INTERVAL 1 DAY`` and
    parameters work); it gives None for a value that cannot be pushed.

    >>> import sqlglot
    >>> from types import SimpleNamespace
    >>> from clicksend_sql.catalog import load_catalog
    >>> from clicksend_sql.planner.find_tables import find_tables
    >>> cat = load_catalog()
    >>> session = SimpleNamespace(evaluate_all=lambda xs, t: [int(x.name) for x in xs], local_columns=lambda t: None)
    >>> e = sqlglot.parse_one("SELECT * FROM Contacts c WHERE c.ListId IN (1, 2) AND lower(c.Email) = 'x'", read="duckdb")
    >>> ref = extract_conditions(e, find_tables(e, cat), cat, session)["contacts"][0]
    >>> [str(c) for c in ref.conditions], ref.leftover
    (['ListId IN (1, 2)'], ["LOWER(email) = 'x'"])
    """
    result: dict[str, list[Reference]] = {name: [] for name in references}
    by_id: dict[int, tuple[str, Reference]] = {}
    for name, nodes in references.items():
        for node in nodes:
            ref = Reference(node=node, held=_modifiers(node))
            node.meta[REF] = id(ref)
            by_id[id(ref)] = (name, ref)
            result[name].append(ref)
    try:
        analysed = _optimize(expression.copy(), [catalog.table(name) for name in references], session)
        scopes = traverse_scope(analysed)
    except ANALYSIS_ERRORS:
        for _, ref in by_id.values():
            ref.held.append("the statement is too complex to analyse, so nothing is pushed")
        return result
    finally:
        for nodes in references.values():
            for node in nodes:
                node.meta.pop(REF, None)
    for scope in scopes:
        for alias, (_, source) in scope.selected_sources.items():
            if isinstance(source, exp.Table) and source.meta.get(REF) in by_id:
                name, ref = by_id[source.meta[REF]]
                if not ref.held:
                    _restrict(ref, catalog.table(name), alias, scope, session)
    return result


def _modifiers(node: exp.Table) -> list[str]:
    """Table modifiers that make pushed filters change the rows (not just how many are fetched)."""
    held = []
    if node.args.get("sample"):
        held.append("TABLESAMPLE draws from the whole table, so filters are applied after it")
    if node.args.get("pivots"):
        held.append("PIVOT/UNPIVOT reshape the table before WHERE sees it")
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.columns:
        held.append("column aliases rename the table's columns")
    return held


def _optimize(expression: exp.Expr, tables: list[Table], session: Session) -> exp.Expr:
    """qualify (with the referenced tables' columns only: a schema of all 50 costs 50 ms, and the
    local tables' columns, so a subquery over them resolves), then pushdown_predicates and
    normalize over what they are proven to rewrite right (:func:`hide_unproven`).
    pushdown_predicates only moves WHERE and ON conjuncts, so a statement with neither skips it
    (its first call imports sqlglot's Athena, Trino and Presto dialects: 20-35 ms of a CLI query)."""
    schema: dict[str, object] = {
        t.name: {c.name: c.type.replace("TIMESTAMPTZ", "TIMESTAMP") for c in t.columns} for t in tables
    }
    schema.update(_local_schema(expression, session, {t.name.lower() for t in tables}))
    try:
        expression = qualify(expression, schema=schema, dialect="duckdb", validate_qualify_columns=False)
    except OptimizeError:
        expression = qualify(expression, dialect="duckdb", validate_qualify_columns=False)
    reveal = hide_unproven(expression)
    if reveal is None:
        return expression
    if expression.find(exp.Where, exp.Join) is not None:  # else nothing to push, and its first call imports 3 dialects
        with _row_selecting_clauses_guarded(expression):
            expression = pushdown_predicates(expression, dialect="duckdb")
    return reveal(normalize(expression, dnf=False))


def _local_schema(expression: exp.Expr, session: Session, clicksend: set[str]) -> dict[str, dict[str, str]]:
    """The columns of the plain-named local tables the statement reads (not ClickSend's, not CTEs)."""
    ctes = clicksend | {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    schema: dict[str, dict[str, str]] = {}
    for table in expression.find_all(exp.Table):
        name = table.this
        if REF in table.meta or table.args.get("db") or not isinstance(name, exp.Identifier) or name.name.lower() in ctes:
            continue
        columns = session.local_columns(name.sql("duckdb"))
        if columns:
            schema[name.name] = dict.fromkeys(columns, "UNKNOWN")
    return schema


@contextmanager
def _row_selecting_clauses_guarded(expression: exp.Expr) -> Iterator[None]:
    """pushdown_predicates never pushes below QUALIFY, LIMIT or GROUP BY; DISTINCT ON and a
    select-level SAMPLE choose rows the same way, so mark them with a QUALIFY it respects."""
    guarded = [
        select
        for select in expression.find_all(exp.Select)
        if not select.args.get("qualify")
        and (isinstance(select.args.get("distinct"), exp.Distinct) and select.args["distinct"].args.get("on")
             or select.args.get("sample"))
    ]
    for select in guarded:
        select.set("qualify", exp.Qualify(this=exp.true()))
    try:
        yield
    finally:
        for select in guarded:
            select.set("qualify", None)


def _candidate_conjuncts(scope: Scope, source: exp.Table) -> list[exp.Expr]:
    """WHERE conjuncts, and ON conjuncts of joins that filter this source's rows on their own:
    any side of an inner join, only the joined side of LEFT/SEMI/ANTI joins."""
    select = scope.expression
    if not isinstance(select, exp.Select):
        return []
    conjuncts: list[exp.Expr] = []
    where = select.args.get("where")
    if where:
        conjuncts.extend(where.this.flatten() if isinstance(where.this, exp.And) else [where.this])
    for join in select.args.get("joins") or ():
        on = join.args.get("on")
        side, kind = (join.side or "").upper(), (join.kind or "").upper()
        if on is None or side in ("RIGHT", "FULL") or str(join.args.get("method") or "").upper() in _OPAQUE_JOINS:
            continue
        if (side == "LEFT" or kind in ("SEMI", "ANTI")) and join.this is not source:
            continue
        conjuncts.extend(on.flatten() if isinstance(on, exp.And) else [on])
    return conjuncts


def _restrict(ref: Reference, table: Table, alias: str, scope: Scope, session: Session) -> None:
    """Sort the scope's conjuncts into pushable conditions and what DuckDB alone must apply.

    A conjunct that mentions other sources (a join condition, a subquery) still leaves the
    reference incomplete: count(*) and LIMIT must not be answered by the API then.
    """
    if scope.expression.args.get("sample"):
        ref.held.append("USING SAMPLE draws from the rows before the filters")
        return
    source = scope.selected_sources[alias][1]
    if not isinstance(source, exp.Table):  # a ClickSend reference is a table, never a derived scope
        return
    kept: list[exp.Expr] = []  # the conjuncts DuckDB alone applies to this reference's rows
    for conjunct in _candidate_conjuncts(scope, source):
        tables = {c.table for c in conjunct.walk(prune=lambda n: isinstance(n, exp.Subquery)) if isinstance(c, exp.Column)}
        if any(isinstance(n, exp.Subquery) and not _local_scalar(n) for n in conjunct.walk()):
            tables.add("")  # a subquery that reads this scope or ClickSend: never a condition on its own
        constant = not tables and _is_constant(conjunct)
        try:
            converted = _conditions(conjunct, table, session) if tables == {alias} else None
            truth = session.evaluate(conjunct, "BOOLEAN") if constant else None
        except SQLError:  # a constant DuckDB refuses: DuckDB decides, failing where it evaluates the conjunct
            converted, truth, ref.refused = None, None, True
        if converted is not None:
            ref.conditions.extend(converted)
        elif constant and (truth is NO_MATCH or truth is False):
            ref.impossible = True
        elif not (constant and truth is True):
            ref.leftover.append(_unqualified_sql(conjunct))
            if tables <= {alias}:
                kept.append(conjunct)
    if not ref.refused and (ref.impossible or any(c.matches_nothing for c in ref.conditions)):
        # no row would reach DuckDB: unless one of its own conjuncts fails on any row it meets
        ref.refused = session.refuses(kept, table, alias)


def _conditions(conjunct: exp.Expr, table: Table, session: Session) -> list[Condition] | None:
    if isinstance(conjunct, exp.Between) and not conjunct.args.get("symmetric"):
        low = exp.GTE(this=conjunct.this.copy(), expression=conjunct.args["low"].copy())
        high = exp.LTE(this=conjunct.this.copy(), expression=conjunct.args["high"].copy())
        parts = [_conditions(low, table, session), _conditions(high, table, session)]
        return None if None in parts else [c for p in parts for c in p or ()]
    if isinstance(conjunct, exp.In) and not conjunct.args.get("query") and not conjunct.args.get("unnest") \
            and isinstance(conjunct.this, exp.Column):
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
    if not values or not all(_is_constant(v) for v in values):
        return None
    if any(v.find(exp.Collate) for v in values):
        return None  # 'x' COLLATE noaccent equals more texts than 'x' does: DuckDB decides, like under default_collation
    if op in ("<", "<=") and any(_reads_clock(v) for v in values):
        return None  # DuckDB reads the clock after the planner: an upper bound would be too low
    try:
        col = table.column(column.name)
    except UnknownColumnError:
        return None
    evaluated = tuple(session.evaluate_all(values, col.type))  # SQLError: a constant DuckDB refuses (see _restrict)
    if any(v is None for v in evaluated):
        return None
    if NO_MATCH in evaluated:
        if op not in ("=", "IN"):
            return None
        evaluated = tuple(v for v in evaluated if v is not NO_MATCH)
    subqueries = sum(1 for v in values for _ in v.find_all(exp.Subquery))
    return [Condition(col, op, evaluated, _condition_sql(col.name, op, values, evaluated), subqueries)]


def _is_constant(node: exp.Expr) -> bool:
    """Free of columns, aggregates, windows and volatile functions; a subquery only when DuckDB
    can evaluate it before the scan (:func:`_local_scalar`)."""
    for n in node.walk(prune=lambda n: isinstance(n, exp.Subquery)):
        if isinstance(n, exp.Subquery):
            if not _local_scalar(n):
                return False
        elif isinstance(n, (exp.Column, exp.Query, exp.AggFunc, exp.Window, exp.Star, exp.Rand, exp.Uuid)):
            return False
        elif isinstance(n, exp.Anonymous) and n.name.lower() in _VOLATILE:
            return False
    return True


def _local_scalar(subquery: exp.Subquery) -> bool:
    """An uncorrelated scalar subquery over local data only (``(SELECT max(Date) FROM my_copy)``):
    its one value is known before any request, so DuckDB evaluates it and the value is pushed.

    >>> import sqlglot
    >>> _local_scalar(sqlglot.parse_one("SELECT (SELECT max(c.d) FROM copy AS c)").find(exp.Subquery))
    True
    >>> _local_scalar(sqlglot.parse_one("SELECT (SELECT max(c.d) FROM copy AS c WHERE c.d > t.d) FROM t").find(exp.Subquery))
    False
    """
    inner = subquery.this
    if any(REF in t.meta for t in inner.find_all(exp.Table)):
        return False  # it reads a ClickSend table: that is a scan of its own, not a constant
    if any(isinstance(n, (exp.Rand, exp.Uuid)) or (isinstance(n, exp.Anonymous) and n.name.lower() in _VOLATILE)
           for n in inner.walk()):
        return False
    root = build_scope(inner.copy())
    return root is not None and not any(scope.external_columns for scope in root.traverse())


def _reads_clock(node: exp.Expr) -> bool:
    return any(
        isinstance(n, _CLOCK) or (isinstance(n, exp.Anonymous) and n.name.lower() in _CLOCK_NAMES) for n in node.walk()
    )


def _condition_sql(column: str, op: str, values: list[exp.Expr], evaluated: tuple[Any, ...]) -> str:
    """The condition as EXPLAIN shows it; a subquery evaluated first shows its value too."""
    if op == "IN":
        return f"{column} IN ({', '.join(_unqualified_sql(v) for v in values)})"
    text = f"{column} {op} {_unqualified_sql(values[0])}"
    if not values[0].find(exp.Subquery):
        return text
    return f"{text} (evaluated first: {evaluated[0] if evaluated else 'no value of the column, so no row'})"


def _unqualified_sql(conjunct: exp.Expr) -> str:
    copy = conjunct.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    for identifier in copy.find_all(exp.Identifier):
        identifier.set("quoted", False)
    return copy.sql("duckdb")
