"""Statement results: an Arrow table plus what it cost to produce."""

from __future__ import annotations

import html
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from .errors import ClickSendSQLError, did_you_mean
from .http import RequestStats

_HTML_ROWS = 50
KINDS = ("query", "explain", "call", "write")  # what produced a result; the CLI renders EXPLAIN specially


@dataclass
class StatementStats(RequestStats):
    """What one statement cost: the client's counters over the statement, wall time, rows per table."""

    elapsed_seconds: float = 0.0
    rows_fetched: dict[str, int] = field(default_factory=dict)


class Result:
    """The answer to one statement, materialised as an Arrow table.

    The ``fetch*`` methods behave like a DuckDB cursor: each hands out the rows after the ones
    already fetched. ``arrow()``, ``df()``, ``pl()``, ``len()`` and iteration always see every row.

    >>> r = Result(pa.table({"n": [1, 2, 3]}))
    >>> r.fetchone(), r.fetchmany(5), r.fetchall(), r.fetchone()
    ((1,), [(2,), (3,)], [], None)
    >>> r.columns, len(r), list(r)
    (['n'], 3, [(1,), (2,), (3,)])
    """

    def __init__(self, table: pa.Table, stats: StatementStats | None = None, *, kind: str = "query",
                 rowcount: int | None = None, has_rows: bool = True) -> None:
        if kind not in KINDS:
            raise ClickSendSQLError(f"Unknown result kind {kind!r}; accepted kinds are {', '.join(KINDS)}.")
        self._table = table
        self.stats = stats or StatementStats()
        self.kind = kind
        # DB-API's rowcount: rows a write changed, rows a query returned, -1 when neither applies (DDL).
        self.rowcount = rowcount if rowcount is not None else (table.num_rows if table.num_columns else -1)
        # False for DuckDB's status answer (``Count``, ``Success``) to a local write, DDL or SET: DB-API cursors
        # and the Postgres server then have no rows, only a row count.
        self.has_rows = has_rows and table.num_columns > 0
        self._fetched = 0  # rows the fetch* methods have handed out

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

    # --- DB-API cursor ---------------------------------------------------------------------------

    @property
    def description(self) -> list[tuple[Any, ...]] | None:
        """DB-API column descriptions with DuckDB's type objects (``None`` when there are no columns)."""
        return self._relation().description if self._table.num_columns else None

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        return _rows(self._take(size))

    def fetchall(self) -> list[tuple[Any, ...]]:
        """The rows not fetched yet (all of them on a fresh result)."""
        return _rows(self._take(None))

    def fetchnumpy(self) -> dict[str, Any]:
        """The rows not fetched yet as NumPy arrays per column (masked where NULL), as DuckDB gives them."""
        rest = self._take(None)
        return duckdb.from_arrow(rest).fetchnumpy() if rest.num_columns else {}

    def fetch_record_batch(self, rows_per_batch: int = 1_000_000) -> RecordBatchStream:
        """The rows not fetched yet as batches, as DuckDB's ``fetch_record_batch`` gives them (this
        result is held in memory; ``Connection.stream`` streams instead).

        >>> reader = Result(pa.table({"n": [1, 2, 3]})).fetch_record_batch(2)
        >>> [b.num_rows for b in reader]
        [2, 1]
        """
        rest = self._take(None)
        return RecordBatchStream(rest.schema, (batch for batch in rest.to_batches(max_chunksize=rows_per_batch)))

    def _take(self, size: int | None) -> pa.Table:
        start = min(self._fetched, self._table.num_rows)
        taken = self._table.slice(start, size)
        self._fetched = start + taken.num_rows
        return taken

    # --- display ---------------------------------------------------------------------------------

    def show(self, **options: Any) -> None:
        """Print the rows as DuckDB's relations do; ``options`` are DuckDB's (``max_rows``, ``max_width``...)."""
        if self._table.num_columns:
            self._relation().show(**options)
        else:
            print(repr(self))

    @property
    def columns(self) -> list[str]:
        return self._table.column_names

    def __len__(self) -> int:
        return self._table.num_rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(_rows(self._table))

    def __repr__(self) -> str:
        return repr(self._relation()) if self._table.num_columns else "<Result with no columns>"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
            for row in _rows(self._table.slice(0, _HTML_ROWS))
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table><p>{_row_count(len(self))}</p>"

    def _relation(self) -> duckdb.DuckDBPyRelation:
        return duckdb.from_arrow(self._table)

    # --- DuckDB's relational API, over the rows already fetched ------------------------------------

    fetchdf = df

    @property
    def types(self) -> list[Any]:
        """DuckDB's type of each column."""
        return list(self._relation().types) if self._table.num_columns else []

    dtypes = types

    @property
    def shape(self) -> tuple[int, int]:
        return self._table.num_rows, self._table.num_columns

    def filter(self, condition: str) -> Result:
        return self._local("filter", condition)

    def project(self, *expressions: str) -> Result:
        return self._local("project", *expressions)

    select = project

    def aggregate(self, aggregates: str, groups: str = "") -> Result:
        return self._local("aggregate", aggregates, groups)

    def order(self, ordering: str) -> Result:
        return self._local("order", ordering)

    sort = order

    def limit(self, n: int, offset: int = 0) -> Result:
        return self._local("limit", n, offset)

    def distinct(self) -> Result:
        return self._local("distinct")

    def to_csv(self, path: str, **options: Any) -> None:
        """The rows as a CSV file (DuckDB's writer and options: ``header``, ``sep``...)."""
        self._local_call("to_csv", path, **options)

    write_csv = to_csv

    def to_parquet(self, path: str, **options: Any) -> None:
        """The rows as a Parquet file (DuckDB's writer and options: ``compression``...)."""
        self._local_call("to_parquet", path, **options)

    write_parquet = to_parquet

    def _local(self, method: str, *args: Any) -> Result:
        """A DuckDB relation step over these rows, as a new Result (no request: the rows are here)."""
        return Result(self._local_call(method, *args).to_arrow_table())

    def _local_call(self, method: str, *args: Any, **options: Any) -> Any:
        from .duckdb_errors import category

        try:
            return getattr(self._relation(), method)(*args, **options)
        except duckdb.Error as exc:
            raise category(exc)(f"{method}: {str(exc).splitlines()[0]}") from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        known = sorted(n for n in dir(type(self)) if not n.startswith("_"))
        raise AttributeError(f"A clicksend_sql Result has no {name!r}.{did_you_mean(name, known)} It has: "
                             f"{', '.join(known)}. For anything else, take .arrow() into DuckDB or run SQL with con.sql().")


