"""Rule: a long key list is read from the listing, not a request per key.

An IN list on a table's key is a GET per key, and on a parent column (Contacts.ListId) a
listing stream per key: a request per key at least, even for keys nothing has. The listing
costs a request per 100 rows (ClickSend's largest page). Reaching a child table through its
parent, the parent's listing says which keys are parent rows, and only their child rows are
fetched (a count needs the parent rows alone: each one's ``ContactsCount``): both ways fetch the
same parent rows' pages, so what differs is a request per key that names no parent row against
the listing's own pages. The rows are the same either way, and DuckDB still applies the list.

The planner makes no request, so it cannot count the listing's rows: it reads the listing when
the keys outnumber one listing page. The listing then costs fewer requests unless the table (or
the parent) has more than 100 rows per key, or per key that names none. EXPLAIN's ``choice``
says which way and why.
"""

from __future__ import annotations

from .plan import Scan

LISTING_PAGE = 100  # rows one listing request returns (ClickSend's largest page)


def fewer_by_key(scan: Scan, keys: int, what: str) -> bool:
    """Whether ``keys`` requests by key (``what``: "GET", "stream") cost fewer than the listing
    (see the module docstring); adds which way and why to ``scan.choice``.

    >>> from clicksend_sql.catalog import load_catalog
    >>> scan = Scan(table=load_catalog().table("ContactLists"), view="v")
    >>> fewer_by_key(scan, 150, "GET"), scan.choice
    (False, 'the listing: 150 keys would take 150 requests (1 GET each); the listing takes 1 per 100 rows')
    """
    if keys <= LISTING_PAGE:
        plural = "s" if keys > 1 else ""
        _say(scan, f"1 {what} per key: {keys} key{plural}, {keys} request{plural}; the listing "
                   f"(1 request per {LISTING_PAGE} rows) pays off beyond {LISTING_PAGE} keys")
        return True
    _say(scan, f"the listing: {keys} keys would take {keys} requests (1 {what} each); the listing takes 1 per {LISTING_PAGE} rows")
    return False


def key_list_cost(scan: Scan) -> None:
    """Turn a list scan's streams per parent key into a fan-out over the parent rows among the
    keys, when there are more keys than one listing page holds.

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("Contacts")
    >>> few = Scan(table=t, view="v", endpoint=t.list, streams=[{"list_id": k} for k in (3, 4)])
    >>> key_list_cost(few); few.fan_out, len(few.streams), few.choice.split(";")[0]
    (None, 2, '1 stream per key: 2 keys, 2 requests')
    >>> many = Scan(table=t, view="v", endpoint=t.list, streams=[{"list_id": k} for k in range(3000)])
    >>> key_list_cost(many); many.fan_out, many.streams, len(many.keys or ())
    ('list_id', [{}], 3000)
    >>> many.choice
    'through ContactLists: 3000 ListId keys would take 3000 requests at least (1 stream each); its listing takes 1 per 100 rows, then only the rows among the keys'
    """
    link = scan.table.parent
    if link is None or scan.mode != "list" or scan.fan_out is not None:
        return
    var = scan.table.column(link.column).path_param
    keys = tuple(dict.fromkeys(stream[var] for stream in scan.streams if var in stream))
    if not keys or (len(keys) <= LISTING_PAGE and fewer_by_key(scan, len(keys), "stream")):
        return
    rest = [dict(pairs) for pairs in dict.fromkeys(tuple((k, v) for k, v in s.items() if k != var) for s in scan.streams)]
    scan.streams, scan.fan_out, scan.keys = rest, var, keys
    _say(scan, f"through {link.table}: {len(keys)} {link.column} keys would take {len(keys)} requests at least "
               f"(1 stream each); its listing takes 1 per {LISTING_PAGE} rows, then only the rows among the keys")


def _say(scan: Scan, why: str) -> None:
    """Add a decision to the scan's ``choice`` (a lookup by key refused, then its streams chosen)."""
    scan.choice = f"{scan.choice}; {why}" if scan.choice else why
