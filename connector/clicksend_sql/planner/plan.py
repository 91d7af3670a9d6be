"""The plan: what each ClickSend table reference in a statement turns into.

A :class:`Scan` is everything the executor needs to fetch one table once per statement: the
request streams (path variables), the query parameters, the row limit, and whether the pushdown
is exact. It holds no HTTP or Arrow state, so a plan can be printed by ``EXPLAIN`` before any
request is made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..catalog import Column, Endpoint, Table

Mode = Literal["list", "get", "count"]
ANALYSIS_ERRORS: tuple[type[BaseException], ...] = (
    SqlglotError, RecursionError, KeyError, ValueError, TypeError, AttributeError,
)
"""What sqlglot's scope analysis and optimizer raise on statements they cannot read (simplify
compares naive with aware datetimes, for one): the rules then push nothing rather than guess."""


class NoMatch:
    """A constant no value of the column can equal (1401.5 for a BIGINT key): ``=`` and ``IN``
    drop it, so ``WHERE ListId = 1401.5`` needs no request at all."""

    def __repr__(self) -> str:
        return "NO_MATCH"


NO_MATCH = NoMatch()


class Session(Protocol):
    """What the rules ask of the DuckDB session the statement will run in."""

    pushdown: bool  # False: fetch whole tables and let DuckDB do everything (the differential baseline)

    def evaluate(self, expression: exp.Expr, sql_type: str) -> Any:
        """The value a constant has for a column of ``sql_type`` under DuckDB's comparison rules:
        None when it cannot be pushed, :data:`NO_MATCH` when no value of the column equals it;
        raises SQLError when DuckDB refuses the constant (it fails wherever it evaluates it)."""

    def evaluate_all(self, expressions: Sequence[exp.Expr], sql_type: str) -> list[Any]:
        """:meth:`evaluate` of each constant (an IN list's), in as few DuckDB queries as it can."""

    def refuses(self, conjuncts: Sequence[exp.Expr], table: Table, alias: str) -> bool:
        """Whether DuckDB fails evaluating one of these conjuncts on any row of ``table`` (named
        ``alias`` in them): a constant it cannot take, or cannot cast to the column it meets."""

    def setting(self, name: str) -> str:
        """A DuckDB setting in force (``default_order``, ``default_collation``, ...)."""

    def local_columns(self, table: str) -> list[str] | None:
        """The column names of a local table, view or replacement scan; None when there is none."""


@dataclass(frozen=True)
class Condition:
    """A WHERE conjunct of the form ``column op constant`` (IN carries several values)."""

    column: Column
    op: str
    values: tuple[Any, ...]
    sql: str
    subqueries: int = 0  # scalar subqueries over local rows, evaluated into ``values``

    def __str__(self) -> str:
        return self.sql

    @property
    def matches_nothing(self) -> bool:
        """An equality no value of the column can meet (``ListId = 1401.5``): no row qualifies."""
        return self.op in ("=", "IN") and not self.values


@dataclass
class Reference:
    """One occurrence of a ClickSend table in the statement, with the conjuncts that restrict it.

    ``complete`` is false when some conjunct on this reference could not be turned into a
    :class:`Condition` (an OR across columns, a function of the column, ...).
    """

    node: exp.Table | None
    conditions: list[Condition] = field(default_factory=list)
    leftover: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # why nothing may be pushed for this reference
    impossible: bool = False  # a constant conjunct is false: no row can qualify
    refused: bool = False  # a conjunct holds a constant DuckDB refuses: its rows must reach DuckDB, which fails on them

    @property
    def complete(self) -> bool:
        return not self.leftover and not self.held


@dataclass
class Scan:
    """How one ClickSend table is fetched for a statement."""

    table: Table
    view: str  # the DuckDB name its rows are registered under
    mode: Mode = "list"
    endpoint: Endpoint | None = None
    streams: list[dict[str, Any]] = field(default_factory=lambda: [{}])  # path variable values per stream
    fan_out: str | None = None  # path variable filled from every parent row
    keys: tuple[Any, ...] | None = None  # with fan_out: only the parent rows whose key is one of these
    params: dict[str, Any] = field(default_factory=dict)
    pushed: list[Condition] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # what was kept local for safety, and why
    exact: bool = False
    max_rows: int | None = None  # rows (passing ``checks``) after which the fetch may stop
    checks: list[Condition] = field(default_factory=list)  # conditions the API applies only roughly or not at all
    complete: bool = False  # every conjunct on the table is a condition (pushed, or in checks)
    search_term: str | None = None  # a keyword the table's search finds the rows by, before any fan-out
    order: str | None = None
    choice: str = ""  # which way a key list is read (per key, or through the parent's listing) and why

    @property
    def path(self) -> str:
        assert self.endpoint is not None
        return self.endpoint.path

    def describe_requests(self) -> str:
        """The expected request count, as EXPLAIN shows it."""
        if not self.streams:
            return "none (no row can match)"
        paged = not (self.endpoint and self.endpoint.shape in ("array", "object", "object_no_envelope"))
        if self.mode in ("get", "count") or not paged:
            per_stream = "1"
        elif self.max_rows is not None and self.checks:
            per_stream = f"pages{' in order' if self.order else ''} until {self.max_rows} rows pass the checks"
        else:
            per_stream = f"ceil({self.max_rows}/page size)" if self.max_rows is not None else "ceil(rows/100)"
        parent = self.table.parent
        among = f" among the {len(self.keys)} keys" if self.keys is not None else ""
        if self.fan_out and parent and self.mode == "count" and parent.count_column:
            which = f", for the rows{among}" if among else ""
            return f"the {parent.table} pages only (each row's {parent.count_column}{which})"
        streams = f"{len(self.streams)} x " if len(self.streams) > 1 else ""
        if not (self.fan_out and parent):
            return f"{streams}{per_stream}"
        if self.search_term is not None:
            return (f"1 search (nothing more when it finds none), the {parent.table} pages, then 1 GET per hit "
                    f"per {parent.table} row, or the listing when that takes fewer")
        if self.max_rows is not None:
            return (f"the {parent.table} pages as needed, then each {parent.table} row{among} in turn ({per_stream}) "
                    f"until {self.max_rows} rows")
        return f"the {parent.table} pages, then each {parent.table} row{among} x {streams}{per_stream}"


@dataclass
class Plan:
    """A statement rewritten for DuckDB plus the scans that feed it."""

    statement: exp.Expr
    scans: dict[str, Scan]  # lower-case table name -> scan
    duckdb_sql: str = ""
    count_alias: str | None = None  # set when count(*) is answered from `total`

    def explain_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "table": s.table.name,
                "mode": s.mode,
                "endpoint": f"{s.endpoint.method} /v3{s.path}" if s.endpoint else "",
                "streams": "; ".join(", ".join(f"{k}={v}" for k, v in stream.items()) for stream in s.streams if stream)
                or (f"per parent row{f' whose {s.fan_out} is one of {len(s.keys)} keys' if s.keys is not None else ''}"
                    if s.fan_out else ""),
                "params": ", ".join([f"{k}={v}" for k, v in s.params.items()]
                                    + ([f"search {s.table.search.param}={s.search_term}"] if s.search_term and s.table.search else [])),
                "pushed": " AND ".join(str(c) for c in s.pushed),
                "local": " AND ".join(s.local),
                "kept_local": "; ".join(s.held),
                "exact": s.exact,
                "limit": s.max_rows,
                "expected_requests": s.describe_requests(),
                "choice": s.choice,
            }
            for s in self.scans.values()
        ]

