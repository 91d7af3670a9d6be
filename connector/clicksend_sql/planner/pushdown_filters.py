"""Rule: turn a table's conditions into requests — get by key, path streams, query parameters.

Every pushed condition is still re-applied by DuckDB (the statement is never rewritten to drop
it), so a pushdown only has to fetch a superset of the rows SQL keeps. ``Scan.exact`` records
when it fetches exactly those rows, which is what count(*) pushdown needs; ``Scan.checks`` lists
the conditions a streamed LIMIT must check on the rows that arrive when it is not exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..catalog import Catalog, Column, Filter, Table
from ..errors import MissingFilterError
from .key_list_cost import fewer_by_key
from .plan import Condition, Reference, Scan


def pushdown_filters(
    table: Table, references: Sequence[Reference], catalog: Catalog, view: str, *, pushdown: bool = True
) -> Scan:
    """Plan the requests for one table from the conditions of all its references.

    With several references (a self-join), only conditions that every reference shares are
    pushed, so the one fetch serves all of them. With ``pushdown=False`` only the path
    variables the API cannot list without are pushed: the differential baseline.

    >>> from clicksend_sql.catalog import load_catalog
    >>> cat = load_catalog(); t = cat.table("Contacts")
    >>> cond = Condition(t.column("ListId"), "IN", (3, 4), "ListId IN (3, 4)")
    >>> scan = pushdown_filters(t, [Reference(node=None, conditions=[cond])], cat, "v")
    >>> scan.mode, scan.streams, scan.exact
    ('list', [{'list_id': 3}, {'list_id': 4}], True)
    """
    complete = len(references) == 1 and references[0].complete
    scan = Scan(
        table=table, view=view, local=[s for r in references for s in r.leftover], held=[h for r in references for h in r.held]
    )
    # a constant DuckDB refuses fails the statement on the rows it is evaluated on: then they are
    # fetched even when no row can qualify, so DuckDB fails as it would on the same table of its own
    refused = any(r.refused for r in references)
    if all(r.impossible for r in references) and not refused:  # WHERE false: no row can qualify, nothing is fetched
        scan.endpoint, scan.streams, scan.exact = table.list, [], complete
        return scan
    conditions = [_path_safe(c) for c in _shared(references) if not any(r.held for r in references)]
    if not pushdown:
        conditions = [c for c in conditions if _required(table, c)]
        scan.held.append("pushdown is off")
    impossible = [c for c in conditions if c.matches_nothing]
    if impossible and not refused:  # e.g. ListId = 1401.5: no row can match, so nothing is fetched
        scan.endpoint, scan.streams, scan.pushed, scan.exact = table.list, [], impossible, complete
        return scan
    conditions = [c for c in conditions if c not in impossible]
    if pushdown and _plan_key_lookup(scan, conditions):
        return scan
    scan.endpoint = table.list
    unpushed = _plan_list(scan, conditions, catalog)
    scan.local.extend(c.sql for c in unpushed)
    if pushdown and complete:  # every conjunct is a condition: what the API does not apply exactly can be checked
        scan.complete = True
        scan.checks = unpushed + [c for c in scan.pushed if not _exactly(c, table)]
    scan.exact = pushdown and complete and not scan.checks
    return scan


def _required(table: Table, cond: Condition) -> bool:
    """A condition on a list path variable the API has no other way to fill."""
    var = cond.column.path_param
    return var in table.list.path_vars and not (table.parent and cond.column.name == table.parent.column)


def _path_safe(cond: Condition) -> Condition:
    """Drop values no resource id can have from ``=``/``IN`` on path columns: an empty, ``.`` or
    ``..`` segment would turn a lookup into a listing or another resource."""
    if cond.column.path_param is None or cond.op not in ("=", "IN"):
        return cond
    values = tuple(v for v in cond.values if not isinstance(v, str) or v.strip(".") != "")
    return cond if values == cond.values else replace(cond, values=values)


def _shared(references: Sequence[Reference]) -> list[Condition]:
    first, *rest = references
    return [c for c in first.conditions if all(c in r.conditions for r in rest)]


def _equalities(conditions: Sequence[Condition], column: Column) -> list[Any] | None:
    """The values an ``=``/``IN`` condition allows for ``column`` (intersected), or None."""
    allowed: set[Any] | None = None
    order: list[Any] = []
    for cond in conditions:
        if cond.column is column and cond.op in ("=", "IN"):
            values = list(dict.fromkeys(cond.values))
            allowed = set(values) if allowed is None else allowed & set(values)
            order = order or values
    return None if allowed is None else [v for v in order if v in allowed]


def _plan_key_lookup(scan: Scan, conditions: Sequence[Condition]) -> bool:
    table = scan.table
    if table.get is None or not table.primary_key:
        return False
    columns = {c.path_param: c for c in table.columns if c.path_param}
    choices: list[list[tuple[str, Any]]] = []
    for var in table.get.path_vars:
        column = columns.get(var)
        values = _equalities(conditions, column) if column else None
        if values is None:
            return False
        choices.append([(var, v) for v in values])
    if not fewer_by_key(scan, math.prod(len(c) for c in choices), "GET"):
        return False
    scan.mode = "get"
    scan.endpoint = table.get
    scan.streams = [dict(combo) for combo in itertools.product(*choices)]
    scan.pushed = [c for c in conditions if c.column.path_param in table.get.path_vars and c.op in ("=", "IN")]
    scan.local.extend(c.sql for c in conditions if c not in scan.pushed)
    scan.exact = False
    return True


def _plan_list(scan: Scan, conditions: Sequence[Condition], catalog: Catalog) -> list[Condition]:
    """Fill streams and params; return the conditions that could not be pushed."""
    table = scan.table
    unpushed = list(conditions)
    streams: list[list[tuple[str, Any]]] = []
    for var in table.list.path_vars:
        column = next((c for c in table.columns if c.path_param == var), None)
        values = _equalities(conditions, column) if column else None
        if values is not None:
            streams.append([(var, v) for v in values])
            for cond in conditions:
                if cond.column is column and cond.op in ("=", "IN"):
                    scan.pushed.append(cond)
                    unpushed.remove(cond)
        elif table.parent and column and column.name == table.parent.column:
            scan.fan_out = var
        else:
            needed = column.name if column else var
            raise MissingFilterError(
                f"Table {table.name} needs {needed} in WHERE (e.g. WHERE {needed} = ...); "
                f"ClickSend only lists {table.name} for a given {needed}. Accepted: =, IN."
            )
    scan.streams = [dict(combo) for combo in itertools.product(*streams)] if streams else [{}]
    q_terms: dict[str, str] = {}
    for cond in list(unpushed):
        filt = _filter_for(table, cond)
        if filt is None:
            continue
        if filt.via == "q":
            text = _text(cond.values[0])
            if cond.op != "=" or filt.param in q_terms or not _searchable(text):
                continue
            q_terms[filt.param] = text
        elif filt.via == "query" and cond.op in ("=", "IN"):
            many = filt.param.endswith("[]")  # filter[status][]=a&filter[status][]=b
            if filt.param in scan.params or (len(cond.values) != 1 and not many):
                continue  # the API takes one value per parameter: the rest stays with DuckDB
            scan.params[filt.param] = list(cond.values) if many else cond.values[0]
        elif filt.via == "query":
            value = _bound(cond, filt)
            previous = scan.params.get(filt.param)
            if previous is not None:
                value = max(previous, value) if cond.op in (">", ">=") else min(previous, value)
            scan.params[filt.param] = value
        else:
            continue
        scan.pushed.append(cond)
        unpushed.remove(cond)
    _plan_search(scan, unpushed)
    scan.params.update(table.list.params)
    if q_terms:
        scan.params["q"] = ",".join(f"{k}:{v}" for k, v in q_terms.items())
    return unpushed


def _plan_search(scan: Scan, unpushed: list[Condition]) -> None:
    """A fan-out with ``=`` on a column the table's search finds (``Email = 'x@y'`` on Contacts)
    asks the search first and fetches only its hits."""
    search = scan.table.search
    if not scan.fan_out or search is None:
        return
    searched = {c.lower() for c in search.columns}
    for cond in unpushed:
        if cond.op == "=" and cond.column.name.lower() in searched and isinstance(cond.values[0], str) and cond.values[0].strip():
            scan.search_term = cond.values[0]
            scan.pushed.append(cond)
            unpushed.remove(cond)
            return


def _filter_for(table: Table, cond: Condition) -> Filter | None:
    return next((f for f in table.filters_for(cond.column.name) if cond.op in f.ops and f.via != "path"), None)


def _exactly(cond: Condition, table: Table) -> bool:
    filters = table.filters_for(cond.column.name)
    return any(f.exact and cond.op in f.ops for f in filters) or (
        cond.column.path_param is not None and cond.op in ("=", "IN")
    )


def _bound(cond: Condition, filt: Filter) -> Any:
    """A parameter value that keeps every row the condition keeps (a superset is fine)."""
    value = cond.values[0]
    number = value.timestamp() if isinstance(value, datetime) else value
    if not isinstance(number, (int, float, Decimal)):
        return value
    if cond.op in (">", ">="):
        return math.floor(number) if filt.inclusive else math.ceil(number) - 1
    return math.ceil(number) if filt.inclusive else math.floor(number) + 1


def _searchable(text: str) -> bool:
    """``q`` is ``field:value,field:value``; a value holding the separators (or nothing) cannot be
    said in it, so that predicate stays with DuckDB.

    >>> _searchable("Failed"), _searchable("a,b"), _searchable("x:y"), _searchable("")
    (True, False, False, False)
    """
    return bool(text.strip()) and "," not in text and ":" not in text


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return str(int(value.timestamp()))
    return str(value)
