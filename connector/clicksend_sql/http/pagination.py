"""Walking a list endpoint page by page, one paginator class per envelope shape ClickSend uses.

* :class:`PageNumberPaginator`: ``{data: {current_page, last_page, data: [...]}}``, asked for with
  ``page``/``limit``: page 1 tells how many pages there are, the rest are fetched concurrently;
* :class:`EnvelopedCursorPaginator`: ``{data: {next_page_url, data: [...]}}``, size ``per_page``;
* :class:`BareCursorPaginator`: ``{<rows>: [...], _metadata: {pagination: {next}}}``, size ``page_size``.

The client picks one from :data:`PAGINATORS` by style name and calls its ``pages``; every page is
fetched through the client (its limits, retries and error mapping) and checked to be the page
asked for, so a proxy's HTML page or a wrong envelope fails instead of reading as no rows.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import httpx

from .responses import ApiResponse

FetchPage = Callable[[Mapping[str, Any], int], Awaitable[ApiResponse]]
"""GET the list with these query parameters as page ``n`` of the walk (the page an error names)."""


def one_at_a_time() -> int:
    """The window of a walk in page order."""
    return 1


@dataclass(frozen=True)
class PageWalk:
    """What one walk asks for, whatever the envelope: ``page_size`` rows a page, stop once pages
    covering ``max_rows`` were fetched, ``window()`` page-numbered pages fetched at once (asked
    again as pages arrive: the client's slots grow with its pace), the member holding the
    rows of a bare-cursor page (``None``: its one list-valued member), and whether the later pages
    of a page-number walk are checked here to be the pages asked for (``False``: their reader
    checks them as it parses them anyway, with :func:`~.responses.not_the_page`; a parse here would
    cost as much CPU as the rest of the walk), and ``planned(first, pages)``, told page 1 of a
    page-number walk and how many pages the walk will fetch once page 1 has said."""

    page_size: int
    max_rows: int | None = None
    window: Callable[[], int] = one_at_a_time
    rows_key: str | None = None
    check_pages: bool = True
    planned: Callable[[ApiResponse, int], None] | None = None


class ListPaginator(ABC):
    """One envelope shape's way of asking for the next page; stateless, so one instance serves all."""

    @abstractmethod
    def pages(
        self, fetch: FetchPage, params: Mapping[str, Any] | None, walk: PageWalk
    ) -> AsyncGenerator[ApiResponse, None]:
        """Every page of the list, each from ``fetch``; close it when stopping early."""


class PageNumberPaginator(ListPaginator):
    """Page 1 tells how many pages there are; the rest are fetched in a bounded window and
    yielded as they complete (in order only with a window of 1)."""

    async def pages(
        self, fetch: FetchPage, params: Mapping[str, Any] | None, walk: PageWalk
    ) -> AsyncGenerator[ApiResponse, None]:
        query = {**(params or {}), "limit": walk.page_size}
        first = await fetch({**query, "page": 1}, 1)
        paginator = first.paginator()
        yield first
        if paginator is None:
            return
        last_page = paginator.last_page
        if walk.max_rows is not None:
            last_page = min(last_page, max(1, math.ceil(walk.max_rows / (paginator.per_page or walk.page_size))))
        if walk.planned is not None:
            walk.planned(first, last_page)
        fetches = (partial(_later_page, fetch, query, n, walk.check_pages) for n in range(2, last_page + 1))
        async with aclosing(_as_completed(fetches, window=walk.window)) as rest:
            async for response in rest:
                yield response


async def _later_page(fetch: FetchPage, query: Mapping[str, Any], page: int, check: bool) -> ApiResponse:
    """Page ``page``, checked to be that page unless its reader checks it."""
    response = await fetch({**query, "page": page}, page)
    if check:
        response.paginator()
    return response


async def _as_completed(
    fetches: Iterable[Callable[[], Awaitable[ApiResponse]]], *, window: Callable[[], int]
) -> AsyncGenerator[ApiResponse, None]:
    """Run fetches with at most ``window()`` started at once, yielding results as they finish.

    The window bounds memory when the consumer is slower than the network; the client's slots
    and pace still decide how many are actually on the wire.
    """
    pending = iter(fetches)
    unclaimed = {asyncio.ensure_future(f()) for f in itertools.islice(pending, window())}  # running or unread
    try:
        while unclaimed:
            done, _ = await asyncio.wait(unclaimed, return_when=asyncio.FIRST_COMPLETED)
            room = max(0, window() - len(unclaimed) + len(done))
            unclaimed |= {asyncio.ensure_future(f()) for f in itertools.islice(pending, room)}
            for task in done:
                unclaimed.discard(task)
                yield task.result()
    finally:
        # also the finished ones never read (a sibling failed first), so no error goes unretrieved
        for task in unclaimed:
            task.cancel()
        await asyncio.gather(*unclaimed, return_exceptions=True)


class CursorPaginator(ListPaginator):
    """Follow the server's cursor one page at a time (each page names the next).

    Only the cursor (``offset``) is taken from the next-page link; the host is ignored so
    credentials never go anywhere but ``base_url``, and the caller's filters stay as given.
    """

    size_param: ClassVar[str]
    """The query parameter that sets the page size."""

    @abstractmethod
    def read_page(self, response: ApiResponse, walk: PageWalk) -> tuple[int, str | None]:
        """How many rows the page holds and the cursor of the next page (``None`` on the last)."""

    async def pages(
        self, fetch: FetchPage, params: Mapping[str, Any] | None, walk: PageWalk
    ) -> AsyncGenerator[ApiResponse, None]:
        query = {**(params or {}), self.size_param: walk.page_size}
        seen_rows = 0
        seen_cursors: set[str] = set()
        for page in itertools.count(1):
            response = await fetch(query, page)
            rows, cursor = self.read_page(response, walk)
            yield response
            seen_rows += rows
            if not rows or not cursor or cursor in seen_cursors or (
                walk.max_rows is not None and seen_rows >= walk.max_rows
            ):
                return
            seen_cursors.add(cursor)
            query["offset"] = cursor


class EnvelopedCursorPaginator(CursorPaginator):
    """``/senders/default-senders``: the usual envelope, with ``data.next_page_url``.

    >>> body = b'{"data": {"data": [{}], "next_page_url": "/v3/senders/default-senders?offset=2"}}'
    >>> EnvelopedCursorPaginator().read_page(ApiResponse(200, body, httpx.Headers(), "GET", "/s"), PageWalk(10))
    (1, '2')
    """

    size_param = "per_page"

    def read_page(self, response: ApiResponse, walk: PageWalk) -> tuple[int, str | None]:
        body = response.json()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise response.invalid("is not a ClickSend page (no list of rows at data.data)")
        return len(data["data"]), _next_cursor(response, data.get("next_page_url"))


class BareCursorPaginator(CursorPaginator):
    """``/own-numbers`` and ``/alpha-tags``: no envelope, the next page in ``_metadata.pagination.next``.
    Without ``rows_key`` the rows are the body's list-valued member.

    >>> body = b'{"alpha_tags": [{}, {}], "_metadata": {"pagination": {"next": "/alpha-tags?offset=a1"}}}'
    >>> BareCursorPaginator().read_page(ApiResponse(200, body, httpx.Headers(), "GET", "/alpha-tags"), PageWalk(10))
    (2, 'a1')
    """

    size_param = "page_size"

    def read_page(self, response: ApiResponse, walk: PageWalk) -> tuple[int, str | None]:
        body = response.json()
        if not isinstance(body, dict):
            raise response.invalid("is not a JSON object")
        key = walk.rows_key
        rows = body.get(key) if key else next((v for v in body.values() if isinstance(v, list)), None)
        if not isinstance(rows, list):
            raise response.invalid(f"has no list of rows{f' at {key}' if key else ''}")
        metadata = body.get("_metadata")
        pagination = metadata.get("pagination") if isinstance(metadata, dict) else None
        return len(rows), _next_cursor(response, pagination.get("next") if isinstance(pagination, dict) else None)


PAGINATORS: Mapping[str, ListPaginator] = {
    "page": PageNumberPaginator(),
    "cursor": EnvelopedCursorPaginator(),
    "cursor_no_envelope": BareCursorPaginator(),
}
"""The paginator of each ``style`` a table declares."""
PAGE_STYLES = tuple(PAGINATORS)


def _next_cursor(response: ApiResponse, link: Any) -> str | None:
    """The cursor of a page's next-page link; ``None`` on the last page."""
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        raise response.invalid(f"has a next-page link that is {type(link).__name__}, not text")
    try:
        return _cursor_of(link)
    except httpx.InvalidURL as exc:
        raise response.invalid(f"has a next-page link that is not a URL ({exc})") from exc


def _cursor_of(link: str) -> str | None:
    """The ``offset`` of a next-page link, or the link itself when the server sent a bare token.

    >>> _cursor_of("https://rest.clicksend.com/v3/own-numbers?offset=a%23b&page_size=10"), _cursor_of("YQ/b==")
    ('a#b', 'YQ/b==')
    """
    if "?" in link or link.startswith(("http://", "https://", "/")):
        return httpx.URL(link).params.get("offset")
    return link
