"""Rule helper: sqlglot's optimizer rewrites for pushdown only what a test proves it rewrites right.

``pushdown_predicates`` runs ``simplify`` over every WHERE it moves, and ``normalize`` rewrites
BETWEEN and distributes OR over AND. Their rules are sqlglot's, not DuckDB's: ``simplify`` turns
``d BETWEEN SYMMETRIC 5 AND 1`` into ``d <= 1 AND d >= 5`` (an empty range, pushed to the API
as one). So before they run, every part of a condition that is not on :data:`PROVEN` (AND, OR,
NOT, comparisons, IN lists, BETWEEN of columns) is hidden in an opaque stand-in: a function call
no rule knows (:class:`Hidden`), whose arguments are the columns it reads, so the optimizer still sees which
table a conjunct restricts and renames those columns when it moves the conjunct into a subquery.
Constants are hidden too, so no rule folds them: DuckDB evaluates them (``evaluation.py``).
What the optimizer rewrites is then a formula whose rewriting ``tests/test_proven_rewrites.py``
checks in DuckDB; afterwards each stand-in is replaced by what it hid, with its moved columns.

A subquery inside such a part would be hidden from the optimizer's scope analysis (which counts
how often a CTE is read before it moves a predicate into it), so then nothing is hidden and the
optimizer is not used at all: only each scope's own conjuncts are candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

PROVEN: tuple[type[exp.Expr], ...] = (
    exp.And, exp.Or, exp.Not, exp.Paren, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between,
    exp.Column,
)
"""Node types whose rewriting by simplify and normalize the planner trusts (a test proves it in DuckDB)."""


class Hidden(exp.Expression, exp.Func):
    """A stand-in for a hidden part: a function no optimizer rule knows (not an aggregate, window or
    set-returning function, so it does not stop a predicate from moving); ``this`` names the part,
    the other arguments are the columns it reads."""

    arg_types = {"this": True, "expressions": False}
    is_var_len_args = True


# What the optimizer must see in a projection to decide where a predicate may go (below a window,
# a set-returning function or an aggregate it may not).
_PLACEMENT = (exp.Window, exp.AggFunc, *exp.SET_RETURNING_FUNCTIONS)


def hide_unproven(expression: exp.Expr) -> Callable[[exp.Expr], exp.Expr] | None:
    """Hide, in place, what the optimizer must not rewrite; return the function that brings it
    back into the optimized tree, or None (and hide nothing) when the optimizer must not run.

    >>> import sqlglot
    >>> e = sqlglot.parse_one("SELECT * FROM t WHERE t.d BETWEEN SYMMETRIC 5 AND 1 AND t.a = 2 + 1", read="duckdb")
    >>> reveal = hide_unproven(e)
    >>> e.sql("duckdb")
    'SELECT * FROM t WHERE HIDDEN(0, t.d) AND t.a = HIDDEN(1)'
    >>> e = reveal(e)
    >>> e.find(exp.Between).args["symmetric"], e.find(exp.EQ).sql("duckdb")
    (True, 't.a = 2 + 1')
    >>> hide_unproven(sqlglot.parse_one("SELECT * FROM t WHERE t.a IN (SELECT 1)")) is None
    True
    """
    targets = _unproven_parts(expression)
    if any(part.find(exp.Query) for part in targets):
        return None
    hidden: dict[str, exp.Expr] = {}
    for number, part in enumerate(targets):
        hidden[str(number)] = part.copy()
    _replace_all([(part, Hidden(this=exp.Literal.number(number), expressions=[c.copy() for c in part.find_all(exp.Column)]))
                  for number, part in enumerate(targets)])

    def reveal(tree: exp.Expr) -> exp.Expr:
        while True:
            stand_ins = list(tree.find_all(Hidden))
            if not stand_ins:
                return tree
            swaps = []
            for stand_in in stand_ins:
                original = hidden[stand_in.name].copy()
                for column, moved in zip(list(original.find_all(exp.Column)), stand_in.expressions):
                    column.replace(moved)
                if stand_in is tree:
                    tree = original
                else:
                    swaps.append((stand_in, original))
            _replace_all(swaps)

    return reveal


def _replace_all(swaps: Sequence[tuple[exp.Expr, exp.Expr]]) -> None:
    """Put each new node where its old one is. Items of one list (an IN list's constants) are
    swapped with one ``set``: sqlglot re-parents the whole list on every replace, so replacing
    3,000 constants one by one takes seconds."""
    lists: dict[tuple[int, str], tuple[exp.Expr, str, list[Any]]] = {}
    for old, new in swaps:
        parent, key = old.parent, old.arg_key
        items = parent.args.get(key) if parent is not None and key else None
        if isinstance(items, list) and old.index is not None:
            assert parent is not None and key is not None
            lists.setdefault((id(parent), key), (parent, key, list(items)))[2][old.index] = new
        else:
            old.replace(new)
    for parent, key, items in lists.values():
        parent.set(key, items)


def _unproven_parts(expression: exp.Expr) -> list[exp.Expr]:
    """The largest parts of conditions (WHERE, ON) not on :data:`PROVEN`, and the projections the
    optimizer may copy into a condition when it moves one into a subquery."""
    parts: list[exp.Expr] = []
    for select in expression.find_all(exp.Select):
        where = select.args.get("where")
        conditions = [where.this] if where else []
        conditions += [j.args["on"] for j in select.args.get("joins") or () if j.args.get("on")]
        for condition in conditions:
            parts.extend(_outside_proven(condition))
        for projection in select.expressions:
            value = projection.this if isinstance(projection, exp.Alias) else projection
            if not isinstance(value, (exp.Column, exp.Star)) and not value.find(*_PLACEMENT):
                parts.append(value)
    return parts


def _outside_proven(node: exp.Expr) -> list[exp.Expr]:
    if not _proven(node):
        return [node]
    if isinstance(node, exp.Column):
        return []
    return [part for child in node.iter_expressions() for part in _outside_proven(child)]


def _proven(node: exp.Expr) -> bool:
    if isinstance(node, exp.Between):
        return not node.args.get("symmetric")
    if isinstance(node, exp.In):
        return not any(node.args.get(k) for k in ("query", "unnest", "field"))
    return type(node) in PROVEN
