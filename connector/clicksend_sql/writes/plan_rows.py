"""Step: the rows a write statement acts on, as one Arrow table of target columns.

INSERT takes its VALUES or SELECT as DuckDB evaluates it (so it may read files, local tables or
other ClickSend tables). UPDATE and DELETE find their rows through the SELECT engine with the
statement's own WHERE, so the rows they touch are exactly the rows that SELECT returns, and
pushdown narrows the reads: ``SET`` expressions are evaluated there too, per row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
from sqlglot import exp

from ..catalog import Table
from ..errors import SQLError, UnsupportedStatementError

Kind = Literal["INSERT", "UPDATE", "DELETE"]
RunQuery = Callable[[exp.Expr], pa.Table]  # a SELECT through the connection's engine


class WriteError(SQLError):
    """A write statement that cannot be carried out as written (nothing was sent)."""


@dataclass(frozen=True)
class Conflict:
    """``ON CONFLICT (column) DO NOTHING | DO UPDATE SET ...`` or ``INSERT OR REPLACE``."""

    column: str  # matched normalized (catalog ``match_as``) within the row's parent
    update: bool  # False: DO NOTHING
    assignments: tuple[tuple[str, exp.Expr], ...] = ()  # DO UPDATE SET; empty: every given column


@dataclass(frozen=True)
class WriteRows:
    """The input of a write: kind, table, the columns the statement sets, and one row per change."""

    kind: Kind
    table: Table
    columns: tuple[str, ...]  # the columns the statement gives values for (INSERT, SET)
    rows: pa.Table  # those columns, plus the key and path columns for UPDATE/DELETE
    conflict: Conflict | None = None
    origins: tuple[int, ...] | None = None  # input row (0-based) of each row, when not 1:1

    def origin(self, row: int) -> int:
        """The statement's input row (0-based) of row ``row`` of these rows."""
        return self.origins[row] if self.origins else row


def plan_rows(statement: exp.Expr, table: Table, run_query: RunQuery) -> WriteRows:
    """Turn a parsed INSERT/UPDATE/DELETE into :class:`WriteRows` (reading rows where needed),
    once the table is known to take that kind of write (so a refused write reads nothing)."""
    kind = statement.key.upper()
    endpoint = {"INSERT": table.insert, "UPDATE": table.update, "DELETE": table.delete}.get(kind)
    if endpoint is None or kind not in table.dml:
        allowed = ", ".join(("SELECT", *table.dml))
        raise UnsupportedStatementError(
            f"{kind} on ClickSend table {table.name} is not possible; it supports {allowed} (see sys_tables)."
        )
    if isinstance(statement, exp.Insert):
        return _insert(statement, table, run_query)
    if isinstance(statement, exp.Update):
        return _update(statement, table, run_query)
    if isinstance(statement, exp.Delete):
        return _delete(statement, table, run_query)
    raise UnsupportedStatementError(f"{statement.key.upper()} on ClickSend table {table.name} is not supported.")


def identity_columns(table: Table) -> list[str]:
    """The columns that say which resource a row is: its key and its path variables."""
    names = list(table.primary_key)
    names += [c.name for c in table.columns if c.path_param and c.name not in names]
    return names


def _insert(statement: exp.Insert, table: Table, run_query: RunQuery) -> WriteRows:
    target = statement.this
    names = [c.name for c in target.expressions] if isinstance(target, exp.Schema) else list(table.column_names)
    columns = tuple(table.column(name).name for name in names)
    source = statement.expression
    if source is None:  # INSERT INTO t, DEFAULT VALUES, BY NAME with nothing after it
        raise WriteError(
            f"INSERT INTO {table.name} gives no rows; give them as VALUES (...) or a SELECT (DEFAULT VALUES "
            "is not possible: ClickSend creates nothing without values)."
        )
    query = source if isinstance(source, exp.Query) else exp.select("*").from_(exp.Subquery(this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("v"))))
    rows = run_query(query.copy())
    if rows.num_columns != len(columns):
        raise WriteError(
            f"INSERT INTO {table.name} names {len(columns)} column(s) ({', '.join(columns)}) but its rows have "
            f"{rows.num_columns} value(s); give a column list that matches the values."
        )
    conflict = _conflict(statement, table, columns)
    return WriteRows("INSERT", table, columns, rows.rename_columns(list(columns)), conflict)