def _row_count(rows: int) -> str:
    """The footer under a notebook's table: how many rows, and how many of them it shows.

    >>> _row_count(1), _row_count(1234)
    ('1 row', '1,234 rows (the first 50 shown)')
    """
    shown = f" (the first {_HTML_ROWS} shown)" if rows > _HTML_ROWS else ""
    return f"{rows:,} row{'s' if rows != 1 else ''}{shown}"


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns, strict=True)) if columns else []


class RecordBatchStream:
    """A query's rows as they arrive (``Connection.stream``): iterate it, or ``read_next_batch``,
    for pyarrow RecordBatches; ``close()`` (or leaving ``with``) cancels the requests not made yet.

    It reads like a ``pyarrow.RecordBatchReader`` and hands itself to Arrow consumers through the
    Arrow C stream interface (``pa.RecordBatchReader.from_stream(s)``, polars, DuckDB). Read here,
    a failed request or DuckDB error is the package's own exception; a pyarrow reader would wrap it
    as ``ArrowInvalid`` with a Python traceback in its message.

    >>> def batches():
    ...     yield pa.record_batch({"n": [1, 2]})
    ...     yield pa.record_batch({"n": [3]})
    >>> with RecordBatchStream(pa.schema([("n", pa.int64())]), batches()) as s:
    ...     [b.num_rows for b in s]
    [2, 1]
    >>> RecordBatchStream(pa.schema([("n", pa.int64())]), batches()).read_all().num_rows
    3
    """

    def __init__(self, schema: pa.Schema, batches: Generator[pa.RecordBatch, None, None]) -> None:
        self.schema = schema
        self._batches = batches

    def read_next_batch(self) -> pa.RecordBatch:
        """The next batch; StopIteration after the last, as pyarrow's readers raise."""
        return next(self._batches)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self._batches

    def read_all(self) -> pa.Table:
        return pa.Table.from_batches(list(self._batches), schema=self.schema)

    def close(self) -> None:
        self._batches.close()

    def __enter__(self) -> RecordBatchStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        """The Arrow C stream of the rows still to come (errors then reach the consumer as Arrow's)."""
        return pa.RecordBatchReader.from_batches(self.schema, self._batches).__arrow_c_stream__(requested_schema)
