"""Rule: replace ``?``, ``$1``, ``$name`` and ``:name`` placeholders by literal values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from ..errors import SQLError


def bind_parameters(expression: exp.Expression, params: Sequence[Any] | Mapping[str, Any] | None) -> exp.Expression:
    """Substitute parameters so that pushdown sees constants (and DuckDB gets plain SQL).

    >>> import sqlglot
    >>> e = sqlglot.parse_one("SELECT * FROM t WHERE a = 1", read="duckdb")
    >>> bind_parameters(e, None) is e
    True
    >>> bind_parameters(sqlglot.parse_one("SELECT $b", read="duckdb"), {"b": "x"}).sql()
    "SELECT 'x'"
    >>> bind_parameters(sqlglot.parse_one("SELECT ? + 1, :who", read="duckdb"), [41, "me"]).sql()
    "SELECT 41 + 1, 'me'"
    """
    placeholders = list(expression.find_all(exp.Placeholder, bfs=False))
    if not placeholders:
        return expression
    if params is None:
        raise SQLError(f"The statement has {len(placeholders)} parameter(s) but no params were given.")
    positional = iter(range(len(placeholders)))
    for node in placeholders:
        name = node.name
        if isinstance(params, Mapping):
            if not name or name.isdigit():
                label = name or str(next(positional) + 1)
                if label not in params:
                    raise SQLError(f"Parameter {label} is positional but params has no key {label!r}; pass a list.")
                value = params[label]
            elif name in params:
                value = params[name]
            else:
                raise SQLError(f"No value for parameter :{name}; params has {', '.join(map(str, params)) or 'nothing'}.")
        else:
            index = int(name) - 1 if name.isdigit() else next(positional)
            if index >= len(params):
                raise SQLError(f"Parameter {index + 1} has no value: params has {len(params)} item(s).")
            value = params[index]
        node.replace(_literal(value))
    return expression


def _literal(value: Any) -> exp.Expression:
    """A SQL literal DuckDB reads back as the same value and type: a bare ``1.5`` would be a DECIMAL,
    so Python floats are cast to DOUBLE, as DuckDB's own parameter binding does.

    >>> _literal(0.1).sql("duckdb"), _literal(2).sql("duckdb")
    ('CAST(0.1 AS DOUBLE)', '2')
    """
    literal = exp.convert(value)
    return exp.cast(literal, exp.DataType.Type.DOUBLE) if isinstance(value, float) else literal
