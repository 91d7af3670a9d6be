"""Generic list / create / read / update / delete handlers, bound to each declared resource."""

from __future__ import annotations

from typing import Any

from ..envelope import ApiError
from ..listing import paginator, parse_list_query, select
from ..resources import MAIN_SUBACCOUNT_ID, RESOURCES, Gen, Resource
from ..state import Row, Table
from .base import Ctx, Reply, route


def blank_like(row: Row) -> Row:
    """The row with every value emptied but its JSON type kept: what a create starts from."""
    return {k: type(v)() if v is not None else None for k, v in row.items()}


def coerce_like(template: Any, value: Any) -> Any:
    """``value`` in the JSON type the model uses for this field (ids arrive as strings or numbers)."""
    if isinstance(template, bool) or template is None or isinstance(value, type(template)):
        return value
    try:
        if isinstance(template, int):
            return int(value)
        if isinstance(template, float):
            return float(value)
        if isinstance(template, str) and not isinstance(value, (dict, list)):
            return str(value)
    except (TypeError, ValueError):
        pass
    return value


def merge_body(row: Row, body: dict[str, Any], frozen: tuple[str, ...] = ()) -> Row:
    """Apply the body's known fields to ``row`` (unknown fields are ignored, as ClickSend does, and
    so are nulls: PHP's ``isset`` reads them as absent)."""
    for key, value in body.items():
        if key in row and key not in frozen and value is not None:
            row[key] = coerce_like(row[key], value)
    return row


def stamp(template: Any, now: int) -> Any:
    """``now`` in the type the date field uses (int, or a numeric string on some models)."""
    return str(now) if isinstance(template, str) else now


def new_row(ctx: Ctx, res: Resource, body: dict[str, Any]) -> Row:
    """A created row: the resource's shape, blank, with the body applied and id/date set."""
    row = blank_like(res.make(Gen(ctx.rng, ctx.store, ctx.now, ctx.now)))
    merge_body(row, body, frozen=(res.id_field,))
    if res.id_start:
        new_id: Any = ctx.store.next_id(res.key, res.id_start)
        row[res.id_field] = coerce_like(row[res.id_field], new_id)
    if res.date_field and res.date_field in row:
        row[res.date_field] = stamp(row[res.date_field], ctx.now)
    return row


def find(table: Table, row_id: str, message: str) -> Row:
    row = table.get(row_id)
    if row is None:
        raise ApiError(404, message)
    return row


# Routes whose paginator also carries Laravel's link extras (NOTES.md §4).
LARAVEL_LINKS = frozenset({"/lists", "/automations/sms/inbound"})


def list_rows(ctx: Ctx, rows: list[Row], date_field: str | None) -> dict[str, Any]:
    """The paginator for ``rows`` under this request's page/q/order/date parameters."""
    lq = parse_list_query(ctx.query)
    laravel = ctx.path.removeprefix("/v3").rstrip("/") in LARAVEL_LINKS
    return paginator(select(visible(ctx, rows), lq, date_field), lq, ctx.url, laravel_links=laravel)


def visible(ctx: Ctx, rows: list[Row]) -> list[Row]:
    """Subaccount isolation: a subaccount's key sees only rows of its own ``subaccount_id``; the
    main account sees every subaccount's."""
    me = ctx.principal
    if me is None or me.subaccount_id == MAIN_SUBACCOUNT_ID:
        return rows
    return [r for r in rows if r.get("subaccount_id", me.subaccount_id) == me.subaccount_id]


def register(res: Resource) -> None:
    """Register the handlers named by ``res.methods``."""
    item = f"{res.path}/{{{res.item_param}}}"

    def table(ctx: Ctx) -> Table:
        return ctx.store.table(res.key, res.id_field)

    if "L" in res.methods:
        route("GET", res.path)(lambda ctx: list_rows(ctx, table(ctx).rows(), res.date_field))
    if "C" in res.methods:
        route("POST", res.path)(lambda ctx: table(ctx).add(new_row(ctx, res, ctx.obj())))
    if res.item_param is None:
        return
    param: str = res.item_param
    if "R" in res.methods:
        route("GET", item)(lambda ctx: find(table(ctx), ctx.params[param], res.not_found))

    if "U" in res.methods:
        @route("PUT", item)
        def update(ctx: Ctx) -> Any:
            row = find(table(ctx), ctx.params[param], res.not_found)
            return ctx_reply(ctx, merge_body(row, ctx.obj(), frozen=(res.id_field,)), row[res.id_field])

    if "D" in res.methods:
        @route("DELETE", item)
        def delete(ctx: Ctx) -> Any:
            row = find(table(ctx), ctx.params[param], res.not_found)
            table(ctx).remove(row[res.id_field])
            return ctx_reply(ctx, res.deleted, row[res.id_field])


def ctx_reply(ctx: Ctx, data: Any, row_id: object) -> Reply:
    """A reply whose message names the row ("Subaccount #59 has been updated.")."""
    return Reply(data, ctx.msg(id=row_id))


for _res in RESOURCES:
    register(_res)
