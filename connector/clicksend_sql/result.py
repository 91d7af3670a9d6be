"""Statement results: an Arrow table plus what it cost to produce."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from .errors import ClickSendSQLError
from .http import RequestStats

_HTML_ROWS = 50


@dataclass
class StatementStats(RequestStats):
    """What one statement cost: the client's counters over the statement, wall time, rows per table."""

    elapsed_seconds: float = 0.0
    rows_fetched: dict[str, int] = field(default_factory=dict)


class Result:
    """The answer to one statement, materialised as an Arrow table.

    >>> r = Result(pa.table({"n": [1, 2]}))
    >>> r.fetchall(), r.columns, len(r)
    ([(1,), (2,)], ['n'], 2)
    """

    def __init__(self, table: pa.Table, stats: StatementStats | None = None) -> None:
        self._table = table
        self.stats = stats or StatementStats()

    def arrow(self) -> pa.Table:
        return self._table

    def df(self) -> Any:
        """A pandas DataFrame (needs the ``pandas`` extra)."""
        try:
            return self._table.to_pandas()
        except ImportError:
            raise ClickSendSQLError("Result.df() needs pandas: pip install 'clicksend-sql[pandas]'") from None

    def pl(self) -> Any:
        """A polars DataFrame (needs the ``polars`` extra)."""
        try:
            import polars
        except ImportError:
            raise ClickSendSQLError("Result.pl() needs polars: pip install 'clicksend-sql[polars]'") from None
        return polars.from_arrow(self._table)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self)

    def fetchone(self) -> tuple[Any, ...] | None:
        return next(iter(self), None)

    @property
    def columns(self) -> list[str]:
        return self._table.column_names

    def __len__(self) -> int:
        return self._table.num_rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        columns = [c.to_pylist() for c in self._table.columns]
        return iter(zip(*columns, strict=True)) if columns else iter(())

    def __repr__(self) -> str:
        return repr(duckdb.from_arrow(self._table))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
            for row in Result(self._table.slice(0, _HTML_ROWS))
        )
        more = f"<p>{len(self) - _HTML_ROWS} more rows</p>" if len(self) > _HTML_ROWS else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}"
