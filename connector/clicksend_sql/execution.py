"""Execution: run a plan's scans over HTTP and hand back one Arrow table per ClickSend table.

Each table is fetched once per statement however often the statement mentions it, and a scan
that fans out over parent rows (Contacts over every ContactLists row) shares the parent's fetch
when the statement reads the parent too. All request streams run concurrently; the client's rate
limiter and concurrency cap keep them polite. Page bodies are converted in chunks off the event
loop (Arrow's JSON reader releases the GIL), so fetching and converting overlap.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote
from collections.abc import Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa

from .catalog import Catalog, Table
from .conversion import arrow_schema, bodies_to_arrow
from .errors import APIError, ForbiddenError, NotFoundError
from .http import ApiResponse, ClickSendClient
from .planner import Reference, Scan
from .planner.pushdown_filters import pushdown_filters
from .planner.planner import view_name

T = TypeVar("T")
CHUNK_PAGES = 64  # pages converted together: large enough for Arrow's reader, small enough to stream
COUNT_PAGE_SIZE = 15  # ClickSend's minimum page size; only `total` is read
PAGE_SIZE = 100  # ClickSend's maximum page size


@dataclass
class Progress:
    """Running totals for one table, passed to the progress callback after every page."""

    table: str
    pages: int = 0
    rows: int = 0
    bytes: int = 0
    expected_rows: int | None = None  # from the first page's ``total``, when the API says it


ProgressCallback = Callable[[Progress], None]


def fill_path(template: str, values: dict[str, Any]) -> str:
    """Fill ``{name}`` path variables, each percent-encoded as exactly one segment, so no value
    can climb to another resource or add a query string.

    >>> fill_path("/lists/{list_id}/contacts/{contact_id}", {"list_id": 5, "contact_id": 9})
    '/lists/5/contacts/9'
    >>> fill_path("/sms/receipts/{message_id}", {"message_id": "../history?x=1#a b"})
    '/sms/receipts/%2E%2E%2Fhistory%3Fx%3D1%23a%20b'
    """
    return re.sub(r"\{(\w+)\}", lambda m: path_segment(values[m.group(1)]), template)


def path_segment(value: Any) -> str:
    """One path segment: every reserved character, dots included, percent-encoded.

    >>> path_segment("ü/."), path_segment(42)
    ('%C3%BC%2F%2E', '42')
    """
    return quote(str(value), safe="").replace(".", "%2E")


class Executor:
    """Fetches the scans of one statement. Create one per statement."""

    def __init__(self, client: ClickSendClient, catalog: Catalog, progress: ProgressCallback | None = None) -> None:
        self._client = client
        self._catalog = catalog
        self._progress = progress
        self._tasks: dict[tuple[Any, ...], asyncio.Task[pa.Table]] = {}

    async def run(self, scans: dict[str, Scan]) -> dict[str, pa.Table | int]:
        """Fetch every scan concurrently: an Arrow table per table, or a row count in count mode.

        Structured: when one request stream fails, every other request of the statement is
        cancelled before the error is raised, so nothing outlives the statement.
        """
        names = list(scans)
        try:
            results = await _all(self._fetch(scans[n]) for n in names)
        finally:
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        return dict(zip(names, results, strict=True))

    def _fetch(self, scan: Scan) -> asyncio.Task[Any]:
        key = _signature(scan)
        if key not in self._tasks:
            self._tasks[key] = asyncio.ensure_future(self._fetch_now(scan))
        return self._tasks[key]

    async def _fetch_now(self, scan: Scan) -> pa.Table | int:
        if scan.max_rows == 0:  # LIMIT 0: the answer is known without asking
            return arrow_schema(scan.table).empty_table()
        streams = await self._streams(scan)
        progress = Progress(scan.table.name)
        if scan.mode == "count":
            totals = await _all(self._count(scan, s) for s in streams)
            return sum(totals)
        fetch = self._get if scan.mode == "get" else self._list
        parts = await _all(fetch(scan, s, progress) for s in streams)
        tables = [t for part in parts for t in part]
        return pa.concat_tables(tables) if tables else arrow_schema(scan.table).empty_table()

    async def _streams(self, scan: Scan) -> list[dict[str, Any]]:
        """Path-variable values per request stream; fan-out reads them from the parent's rows."""
        if not scan.fan_out or scan.table.parent is None:
            return scan.streams
        parent = self._catalog.table(scan.table.parent.table)
        parent_scan = pushdown_filters(parent, [Reference(node=None)], self._catalog, view_name(parent.name))
        rows = await self._fetch(parent_scan)
        keys = rows.column(scan.table.parent.parent_column).drop_null().to_pylist()
        return [{**s, scan.fan_out: k} for s in scan.streams for k in dict.fromkeys(keys)]

    async def _count(self, scan: Scan, stream: dict[str, Any]) -> int:
        try:
            response = await self._client.request(
                "GET",
                fill_path(scan.path, stream),
                params={**scan.params, "page": 1, "limit": COUNT_PAGE_SIZE},
                auth=scan.table.auth,
            )
        except (NotFoundError, ForbiddenError) as exc:
            if stream and _missing_parent(exc):
                return 0
            raise
        return _total(response)

    async def _get(self, scan: Scan, stream: dict[str, Any], progress: Progress) -> list[pa.Table]:
        assert scan.endpoint is not None
        try:
            response = await self._client.request("GET", fill_path(scan.path, stream), auth=scan.table.auth)
        except NotFoundError:
            return []
        shape = "object_no_envelope" if scan.endpoint.shape == "object_no_envelope" else "object"
        return [await self._convert(scan, [response], shape, stream, progress)]

    async def _list(self, scan: Scan, stream: dict[str, Any], progress: Progress) -> list[pa.Table]:
        """The rows of one stream; none when WHERE named a parent that does not exist."""
        try:
            return await self._list_pages(scan, stream, progress)
        except (NotFoundError, ForbiddenError) as exc:
            if stream and _missing_parent(exc):
                return []
            raise

    async def _list_pages(self, scan: Scan, stream: dict[str, Any], progress: Progress) -> list[pa.Table]:
        assert scan.endpoint is not None
        path, shape = fill_path(scan.path, stream), scan.endpoint.shape
        if shape not in ("paginator", "cursor", "cursor_no_envelope"):
            response = await self._client.request("GET", path, params=scan.params or None, auth=scan.table.auth)
            return [await self._convert(scan, [response], shape, stream, progress)]
        style = "page" if shape == "paginator" else shape
        tables: list[pa.Table] = []
        pending: list[ApiResponse] = []
        page_size = PAGE_SIZE if scan.max_rows is None else max(COUNT_PAGE_SIZE, min(PAGE_SIZE, scan.max_rows))
        pages = self._client.paginate(
            path, scan.params, style=style, page_size=page_size, max_rows=scan.max_rows, rows_key=scan.endpoint.rows_key
        )
        async with aclosing(pages):
            async for response in pages:
                pending.append(response)
                self._page_arrived(progress, response, shape)
                if len(pending) >= CHUNK_PAGES:
                    tables.append(await self._convert(scan, pending, shape, stream, progress))
                    pending = []
        if pending or not tables:
            tables.append(await self._convert(scan, pending, shape, stream, progress))
        return tables

    async def _convert(
        self, scan: Scan, responses: list[ApiResponse], shape: str, stream: dict[str, Any], progress: Progress
    ) -> pa.Table:
        bodies = [r.content for r in responses]
        table = await asyncio.to_thread(bodies_to_arrow, scan.table, bodies, shape, scan.endpoint.rows_key if scan.endpoint else None)
        table = _fill_path_columns(scan.table, table, stream)
        if len(responses) == 1 and responses[0].page is None:  # a single answer: counted here
            progress.pages += 1
            progress.bytes += len(bodies[0])
        progress.rows += table.num_rows
        if self._progress:
            self._progress(progress)
        return table

    def _page_arrived(self, progress: Progress, response: ApiResponse, shape: str) -> None:
        """Count a page as it arrives (rows follow once its chunk is converted); the first page of
        a paginator says how many rows the stream has, so the progress line can show a total."""
        progress.pages += 1
        progress.bytes += len(response.content)
        if shape == "paginator" and response.page == 1:
            data = response.data
            total = data.get("total") if isinstance(data, dict) else None
            if isinstance(total, int) and not isinstance(total, bool):
                progress.expected_rows = (progress.expected_rows or 0) + total
        if self._progress:
            self._progress(progress)


