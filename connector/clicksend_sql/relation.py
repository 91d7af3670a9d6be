"""The read-only part of DuckDB's relational API over ClickSend tables: ``con.table('SMSHistory')
.filter("Status = 'Failed'").limit(5)`` builds one SELECT and runs it through the planner when
its rows are asked for, so it pushes down exactly as the same SQL would.

Each step adds to the statement while that keeps its meaning (a filter before a LIMIT, an ORDER
BY before it) and otherwise reads the statement so far as a subquery. Nothing is fetched until
a ``fetch*``, ``df()``, ``arrow()``, ``show()`` or ``to_csv()``; ``columns`` and ``types`` are
DuckDB's DESCRIBE of the statement, which makes no request.

>>> from sqlglot import exp
>>> steps = Relation(None, exp.select("*").from_("SMSHistory"))
>>> steps.filter("Status = 'Failed'").order("Date DESC").limit(5).sql_query()
"SELECT * FROM SMSHistory WHERE Status = 'Failed' ORDER BY Date DESC LIMIT 5"
>>> steps.limit(5).filter("Status = 'Failed'").sql_query()
"SELECT * FROM (SELECT * FROM SMSHistory LIMIT 5) AS _1 WHERE Status = 'Failed'"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from .errors import SQLError, did_you_mean

if TYPE_CHECKING:
    from .connection import Connection
    from .result import Result, RecordBatchStream

# DuckDB relation methods answered by running the statement and asking its result.
_RESULT_METHODS = ("fetchall", "fetchnumpy", "fetchdf", "df", "pl", "arrow",
                   "fetch_arrow_table", "to_arrow_table", "to_df", "show", "to_csv", "write_csv", "to_parquet",
                   "write_parquet", "shape", "description")


class Relation:
    """A lazy SELECT over ClickSend (and local) tables; see the module's docstring."""

    def __init__(self, con: Connection | None, select: exp.Select, depth: int = 0) -> None:
        self._con = con
        self._select = select
        self._depth = depth  # subqueries so far, for unique aliases

    # --- building ------------------------------------------------------------------------------

    def filter(self, condition: str) -> Relation:
        """Rows where ``condition`` (SQL) holds."""
        base = self if self._plain(allow_order=True) else self._wrapped()
        return base._with(base._select.where(_parse(condition, "filter"), copy=True))

    def project(self, *expressions: str) -> Relation:
        """These columns or expressions (SQL), as DuckDB's ``project``/``select``."""
        if not expressions:
            raise SQLError("project() needs at least one column or expression, e.g. project('MessageId', 'Status').")
        base = self if self._plain(allow_order=True, allow_limit=True) else self._wrapped()
        return base._with(base._select.select(*(_parse(e, "project") for e in expressions), append=False, copy=True))

    select = project

    def aggregate(self, aggregates: str, groups: str | None = None) -> Relation:
        """``SELECT aggregates ... GROUP BY groups``, as DuckDB's ``aggregate``."""
        base = self if self._plain() else self._wrapped()
        query = base._select.select(*_parse_list(aggregates, "aggregate"), append=False, copy=True)
        if groups:
            query = query.group_by(*_parse_list(groups, "aggregate"), copy=False)
        return base._with(query)

    def count(self, column: str = "*") -> Relation:
        return self.aggregate(f"count({column})")

    def order(self, ordering: str) -> Relation:
        """Rows in this order (SQL, e.g. ``'Date DESC'``)."""
        base = self if self._plain(allow_order=True) else self._wrapped()
        order = sqlglot.parse_one(f"SELECT 1 ORDER BY {ordering}", read="duckdb").args["order"]
        return base._with(base._select.order_by(*order.expressions, append=False, copy=True))

    sort = order

    def limit(self, n: int, offset: int = 0) -> Relation:
        base = self if self._select.args.get("limit") is None and self._select.args.get("offset") is None else self._wrapped()
        query = base._select.limit(n, copy=True)
        return base._with(query.offset(offset, copy=False) if offset else query)

    def distinct(self) -> Relation:
        base = self if self._plain(allow_order=True) else self._wrapped()
        return base._with(base._select.distinct(copy=True))

    # --- running -------------------------------------------------------------------------------

    def sql_query(self) -> str:
        return self._select.sql("duckdb")

    def execute(self) -> Result:
        """Run the statement through the planner (one request plan, as the same SQL would make)."""
        return self._connection().sql(self.sql_query())

    def explain(self) -> Result:
        return self._connection().explain(self.sql_query())

    def stream(self, rows_per_batch: int = 10_000) -> RecordBatchStream:
        return self._connection().stream(self.sql_query(), rows_per_batch=rows_per_batch)

    @property
    def columns(self) -> list[str]:
        return [row[0] for row in self._described()]

    @property
    def types(self) -> list[str]:
        return [row[1] for row in self._described()]

    dtypes = types

    def __len__(self) -> int:
        return len(self.execute())

    def __getattr__(self, name: str) -> Any:
        if name in _RESULT_METHODS:
            return getattr(self.execute(), name)
        if name in ("fetchone", "fetchmany"):  # as in DuckDB 2: a relation keeps no result between calls
            raise AttributeError(f"A relation keeps no result between calls, so {name}() would start again each time: "
                                 f"use .execute().{name}() (a Result continues where it stopped) or .limit(n).fetchall().")
        known = [n for n in dir(type(self)) if not n.startswith("_")] + list(_RESULT_METHODS)
        raise AttributeError(
            f"A clicksend_sql relation has no {name!r}.{did_you_mean(name, known)} It has: {', '.join(sorted(known))}. "
            "For anything else, run SQL with con.sql() or take .arrow() into DuckDB."
        )

    def __repr__(self) -> str:
        return f"<clicksend_sql relation: {self.sql_query()}>"

    # --- helpers -------------------------------------------------------------------------------

    def _described(self) -> list[tuple[Any, ...]]:
        return self._connection().sql(f"DESCRIBE {self.sql_query()}").fetchall()

    def _plain(self, *, allow_order: bool = False, allow_limit: bool = False) -> bool:
        """Whether a step may go into this statement itself: no grouping, DISTINCT or projection
        (and no ORDER BY or LIMIT unless the step keeps their meaning)."""
        args = self._select.args
        star = [type(e) for e in self._select.expressions] == [exp.Star]
        return (star and not args.get("group") and not args.get("distinct")
                and (allow_order or not args.get("order"))
                and (allow_limit or (args.get("limit") is None and args.get("offset") is None)))

    def _wrapped(self) -> Relation:
        depth = self._depth + 1
        return Relation(self._con, exp.select("*").from_(self._select.subquery(f"_{depth}", copy=True)), depth)

    def _with(self, select: exp.Select) -> Relation:
        return Relation(self._con, select, self._depth)

    def _connection(self) -> Connection:
        if self._con is None:
            raise SQLError("This relation is not bound to a connection; make it with con.table(name).")
        return self._con


def _parse(text: str, method: str) -> exp.Expr:
    try:
        return sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise SQLError(f"{method}({text!r}) is not an SQL expression: {str(exc).splitlines()[0]}") from None


def _parse_list(text: str, method: str) -> list[exp.Expr]:
    try:
        return list(sqlglot.parse_one(f"SELECT {text}", read="duckdb").expressions)
    except sqlglot.errors.ParseError as exc:
        raise SQLError(f"{method}({text!r}) is not a list of SQL expressions: {str(exc).splitlines()[0]}") from None
