"""Constants as DuckDB sees them: the values pushdown may send, decided in the session itself.

A pushed filter must fetch a superset of the rows DuckDB keeps, so the value sent for ``column
op constant`` is the one DuckDB compares with: the constant cast to the column's type, in the
same session (time zone, parameters), and only when DuckDB compares in the column's type. When
DuckDB would cast the column instead (``VarcharColumn = 5``), collate it (``default_collation``),
or the constant is of another family, nothing is pushed and DuckDB alone decides.
"""

from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from .catalog import Table
from .conversion import arrow_schema
from .errors import SQLError
from .parameters import BINDING_ERRORS, Parameters
from .planner.plan import NO_MATCH

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")
_PROBE = "__clicksend_probe"  # the one-row table of NULLs conjuncts are tried on (DuckDBSession.refuses)
_ONCE = "clicksend_sql_constant"  # the DuckDB variable a subquery's value is held in while it is checked
_BATCH = 400  # constants per query: 3,000 in one take longer than in 8 (DuckDB binds wide SELECTs slowly)
_ACCEPTS = {"BIGINT": "whole numbers", "INTEGER": "whole numbers", "DOUBLE": "numbers", "BOOLEAN": "true or false",
            "TIMESTAMPTZ": "timestamps such as '2025-01-31 12:00:00+00'", "DATE": "dates such as '2025-01-31'"}


def _family(sql_type: str) -> str:
    """
    >>> _family("DECIMAL(18,3)"), _family("TIMESTAMP WITH TIME ZONE"), _family("VARCHAR")
    ('number', 'time', 'text')
    """
    base = sql_type.split("(")[0].upper()
    if base in _NUMERIC:
        return "number"
    if base in _TEMPORAL:
        return "time"
    return {"VARCHAR": "text", "BOOLEAN": "boolean"}.get(base, "other")


_EVALUATION_ERRORS: tuple[type[BaseException], ...] = (duckdb.Error, *BINDING_ERRORS)  # what a refused constant raises