async def _all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Await all, in order; the first failure cancels the rest and is raised as itself (not as
    an ExceptionGroup), so callers see the package's own error."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_await(a)) for a in awaitables]
    except BaseExceptionGroup as failed:
        first = failed.exceptions[0]
        raise first from first.__cause__
    return [t.result() for t in tasks]


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _total(response: ApiResponse) -> int:
    """The paginator's ``total`` (read and checked by :meth:`ApiResponse.paginator`); a bare list
    is the whole answer."""
    paginator = response.paginator()
    if paginator is None:
        return len(response.data)
    return paginator.total or 0


def _missing_parent(exc: APIError) -> bool:
    """ClickSend answers a listing under a missing parent (``/lists/<bad>/contacts``) with 404, or
    403 "Resource not found or you don't have the permissions..." (NOTES.md §2); SQL wants no rows."""
    return isinstance(exc, NotFoundError) or "not found" in str(exc).lower()


def _fill_path_columns(table: Table, rows: pa.Table, stream: dict[str, Any]) -> pa.Table:
    """Rows do not always echo the path variables they were listed under; fill them in."""
    for column in table.columns:
        if column.path_param in stream and rows.num_rows and rows.column(column.name).null_count == rows.num_rows:
            index = rows.schema.get_field_index(column.name)
            value = pa.array([stream[column.path_param]] * rows.num_rows).cast(rows.schema.field(index).type)
            rows = rows.set_column(index, rows.schema.field(index), value)
    return rows


def _signature(scan: Scan) -> tuple[Any, ...]:
    return (
        scan.table.name,
        scan.mode,
        repr(scan.streams),
        scan.fan_out,
        repr(sorted(scan.params.items())),
        scan.max_rows,
    )
