"""Statement parameters: DuckDB binds them; the planner only reads their Python values.

Values are never rewritten into SQL literals. The statement DuckDB runs keeps its ``$n`` /
``$name`` placeholders and gets the values through ``duckdb.sql(text, params=...)``, so a
parameter means exactly what it means to DuckDB (NaN, UUID, Decimal, timedelta, tz-aware
datetimes, bytes, lists, dicts, numpy scalars). Pushdown evaluates constant expressions in the
same DuckDB session with the same values (:meth:`Parameters.evaluation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from .errors import SQLError


class ParameterError(SQLError):
    """Parameters that do not fit the statement's placeholders."""


BINDING_ERRORS: tuple[type[Exception], ...] = (TypeError, ValueError, OverflowError, KeyError, AttributeError)
"""What DuckDB's Python binding raises, outside its own exception tree, for values it cannot bind
(a ``time`` whose zone has no fixed offset raises AttributeError)."""


class Parameters:
    """The params given with a statement, checked once.

    >>> Parameters(["a", 2]).for_duckdb(["1", "2"])
    ['a', 2]
    >>> Parameters({"to": "+61411111111", "x": 1}).for_duckdb(["to"])
    {'to': '+61411111111'}
    >>> Parameters("ab")
    Traceback (most recent call last):
    ...
    clicksend_sql.parameters.ParameterError: params must be a list or tuple (for ? and $1) or a dict (for $name and :name), not str.
    """

    def __init__(self, params: Sequence[Any] | Mapping[str, Any] | None) -> None:
        if params is not None and (
            isinstance(params, (str, bytes, bytearray, memoryview)) or not isinstance(params, (Sequence, Mapping))
        ):
            raise ParameterError(
                "params must be a list or tuple (for ? and $1) or a dict (for $name and :name), "
                f"not {type(params).__name__}."
            )
        self._params = params

    def __bool__(self) -> bool:
        return self._params is not None

    def value(self, name: str) -> Any:
        """The Python value of placeholder ``name`` (``"2"`` for the second ``?``)."""
        params = self._params
        if params is None:
            raise ParameterError(f"The statement has parameter ${name} but no params were given.")
        if isinstance(params, Mapping):
            if name in params:
                return params[name]
            kind = "positional: pass a list" if name.isdigit() else "named"
            known = ", ".join(map(str, params)) or "nothing"
            raise ParameterError(f"No value for parameter ${name} ({kind}); params has {known}.")
        if not name.isdigit():
            raise ParameterError(f"Parameter ${name} is named, so params must be a dict, not a list.")
        index = int(name) - 1
        if not 0 <= index < len(params):
            raise ParameterError(f"Parameter ${name} has no value: params has {len(params)} item(s).")
        return params[index]

    def for_duckdb(self, names: Sequence[str]) -> list[Any] | dict[str, Any] | None:
        """What ``duckdb.sql`` takes for a statement using ``names``: the list as given for
        positional placeholders, else a dict of just the names used (a script's statements each
        use some of one dict)."""
        if not names:
            return None
        for name in names:
            self.value(name)  # a clear error for a missing one
        if all(n.isdigit() for n in names) and isinstance(self._params, Sequence):
            return list(self._params)
        return {name: self.value(name) for name in dict.fromkeys(names)}

    def evaluation(self, expression: exp.Expr) -> tuple[exp.Expr, dict[str, Any]]:
        """A copy of ``expression`` whose placeholders are renamed ``$p_<name>``, with their values,
        so a constant sub-expression can be evaluated on its own.

        >>> e, values = Parameters([5]).evaluation(exp.Placeholder(this="1") + exp.Literal.number(1))
        >>> e.sql("duckdb"), values
        ('$p_1 + 1', {'p_1': 5})
        """
        copy = expression.copy()
        values: dict[str, Any] = {}
        for node in copy.find_all(exp.Placeholder):
            renamed = f"p_{node.name}"
            values[renamed] = self.value(node.name)
            node.set("this", renamed)
        return copy, values