class DuckDBSession:
    """The planner's view of one statement's DuckDB session (see ``planner.plan.Session``)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, params: Parameters, *, pushdown: bool = True) -> None:
        self._con = connection
        self._params = params
        self.pushdown = pushdown
        self._settings: dict[str, str] = {}  # read once per statement: settings cannot change mid-plan

    def setting(self, name: str) -> str:
        if name not in self._settings:
            self._settings[name] = str(self._con.execute("SELECT current_setting($name)", {"name": name}).fetchall()[0][0])
        return self._settings[name]

    def local_columns(self, table: str) -> list[str] | None:
        try:
            return [str(row[0]) for row in self._con.execute(f"DESCRIBE {table}").fetchall()]
        except _EVALUATION_ERRORS:
            return None

    def evaluate(self, expression: exp.Expr, sql_type: str) -> Any:
        """The value of a constant for a column of ``sql_type``: None when it must not be pushed,
        NO_MATCH when no value of the column can equal it, SQLError when DuckDB refuses it."""
        return self.evaluate_all([expression], sql_type)[0]

    def evaluate_all(self, expressions: Sequence[exp.Expr], sql_type: str) -> list[Any]:
        """:meth:`evaluate` of each constant. Those that read no table are asked of DuckDB
        together, :data:`_BATCH` to a query: an IN list of 3,000 ids is 8 queries, not 6,000."""
        target = _family(sql_type)
        if target not in ("number", "time", "text", "boolean"):
            return [None] * len(expressions)
        if target == "text" and self.setting("default_collation"):
            return [None] * len(expressions)  # a collation makes '=' match more than the API's exact text
        constants = [self._params.evaluation(e) for e in expressions]
        answers: dict[int, tuple[Any, ...] | None] = {}
        plain = [i for i, (copy, _) in enumerate(constants) if _plain(copy)]
        for start in range(0, len(plain), _BATCH):
            batch = plain[start:start + _BATCH]
            together = self._facts([constants[i] for i in batch], sql_type, target)
            if together is not None:
                answers.update(zip(batch, together))
            else:  # one is refused: each alone says which (a batch of one was that query already)
                answers.update((i, None if len(batch) == 1 else self._facts_alone(constants[i], sql_type, target)) for i in batch)
        return [self._judge(answers[i] if i in answers else self._facts_alone(c, sql_type, target), c, sql_type, target)
                for i, c in enumerate(constants)]

    def refuses(self, conjuncts: Sequence[exp.Expr], table: Table, alias: str) -> bool:
        """Whether DuckDB fails evaluating one of these conjuncts on a row of ``table`` whose columns
        are all NULL, in one query: a constant it cannot take, or cannot cast to the column it is
        compared with, fails on any row, so the statement fails on the rows where DuckDB meets it.
        The row is Arrow's: DuckDB folds a constant NULL row away, and the failure with it."""
        if not conjuncts:
            return False
        self._con.register(_PROBE, pa.table({f.name: pa.nulls(1, f.type) for f in arrow_schema(table)}))
        try:
            source = f" FROM {_PROBE} AS {exp.to_identifier(alias, quoted=True).sql('duckdb')}"
            return self._row([self._params.evaluation(c) for c in conjuncts], lambda c: [c], source) is None
        finally:
            self._con.unregister(_PROBE)

    def _facts(self, constants: Sequence[tuple[exp.Expr, dict[str, Any]]], sql_type: str,
               target: str) -> list[tuple[Any, ...]] | None:
        """Per constant, in one query: its type, whether it is NULL, its value as ``sql_type``,
        whether that value equals it, and (for times) its epoch microseconds; None when DuckDB
        refuses the query (some constant it cannot take)."""
        def facts(c: str) -> list[str]:
            return [f"typeof({c})", f"{c} IS NULL", f"TRY_CAST({c} AS {sql_type})", f"try(TRY_CAST({c} AS {sql_type}) = {c})",
                    f"try(epoch_us(TRY_CAST({c} AS TIMESTAMPTZ)))" if target == "time" else "NULL"]

        row = self._row(constants, facts)
        return None if row is None else [row[n:n + 5] for n in range(0, len(row), 5)]

    def _row(self, constants: Sequence[tuple[exp.Expr, dict[str, Any]]],
             columns: Callable[[str], list[str]], source: str = "") -> tuple[Any, ...] | None:
        """One query selecting ``columns(constant)`` of each constant (its SQL, parenthesised) from
        ``source`` (none: no table): its first row, or None when DuckDB refuses one of them."""
        selected: list[str] = []
        values: dict[str, Any] = {}
        for copy, bound in constants:
            selected += columns(f"({copy.sql('duckdb')})")
            values.update(bound)
        try:
            return self._con.execute("SELECT " + ", ".join(selected) + source, values or None).fetchall()[0]
        except _EVALUATION_ERRORS:
            return None

    def _facts_alone(self, constant: tuple[exp.Expr, dict[str, Any]], sql_type: str, target: str) -> tuple[Any, ...] | None:
        """:meth:`_facts` of one constant; a subquery (over a local table, say) runs once, into a variable."""
        copy, values = constant
        if _plain(copy):
            found = self._facts([constant], sql_type, target)
            return found[0] if found else None
        try:
            self._con.execute(f"SET VARIABLE {_ONCE} = ({copy.sql('duckdb')})", values or None)
            found = self._facts([(exp.Anonymous(this="getvariable", expressions=[exp.Literal.string(_ONCE)]), {})], sql_type, target)
        except _EVALUATION_ERRORS:
            return None
        finally:
            self._con.execute(f"RESET VARIABLE {_ONCE}")
        return found[0] if found else None

    @staticmethod
    def _judge(facts: tuple[Any, ...] | None, constant: tuple[exp.Expr, dict[str, Any]], sql_type: str, target: str) -> Any:
        """The value to push for a constant, from its :meth:`_facts`. SQLError when DuckDB refuses the
        constant (its facts are None) or no value of the column's type is given: DuckDB will itself
        say what is wrong wherever it evaluates it, so the rows it evaluates it on must reach it."""
        if facts is None:
            raise SQLError(f"DuckDB refuses {_shown(constant)} as a {sql_type} value.")
        kind, is_null, value, equal, micros = facts
        if is_null:
            return NO_MATCH  # column = NULL is never true
        given = _family(kind)  # a parameter has its value's type, as a literal would
        if given == "text" and target != "text":
            # DuckDB casts a string constant (literal or parameter) to the column's type and
            # compares that; a string it cannot cast fails the statement.
            if value is None:
                raise SQLError(f"{_shown(constant)} is not a {sql_type} value; "
                               f"the column accepts {_ACCEPTS.get(sql_type.upper(), sql_type + ' values')}.")
        elif given != target:
            return None  # DuckDB would compare in another type than the API filters by
        elif value is None or equal is False:
            return NO_MATCH  # out of range (an id past 64 bits, NaN) or inexact (1401.5 for a whole number)
        elif equal is None:
            return None  # DuckDB could not compare them
        if target == "time":
            return None if micros is None else datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc)
        return value


def _plain(constant: exp.Expr) -> bool:
    """A constant with no subquery: it can share a query with others."""
    return constant.find(exp.Select) is None


def _shown(constant: tuple[exp.Expr, dict[str, Any]]) -> str:
    """A constant as DuckDB's errors name it: its SQL, or "the parameter"."""
    copy, values = constant
    return "the parameter" if values else copy.sql("duckdb")