def _conflict(statement: exp.Insert, table: Table, columns: tuple[str, ...]) -> Conflict | None:
    """The upsert a statement asks for; the conflict column defaults to the first given column
    the catalog says to match on (Email, PhoneNumber, ...)."""
    clause = statement.args.get("conflict")
    replace = str(statement.args.get("alternative") or "").upper() == "REPLACE"
    if clause is None and not replace:
        return None
    keys = [k.this.name if isinstance(k, exp.Ordered) else k.name for k in (clause.args.get("conflict_keys") or [])] if clause else []
    if len(keys) > 1:
        raise WriteError(f"INSERT INTO {table.name} ON CONFLICT takes one column, not {', '.join(keys)}.")
    matchable = [c.name for c in table.columns if c.match_as or c.name in table.primary_key]
    column = table.column(keys[0]).name if keys else next((c for c in columns if c in matchable), None)
    if column is None or column not in matchable:
        raise WriteError(
            f"INSERT INTO {table.name} ON CONFLICT needs a column to match existing rows on; "
            f"{table.name} matches on {', '.join(matchable) or 'nothing'}."
        )
    if column not in columns:
        raise WriteError(f"INSERT INTO {table.name} ON CONFLICT ({column}): {column} is not among the inserted columns.")
    action = str(clause.args.get("action") or "").upper() if clause else "DO UPDATE"
    if (replace or "UPDATE" in action) and "UPDATE" not in table.dml:
        raise WriteError(
            f"INSERT INTO {table.name} {'OR REPLACE' if replace else 'ON CONFLICT ... DO UPDATE'}: {table.name} rows cannot "
            f"be changed once written (it takes {', '.join(('SELECT', *table.dml))}); use ON CONFLICT ({column}) DO NOTHING."
        )
    assignments = tuple(
        (table.column(e.this.name).name, e.expression) for e in (clause.expressions if clause else []) if isinstance(e, exp.EQ)
    )
    return Conflict(column, update=replace or "UPDATE" in action, assignments=assignments)


def _update(statement: exp.Update, table: Table, run_query: RunQuery) -> WriteRows:
    alias = statement.this.alias_or_name
    keys = identity_columns(table)
    if not statement.expressions or not all(isinstance(e, exp.EQ) for e in statement.expressions):
        raise WriteError(  # sqlglot accepts `UPDATE t` and `SET col` alone; DuckDB does not, nor do we
            f"UPDATE {table.name} needs SET column = value (several separated by commas)."
        )
    assignments = [(e.this, e.expression) for e in statement.expressions]
    columns = tuple(table.column(column.name).name for column, _ in assignments)
    for name in columns:
        if name in keys:
            raise WriteError(
                f"UPDATE {table.name} SET {name}: {name} identifies the row and cannot be changed; "
                f"the columns UPDATE may set are those without read_only in sys_columns."
            )
    select = exp.select(
        *[exp.column(k, table=alias, quoted=True) for k in keys],
        *[value.copy().as_(f"__set_{i}") for i, (_, value) in enumerate(assignments)],
    ).from_(statement.this.copy())
    source = statement.args.get("from_") or statement.args.get("from")
    if source is not None:
        select = select.join(source.this.copy(), join_type="cross")
    if statement.args.get("where"):
        select = select.where(statement.args["where"].this.copy())
    rows = once_per_target(run_query(select), keys)
    return WriteRows("UPDATE", table, columns, rows.rename_columns([*keys, *columns]))


def _delete(statement: exp.Delete, table: Table, run_query: RunQuery) -> WriteRows:
    if not isinstance(statement.this, exp.Table):  # `DELETE t` (sqlglot reads it as MySQL's multi-table form)
        raise WriteError(f"DELETE names its table after FROM: DELETE FROM {table.name} WHERE ...")
    keys = identity_columns(table)
    alias = statement.this.alias_or_name
    select = exp.select(*[exp.column(k, table=alias, quoted=True) for k in keys]).from_(statement.this.copy())
    for using in statement.args.get("using") or ():
        select = select.join(using.copy(), join_type="cross")
    if statement.args.get("where"):
        select = select.where(statement.args["where"].this.copy())
    return WriteRows("DELETE", table, (), once_per_target(run_query(select), keys))


def once_per_target(rows: pa.Table, keys: list[str]) -> pa.Table:
    """One row per target (a join in FROM or USING can repeat one), as DuckDB changes a row once
    however many rows match it: the last match's values, like DuckDB's own UPDATE ... FROM.

    >>> once_per_target(pa.table({"k": [1, 2, 1], "v": ["a", "b", "c"]}), ["k"]).to_pylist()
    [{'k': 2, 'v': 'b'}, {'k': 1, 'v': 'c'}]
    """
    if rows.num_rows < 2:
        return rows
    numbered = rows.select(keys).append_column("__i", pa.array(range(rows.num_rows), pa.int64()))
    last = numbered.group_by(keys, use_threads=False).aggregate([("__i", "max")]).column("__i_max")
    return rows.take(pa.array(sorted(last.to_pylist()), pa.int64()))
