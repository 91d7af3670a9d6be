"""List semantics shared by every collection endpoint (NOTES.md §4-§6), implemented once.

Page style: ``page``/``limit`` (default 15, clamped to the documented 15..100), ``q`` search,
``operator``, ``order_by`` (``order`` for fax), ``date_from``/``date_to``, and the paginator
object. Cursor style: opaque offsets for /own-numbers, /alpha-tags and /senders/default-senders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .envelope import ApiError, bad_request

DEFAULT_LIMIT = 15
MIN_LIMIT = 15
MAX_LIMIT = 100

Row = dict[str, Any]


@dataclass(frozen=True)
class ListQuery:
    """The parsed list parameters of one request."""

    page: int = 1
    limit: int = DEFAULT_LIMIT
    limit_given: bool = False  # the caller sent ``limit`` (page URLs then repeat it)
    search: tuple[tuple[str, str], ...] = ()
    any_term: bool = False  # operator=OR
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    date_from: int | None = None
    date_to: int | None = None


def _int_param(query: dict[str, str], name: str, message: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request({name: message}) from None


def parse_list_query(query: dict[str, str]) -> ListQuery:
    """Read and check the list parameters; a bad page, limit or date is a 400 naming the field.

    >>> parse_list_query({"page": "2", "limit": "500", "q": "status:Sent,to:+61", "order_by": "date:desc"})
    ListQuery(page=2, limit=100, limit_given=True, search=(('status', 'sent'), ('to', '+61')), any_term=False, order=(('date', True),), date_from=None, date_to=None)
    >>> parse_list_query({"limit": "1"}).limit
    15
    """
    page = _int_param(query, "page", "The page must be an integer of at least 1.")
    if page is not None and page < 1:
        raise bad_request({"page": "The page must be an integer of at least 1."})
    limit = _int_param(query, "limit", "The limit must be an integer between 15 and 100.")
    operator = query.get("operator", "AND").upper()
    if operator not in ("AND", "AN", "OR"):
        raise bad_request({"operator": "The operator must be AND or OR."})
    return ListQuery(
        page=page or 1,
        limit=DEFAULT_LIMIT if limit is None else min(max(limit, MIN_LIMIT), MAX_LIMIT),
        limit_given=limit is not None,
        search=_parse_search(query.get("q", "")),
        any_term=operator == "OR",
        order=_parse_order(query.get("order_by") or query.get("order") or ""),
        date_from=_int_param(query, "date_from", "The date_from must be a Unix timestamp in seconds."),
        date_to=_int_param(query, "date_to", "The date_to must be a Unix timestamp in seconds."),
    )


def _parse_search(raw: str) -> tuple[tuple[str, str], ...]:
    terms = []
    for part in raw.split(","):
        if not part.strip():
            continue
        field, sep, value = part.partition(":")
        if not sep:
            raise bad_request({"q": "Search terms look like field:value[,field:value]."})
        terms.append((field.strip(), value.strip().lower()))
    return tuple(terms)


def _parse_order(raw: str) -> tuple[tuple[str, bool], ...]:
    order = []
    for part in raw.split(","):
        if not part.strip():
            continue
        field, _, direction = part.partition(":")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise bad_request({"order_by": "Sort terms look like field:asc or field:desc."})
        order.append((field.strip(), direction == "desc"))
    return tuple(order)


def _as_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _sort_key(field: str) -> Callable[[Row], tuple[int, Any]]:
    """Numbers before strings, numbers numerically, strings case-insensitively, None last."""

    def key(row: Row) -> tuple[int, Any]:
        value = row.get(field)
        if value is None or value == "":
            return (2, 0)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (0, value)
        return (1, str(value).lower())

    return key


def select(rows: Sequence[Row], lq: ListQuery, date_field: str | None) -> Sequence[Row]:
    """Filter and sort; returns ``rows`` itself when there is nothing to do (the hot path)."""
    out: Sequence[Row] = rows
    if lq.search:
        terms = lq.search
        combine = any if lq.any_term else all
        out = [r for r in out if combine(v in str(r.get(f) if r.get(f) is not None else "").lower() for f, v in terms)]
    if date_field and (lq.date_from is not None or lq.date_to is not None):
        lo = float("-inf") if lq.date_from is None else lq.date_from
        hi = float("inf") if lq.date_to is None else lq.date_to
        out = [r for r in out if (t := _as_number(r.get(date_field))) is not None and lo <= t <= hi]
    if lq.order:
        out = list(out)
        for field, desc in reversed(lq.order):
            out.sort(key=_sort_key(field), reverse=desc)
    return out


def paginator(rows: Sequence[Row], lq: ListQuery, url: str, laravel_links: bool = False) -> dict[str, Any]:
    """The Laravel-style page object ClickSend returns in ``data``.

    Page URLs carry ``page`` and, when the caller asked for one, the ``limit`` (the real API keeps
    it; other parameters are not repeated).
    ``laravel_links`` adds the newer Laravel extras that /lists and /automations/sms/inbound show
    (first_page_url, last_page_url, path, links).

    >>> p = paginator([{"id": i} for i in range(40)], ListQuery(page=3), "http://h/v3/lists")
    >>> p["total"], p["last_page"], p["from"], p["to"], p["next_page_url"], p["prev_page_url"]
    (40, 3, 31, 40, None, 'http://h/v3/lists?page=2')
    >>> paginator([], ListQuery(), "u")["last_page"], paginator([], ListQuery(), "u")["current_page"]
    (0, 1)
    """
    total = len(rows)
    last_page = -(-total // lq.limit)
    start = (lq.page - 1) * lq.limit
    items = list(rows[start : start + lq.limit])
    page: dict[str, Any] = {
        "total": total,
        "per_page": lq.limit,
        "current_page": lq.page,
        "last_page": last_page,
        "next_page_url": _page_url(url, lq, lq.page + 1) if lq.page < last_page else None,
        "prev_page_url": _page_url(url, lq, lq.page - 1) if 1 < lq.page <= last_page + 1 and total else None,
        "from": start + 1 if items else None,
        "to": start + len(items) if items else None,
        "data": items,
    }
    if laravel_links:
        page.update(_laravel_links(url, lq.page, last_page))
    return page


def _page_url(url: str, lq: ListQuery, page: int) -> str:
    return f"{url}?page={page}&limit={lq.limit}" if lq.limit_given else f"{url}?page={page}"


def _laravel_links(url: str, current: int, last_page: int) -> dict[str, Any]:
    def link(n: int | None, label: str) -> dict[str, Any]:
        return {"url": f"{url}?page={n}" if n else None, "label": label, "page": n, "active": n == current}

    numbered = [link(n, str(n)) for n in range(1, last_page + 1)]
    previous = link(current - 1 if current > 1 else None, "&laquo; Previous")
    following = link(current + 1 if current < last_page else None, "Next &raquo;")
    return {
        "first_page_url": f"{url}?page=1",
        "last_page_url": f"{url}?page={max(last_page, 1)}",
        "path": url,
        "links": [{**previous, "active": False}, *numbered, {**following, "active": False}],
    }


def parse_page_size(query: dict[str, str], name: str, default: int, maximum: int) -> int:
    """A cursor endpoint's page size; out of range is a 400 (these endpoints validate strictly)."""
    size = _int_param(query, name, f"The {name} must be an integer between 1 and {maximum}.")
    if size is None:
        return default
    if not 1 <= size <= maximum:
        raise bad_request({name: f"The {name} must be an integer between 1 and {maximum}."})
    return size


def cursor_page(rows: Sequence[Row], offset: str | None, size: int, owner: str) -> tuple[list[Row], str | None]:
    """One page after the opaque ``offset`` (``<owner>#<last id>``) and the next offset, if any."""
    start = 0
    if offset:
        _, _, last_id = offset.rpartition("#")
        index = next((i for i, r in enumerate(rows) if r["id"] == last_id), None)
        if index is None:
            raise ApiError(400, "Invalid input.", {"offset": "The offset is not a cursor this endpoint returned."})
        start = index + 1
    items = list(rows[start : start + size])
    more = start + size < len(rows)
    return items, (f"{owner}#{items[-1]['id']}" if more and items else None)
