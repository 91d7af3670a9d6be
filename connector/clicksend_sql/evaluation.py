"""Constants as DuckDB sees them: the values pushdown may send, decided in the session itself.

A pushed filter must fetch a superset of the rows DuckDB keeps, so the value sent for ``column
op constant`` is the one DuckDB compares with: the constant cast to the column's type, in the
same session (time zone, parameters), and only when DuckDB compares in the column's type. When
DuckDB would cast the column instead (``VarcharColumn = 5``), collate it (``default_collation``),
or the constant is of another family, nothing is pushed and DuckDB alone decides.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import duckdb
from sqlglot import exp

from .errors import SQLError
from .parameters import BINDING_ERRORS, Parameters
from .planner.plan import NO_MATCH

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")
_ONCE = "clicksend_sql_constant"  # the DuckDB variable a subquery's value is held in while it is checked
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
        NO_MATCH when no value of the column can equal it."""
        target = _family(sql_type)
        if target not in ("number", "time", "text", "boolean"):
            return None
        if target == "text" and self.setting("default_collation"):
            return None  # a collation makes '=' match more than the API's exact text
        copy, values = self._params.evaluation(expression)
        constant = f"({copy.sql('duckdb')})"
        shown = "the parameter" if values else constant[1:-1]  # as errors name it
        once = copy.find(exp.Select) is not None
        try:
            if once:  # a subquery (over a local table, say) runs once here, not once per check below
                self._con.execute(f"SET VARIABLE {_ONCE} = {constant}", values or None)
                constant, values = f"getvariable('{_ONCE}')", {}
            kind, is_null, value = self._one(
                f"SELECT typeof({constant}), {constant} IS NULL, TRY_CAST({constant} AS {sql_type})", values
            )
            if is_null:
                return NO_MATCH  # column = NULL is never true
            given = _family(kind)  # a parameter has its value's type, as a literal would
            if given == "text" and target != "text":
                # DuckDB casts a string constant (literal or parameter) to the column's type and
                # compares that; a string it cannot cast fails the statement.
                if value is None:
                    raise SQLError(
                        f"{shown} is not a {sql_type} value; "
                        f"the column accepts {_ACCEPTS.get(sql_type.upper(), sql_type + ' values')}."
                    )
            elif given != target:
                return None  # DuckDB would compare in another type than the API filters by
            elif value is None or not self._one(f"SELECT TRY_CAST({constant} AS {sql_type}) = {constant}", values)[0]:
                return NO_MATCH  # out of range (an id past 64 bits, NaN) or inexact (1401.5 for a whole number)
            if target == "time":
                micros = self._one(f"SELECT epoch_us(TRY_CAST({constant} AS TIMESTAMPTZ))", values)[0]
                return datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc)
        except _EVALUATION_ERRORS:
            return None  # DuckDB itself will say what is wrong when it runs the statement
        finally:
            if once:
                self._con.execute(f"RESET VARIABLE {_ONCE}")
        return value

    def _one(self, sql: str, values: dict[str, Any]) -> tuple[Any, ...]:
        return self._con.execute(sql, values or None).fetchall()[0]
