"""Execution: stream a plan's scans over HTTP into DuckDB as Arrow record batches.

Each scan becomes a :class:`Feed`, filled on the I/O loop by a producer task and read by DuckDB
through a :class:`ScanSource` (an Arrow PyCapsule stream DuckDB opens once per scan it plans).
Pages flow to DuckDB as they arrive, so DuckDB pulls and the requests follow: a bounded feed
holds back its producer when DuckDB is busy, a ``LIMIT`` DuckDB satisfies stops the reading, and
closing the executor cancels whatever is still in flight. Memory is bounded by the feeds, not by
the result.

A table the statement reads twice (a self-join, a CTE used twice) and the parent rows a fan-out
needs (ContactLists under Contacts) are fetched once and shared by every reader.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from .catalog import Catalog, Table
from .conversion import WrongPage, arrow_schema, bodies_to_arrow
from .errors import APIError, ForbiddenError, NotFoundError
from .http import ApiResponse, ClickSendClient
from .planner import Condition, Reference, Scan
from .planner.planner import view_name
from .planner.pushdown_filters import pushdown_filters
from .redaction import may_hold, redact_rows

T = TypeVar("T")
ParentRows = TypeVar("ParentRows", pa.Table, pa.RecordBatch)
CHUNK_PAGES = 64  # pages converted together at most: large enough for Arrow's reader, small enough to stream
CHUNK_SECONDS = 0.02  # the longest a page waits for others to be converted with, while rows are awaited
COUNT_PAGE_SIZE = 15  # ClickSend's minimum page size; only `total` is read
PAGE_SIZE = 100  # ClickSend's maximum page size
FEED_BYTES = 16 << 20  # converted rows a feed with one reader holds before its producer waits


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


class Feed:
    """One scan's record batches: produced once on the I/O loop, read by ``readers`` readers.

    With one reader a batch is let go once read, and the producer waits while ``FEED_BYTES`` are
    unread (back-pressure); with several, every batch is kept for the readers still to come.
    """

    def __init__(self, schema: pa.Schema, readers: int) -> None:
        self.schema = schema
        self.readers = readers
        self.rows = 0
        self._batches: list[pa.RecordBatch] = []
        self._first = 0  # the index of _batches[0]: batches before it were read and let go
        self._unread_bytes = 0
        self._opened = 0
        self._waiting = 0
        self._finished = False
        self._error: BaseException | None = None
        self._changed = asyncio.Condition()
        self._hunger: asyncio.Future[None] | None = None  # see hunger()
        self.starter: Callable[[], None] | None = None  # starts the producer at the first read, when set

    @property
    def hungry(self) -> bool:
        """A reader is waiting for rows: hand over what has arrived instead of gathering more."""
        return self._waiting > 0

    def hunger(self) -> asyncio.Future[None]:
        """Done once a reader waits for rows: pages gathered while it was busy go to it then, not
        when the next page comes (a second away at a slow pace)."""
        if self._hunger is None or self._hunger.done():
            self._hunger = asyncio.get_running_loop().create_future()
            if self._waiting:
                self._hunger.set_result(None)
        return self._hunger

    def open(self) -> bool:
        """A new reader starts at the first batch; False when that batch is gone (fetch again)."""
        self._opened += 1
        if self._first:
            return False
        self.readers = max(self.readers, self._opened)
        return True

    async def put(self, table: pa.Table) -> None:
        for batch in table.to_batches():
            async with self._changed:
                await self._changed.wait_for(
                    lambda: self.readers > 1 or self._unread_bytes < FEED_BYTES or not self._batches or self._error
                )
                self._batches.append(batch)
                self._unread_bytes += batch.nbytes
                self.rows += batch.num_rows
                self._changed.notify_all()

    async def read(self, position: int) -> pa.RecordBatch | None:
        """The batch at ``position`` once it has arrived; None at the end of the rows."""
        if self.starter is not None:
            start, self.starter = self.starter, None
            start()
        def ready() -> bool:
            return position < self._first + len(self._batches) or self._finished or self._error is not None

        async with self._changed:
            self._waiting += 1
            if not ready() and self._hunger is not None and not self._hunger.done():  # it will wait
                self._hunger.set_result(None)
            try:
                await self._changed.wait_for(ready)
            finally:
                self._waiting -= 1
            if self._error is not None:
                raise self._error
            if position >= self._first + len(self._batches):
                return None
            batch = self._batches[position - self._first]
            if self.readers <= 1:  # nobody else reads it: let it (and anything before it) go
                gone = self._batches[: position - self._first + 1]
                del self._batches[: position - self._first + 1]
                self._first = position + 1
                self._unread_bytes -= sum(b.nbytes for b in gone)
                self._changed.notify_all()
            return batch

    async def batches(self) -> AsyncIterator[pa.RecordBatch]:
        """Read every batch in order (a fan-out reading its parent's rows)."""
        position = 0
        while (batch := await self.read(position)) is not None:
            position += 1
            yield batch

    async def finish(self, error: BaseException | None = None) -> None:
        async with self._changed:
            self._finished = True
            self._error = self._error or error
            self._changed.notify_all()


class ScanSource:
    """What DuckDB scans for one ClickSend table: an Arrow stream (PyCapsule interface) opened
    once per scan in DuckDB's plan, each reading the statement's single fetch of the table."""

    def __init__(self, executor: Executor, name: str, schema: pa.Schema) -> None:
        self._executor = executor
        self._name = name
        self._schema = schema

    def __arrow_c_schema__(self) -> Any:
        return self._schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        feed = self._executor.call(self._executor.reader_feed(self._name))
        reader = pa.RecordBatchReader.from_batches(self._schema, self._read(feed))
        return reader.__arrow_c_stream__(requested_schema)

    def _read(self, feed: Feed) -> Iterator[pa.RecordBatch]:
        """Batches as DuckDB asks for them. Ctrl-C here reaches DuckDB as a failed read, so the
        executor remembers it for the statement to raise as what it was."""
        position = 0
        try:
            while (batch := self._executor.call(feed.read(position))) is not None:
                position += 1
                yield batch
        except KeyboardInterrupt:
            self._executor.interrupted = True
            raise


class Executor:
    """Fetches the scans of one statement. Create one per statement, on the I/O loop."""

    def __init__(
        self,
        client: ClickSendClient,
        catalog: Catalog,
        loop: asyncio.AbstractEventLoop,
        progress: ProgressCallback | None = None,
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._loop = loop
        self._progress = progress
        self._scans: dict[str, Scan] = {}
        self._feeds: dict[str, Feed] = {}  # statement scan name -> its feed
        self._shared: dict[tuple[Any, ...], Feed] = {}  # one feed per distinct fetch
        self._unstarted: list[tuple[Feed, Scan, Feed | None]] = []  # feed, its scan, its parent's feed
        self._everything: list[Feed] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.error: BaseException | None = None  # the first failure of any producer
        self.interrupted = False  # Ctrl-C arrived while DuckDB waited for rows

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the I/O loop from DuckDB's thread and wait for it."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    async def start(self, scans: dict[str, Scan], readers: dict[str, int]) -> dict[str, ScanSource]:
        """Start every scan's producer; ``readers`` says how often DuckDB will read each.

        All feeds exist before any producer runs, so a fan-out finds the feed of the parent rows
        the statement reads too, and shares it.
        """
        self._scans = scans
        for name, scan in scans.items():
            self._feeds[name] = self._feed(scan, readers.get(name, 1))
        for feed, scan, parent in self._unstarted:
            self._launch(scan, feed, parent)
        self._unstarted.clear()
        return {name: ScanSource(self, name, arrow_schema(scan.table)) for name, scan in scans.items()}

    async def reader_feed(self, name: str) -> Feed:
        """The feed a new DuckDB scan reads; a fresh fetch when DuckDB opens a table more often
        than the statement text said and the first reader has already let rows go."""
        feed = self._feeds[name]
        if feed.open():
            return feed
        scan = self._scans[name]
        again = Feed(arrow_schema(scan.table), readers=1)
        again.open()
        self._launch(scan, again, self._parent_feed(scan, shared=False))
        return again

    async def count(self, scan: Scan) -> int:
        """The number of rows of a count-mode scan: the parent rows' counts where the catalog
        declares one (``ContactLists.ContactsCount`` for Contacts), else each stream's ``total``."""
        parent = self._parent_feed(scan, shared=False)
        if parent is not None:
            self._launch(self._parent_scan(scan), parent, None)
            assert scan.table.parent is not None
            if scan.table.parent.count_column:
                counts = [pc.sum(_among_keys(scan, b).column(scan.table.parent.count_column)).as_py()
                          async for b in parent.batches()]
                return sum(c or 0 for c in counts)
        return sum(await _all([self._count(scan, s) async for s in self._stream_values(scan, parent)]))

    async def aclose(self) -> None:
        """Cancel every producer still running (DuckDB has all it wanted) and let them unwind."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for feed in self._everything:  # a producer cancelled before it began never finished its feed
            await feed.finish()

    def rows_fetched(self) -> dict[str, int]:
        """Rows fetched per table, for the statement's statistics."""
        return {scan.table.name: self._feeds[name].rows for name, scan in self._scans.items()}

    def _feed(self, scan: Scan, readers: int) -> Feed:
        """The statement's one feed for this fetch (and, for a fan-out, its parent's)."""
        key = _signature(scan)
        if key in self._shared:
            self._shared[key].readers += readers
        else:
            self._shared[key] = Feed(arrow_schema(scan.table), readers)
            # a search may make the parent rows unnecessary: its scan reads them from a feed of its own, on demand
            parent = self._parent_feed(scan, shared=scan.search_term is None)
            self._unstarted.append((self._shared[key], scan, parent))
        return self._shared[key]

    def _parent_feed(self, scan: Scan, *, shared: bool) -> Feed | None:
        if not scan.fan_out or scan.table.parent is None or scan.max_rows == 0:
            return None
        if shared:
            return self._feed(self._parent_scan(scan), 1)
        return Feed(arrow_schema(self._catalog.table(scan.table.parent.table)), readers=1)

    def _parent_scan(self, scan: Scan) -> Scan:
        assert scan.table.parent is not None
        parent = self._catalog.table(scan.table.parent.table)
        return pushdown_filters(parent, [Reference(node=None)], self._catalog, view_name(parent.name))

    def _launch(self, scan: Scan, feed: Feed, parent: Feed | None) -> None:
        """Start a producer (and a private parent's, which nothing else starts)."""
        if parent is not None and parent not in self._shared.values():
            start_parent = partial(self._launch, self._parent_scan(scan), parent, None)
            if scan.search_term is None:
                start_parent()
            else:
                parent.starter = start_parent
        self._everything.append(feed)
        self._tasks.append(asyncio.ensure_future(self._produce(scan, feed, parent)))

    async def _produce(self, scan: Scan, feed: Feed, parent: Feed | None) -> None:
        """Fill one feed. A failure fails every feed, so DuckDB stops wherever it is reading."""
        progress = Progress(scan.table.name)
        try:
            if scan.search_term is not None and parent is not None:
                found = await self._searched(scan, parent)
                if found is None:
                    return
                scan, parent = found, None
            if scan.max_rows is None:
                await self._pour_all(scan, feed, parent, progress)
            elif scan.max_rows > 0:
                await self._pour_until(scan, feed, parent, progress, scan.max_rows)
        except asyncio.CancelledError:
            await feed.finish()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to DuckDB's reader, raised from the statement
            self.error = self.error or exc
            for other in self._everything:
                await other.finish(exc)
        finally:
            await feed.finish()

    async def _pour_all(self, scan: Scan, feed: Feed, parent: Feed | None, progress: Progress) -> None:
        """Every stream, ``concurrency`` at a time, rows in the order they arrive."""
        slots = asyncio.Semaphore(self._client.concurrency)

        async def pour(stream: dict[str, Any]) -> None:
            try:
                async with aclosing(self._stream_tables(scan, stream, feed, progress, None)) as tables:
                    async for table in tables:
                        await feed.put(table)
            finally:
                slots.release()

        try:
            async with asyncio.TaskGroup() as group:
                async for stream in self._stream_values(scan, parent):
                    await slots.acquire()
                    group.create_task(pour(stream))
        except BaseExceptionGroup as failed:
            first = failed.exceptions[0]
            raise first from first.__cause__

    async def _pour_until(self, scan: Scan, feed: Feed, parent: Feed | None, progress: Progress, wanted: int) -> None:
        """Streams in order, one at a time, until ``wanted`` rows pass the scan's checks: a LIMIT
        pushed through a fan-out or over a filter the API applies only roughly."""
        async for stream in self._stream_values(scan, parent):
            async with aclosing(self._stream_tables(scan, stream, feed, progress, wanted)) as tables:
                async for table in tables:
                    await feed.put(table)
                    wanted -= qualifying_rows(table, scan.checks)
                    if wanted <= 0:
                        return

    async def _searched(self, scan: Scan, parent: Feed) -> Scan | None:
        """The scan narrowed by the table's search: None when nothing matches, else a GET per hit
        under each parent row, or the parents' listings when those take fewer requests."""
        search, link = scan.table.search, scan.table.parent
        assert search is not None and link is not None and scan.fan_out is not None and scan.table.get is not None
        key = scan.table.column(search.key).path_param
        hits: dict[Any, None] = {}
        pages = self._client.paginate(search.path, {search.param: scan.search_term}, page_size=PAGE_SIZE)
        async with aclosing(pages) as answers:
            async for answer in answers:
                rows = answer.data.get("data") if isinstance(answer.data, dict) else None
                if not isinstance(rows, list):
                    raise answer.invalid("has no list of search results at data.data")
                for row in rows:
                    if isinstance(row, dict) and row.get("type") == search.row_type and row.get("id") is not None:
                        hits[row["id"]] = None
        if not hits:
            return None
        parents = pa.Table.from_batches([b async for b in parent.batches()], parent.schema)
        keys = list(dict.fromkeys(parents.column(link.parent_column).drop_null().to_pylist()))
        listing = len(keys)
        if link.count_column:
            listing = sum(max(1, math.ceil((n or 0) / PAGE_SIZE)) for n in parents.column(link.count_column).to_pylist())
        if len(keys) * len(hits) <= listing:
            streams = [{**s, scan.fan_out: k, key: h} for s in scan.streams for k in keys for h in hits]
            return replace(scan, mode="get", endpoint=scan.table.get, streams=streams, fan_out=None, search_term=None)
        streams = [{**s, scan.fan_out: k} for s in scan.streams for k in keys]
        return replace(scan, streams=streams, fan_out=None, search_term=None)

    async def _stream_values(self, scan: Scan, parent: Feed | None) -> AsyncGenerator[dict[str, Any], None]:
        """Path-variable values per request stream; a fan-out reads them from its parent's rows."""
        if parent is None or scan.fan_out is None or scan.table.parent is None:
            for stream in scan.streams:
                yield stream
            return
        seen: set[Any] = set()
        async for batch in parent.batches():
            for key in _among_keys(scan, batch).column(scan.table.parent.parent_column).drop_null().to_pylist():
                if key not in seen:
                    seen.add(key)
                    for stream in scan.streams:
                        yield {**stream, scan.fan_out: key}

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

    async def _stream_tables(
        self, scan: Scan, stream: dict[str, Any], feed: Feed, progress: Progress, wanted: int | None
    ) -> AsyncGenerator[pa.Table, None]:
        """The rows of one stream as converted tables; none when it names a missing parent."""
        assert scan.endpoint is not None
        path, shape = fill_path(scan.path, stream), scan.endpoint.shape
        if scan.mode == "get":
            try:
                response = await self._client.request("GET", path, auth=scan.table.auth)
            except NotFoundError:
                return
            self._page_arrived(progress, response, shape)
            single = "object_no_envelope" if shape == "object_no_envelope" else "object"
            yield await self._convert(scan, [response], single, stream, progress)
            return
        try:
            if shape not in ("paginator", "cursor", "cursor_no_envelope"):
                response = await self._client.request("GET", path, params=scan.params or None, auth=scan.table.auth)
                self._page_arrived(progress, response, shape)
                yield await self._convert(scan, [response], shape, stream, progress)
                return
            async with aclosing(self._pages(scan, path, shape, wanted)) as pages:
                chunks = _chunks(pages, feed, eager=wanted is not None,
                                 arrived=lambda response: self._page_arrived(progress, response, shape))
                async with aclosing(chunks):
                    async for chunk in chunks:
                        yield await self._convert(scan, chunk, shape, stream, progress)
        except (NotFoundError, ForbiddenError) as exc:
            if not (stream and _missing_parent(exc)):
                raise

    def _pages(self, scan: Scan, path: str, shape: str, wanted: int | None) -> AsyncGenerator[ApiResponse, None]:
        """The stream's pages. With checks to pass, the caller stops once enough rows passed:
        page 1 alone first, then one page at a time in the API's order when the rows must be
        its first ones (a pushed ORDER BY), else the usual concurrent window."""
        assert scan.endpoint is not None
        checked = bool(scan.checks) and wanted is not None
        page_size = PAGE_SIZE if wanted is None or checked else max(COUNT_PAGE_SIZE, min(PAGE_SIZE, wanted))
        return self._client.paginate(
            path,
            scan.params,
            style="page" if shape == "paginator" else shape,
            page_size=page_size,
            max_rows=None if checked else wanted,
            rows_key=scan.endpoint.rows_key,
            in_order=checked and scan.order is not None,
            check_pages=False,  # by _convert, as Arrow parses them
        )

    async def _convert(
        self, scan: Scan, answers: list[ApiResponse], shape: str, stream: dict[str, Any], progress: Progress
    ) -> pa.Table:
        """The rows of ``answers``, typed; a page-number walk's later pages checked to be the pages asked for."""
        rows_key = scan.endpoint.rows_key if scan.endpoint else None
        bodies = [answer.content for answer in answers]
        pages = [answer.page if answer.page != 1 else None for answer in answers] if shape == "paginator" else []
        try:
            table = await asyncio.to_thread(bodies_to_arrow, scan.table, bodies, shape, rows_key, pages=pages)
        except WrongPage as wrong:
            raise answers[wrong.index].invalid(wrong.why) from None
        table = _fill_path_columns(scan.table, table, stream)
        secrets = (self._client.settings.api_key,)
        if may_hold(bodies, secrets):
            table = redact_rows(table, secrets)
        progress.rows += table.num_rows
        if self._progress:
            self._progress(progress)
        return table

    def _page_arrived(self, progress: Progress, response: ApiResponse, shape: str) -> None:
        """Count a page or answer as it arrives (rows follow once it is converted); the first page
        of a paginator says how many rows the stream has, so the progress line can show a total."""
        progress.pages += 1
        progress.bytes += len(response.content)
        if shape == "paginator" and response.page == 1:
            data = response.data
            total = data.get("total") if isinstance(data, dict) else None
            if isinstance(total, int) and not isinstance(total, bool):
                progress.expected_rows = (progress.expected_rows or 0) + total
        if self._progress:
            self._progress(progress)


def qualifying_rows(table: pa.Table, checks: Sequence[Condition]) -> int:
    """How many rows pass every check (``column op constant``), counting a row only when it
    surely passes: an undercount fetches more, never fewer, rows than the LIMIT needs.

    >>> from clicksend_sql.catalog import load_catalog
    >>> status = load_catalog().table("SMSHistory").column("Status")
    >>> rows = pa.table({"Status": ["Failed", "Sent", None, "Failed"]})
    >>> qualifying_rows(rows, [Condition(status, "=", ("Failed",), "Status = 'Failed'")])
    2
    """
    if not checks:
        return table.num_rows
    mask: Any = None
    for check in checks:
        column = table.column(check.column.name)
        try:
            values = pa.array(list(check.values)).cast(column.type)
            if check.op == "IN":
                passed = pc.is_in(column, value_set=values)
            else:
                passed = _COMPARE[check.op](column, values[0])
        except (pa.ArrowException, KeyError, TypeError, ValueError):
            return 0
        mask = passed if mask is None else pc.and_kleene(mask, passed)
    return int(pc.sum(pc.fill_null(mask, False)).as_py() or 0)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": pc.equal, "<>": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal,
}


async def _chunks(
    pages: AsyncIterator[ApiResponse], feed: Feed, *, eager: bool, arrived: Callable[[ApiResponse], None]
) -> AsyncGenerator[list[ApiResponse], None]:
    """A walk's pages in the chunks they are converted in (``arrived`` told of each page at once).

    A chunk goes at once when ``eager`` (rows are counted against a LIMIT), at ``CHUNK_PAGES``, and
    once its first page has waited ``CHUNK_SECONDS`` while the feed's reader waits for rows; a
    reader busy with earlier rows leaves pages to gather until it waits again. Converting each
    page alone as it came cost twice the CPU of chunks of ten (Arrow's JSON reader and the casts
    cost ~0.7 ms a call); chunks doubling up to 64 pages grew a 300,000-row COPY by 40-50 MB
    (bench_streaming.py).
    """
    pending: list[ApiResponse] = []
    first_at = 0.0
    upcoming: asyncio.Future[ApiResponse | None] | None = None
    loop = asyncio.get_running_loop()
    try:
        while True:
            if upcoming is None:
                upcoming = asyncio.ensure_future(anext(pages, None))
            hungry = feed.hungry
            wait = max(0.0, first_at + CHUNK_SECONDS - loop.time()) if pending and hungry else None
            watched: set[asyncio.Future[Any]] = {upcoming} if hungry or not pending else {upcoming, feed.hunger()}
            done, _ = await asyncio.wait(watched, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            if upcoming in done:
                page, upcoming = upcoming.result(), None
                if page is None:
                    break
                arrived(page)
                pending.append(page)
                if len(pending) == 1:
                    first_at = loop.time()
                ripe = eager or len(pending) >= CHUNK_PAGES or (feed.hungry and loop.time() - first_at >= CHUNK_SECONDS)
            else:  # CHUNK_SECONDS are up while rows are awaited, or a reader began to wait (then what is left of them)
                ripe = not done
            if ripe:
                yield pending
                pending = []
        if pending:
            yield pending
    finally:
        if upcoming is not None:  # the walk is being closed mid-page: stop it before it is closed
            upcoming.cancel()
            await asyncio.gather(upcoming, return_exceptions=True)


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


def _among_keys(scan: Scan, parents: ParentRows) -> ParentRows:
    """The parent rows a fan-out reads under: those whose key is among the scan's keys, if it has any."""
    if scan.keys is None or scan.table.parent is None:
        return parents
    keys = parents.column(scan.table.parent.parent_column)
    return parents.filter(pc.is_in(keys, value_set=pa.array(scan.keys, keys.type)))


def _signature(scan: Scan) -> tuple[Any, ...]:
    return (
        scan.table.name,
        scan.mode,
        repr(scan.streams),
        scan.fan_out,
        repr(scan.keys),
        repr(sorted(scan.params.items())),
        scan.max_rows,
        repr(scan.checks),
    )
