"""Stored procedures: ``CALL SendSMS(:from, :body, :to)`` -> one ClickSend request -> rows.

A procedure is a declaration in ``procedures/``: endpoint, ordered parameters, and a request
template in which the string ``":name"`` stands for a parameter. Every argument is checked and
converted before anything is sent, so a bad argument never leaves a half-done action behind.
Procedures that send or charge are never retried automatically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import pyarrow as pa

from .catalog import Parameter, Procedure, Table, column_name
from .conversion import bodies_to_arrow, tolerant_array
from .errors import SQLError
from .execution import fill_path
from .http import ApiResponse, ClickSendClient

_OMIT = object()  # a template value whose optional parameter was not given


class ProcedureArgumentError(SQLError):
    """A CALL argument is missing, extra, or of the wrong type."""


def bind_arguments(procedure: Procedure, args: Sequence[Any], named: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Match positional arguments, then ``name := value`` ones, to parameters, converting each to
    its declared type.

    >>> from clicksend_sql.catalog import load_catalog
    >>> bind_arguments(load_catalog().procedure("CancelSMS"), ["ABC"])
    {'message_id': 'ABC'}
    >>> bind_arguments(load_catalog().procedure("SendSMS"), ["Acme"], {"to": "+61411111111", "BODY": "Hi"})
    {'from': 'Acme', 'body': 'Hi', 'to': '+61411111111'}
    >>> bind_arguments(load_catalog().procedure("CancelSMS"), [])
    Traceback (most recent call last):
    ...
    clicksend_sql.procedures.ProcedureArgumentError: CancelSMS(message_id) needs message_id (VARCHAR); it got 0 argument(s).
    """
    params = procedure.parameters
    signature = f"{procedure.name}({', '.join(p.name for p in params)})"
    if len(args) > len(params):
        raise ProcedureArgumentError(f"{signature} takes at most {len(params)} argument(s); it got {len(args)}.")
    given: dict[str, Any] = {p.name: args[i] for i, p in enumerate(params) if i < len(args)}
    by_name = {p.name.lower(): p.name for p in params}
    for name, value in (named or {}).items():
        known = by_name.get(name.lower())
        if known is None:
            raise ProcedureArgumentError(
                f"{procedure.name} has no parameter {name!r}; its parameters are {', '.join(p.name for p in params)}."
            )
        if known in given:
            raise ProcedureArgumentError(f"{signature}: {known} is given twice (by position and by name).")
        given[known] = value
    values: dict[str, Any] = {}
    for param in params:
        value = given.get(param.name)
        if value is None:
            if param.required:
                raise ProcedureArgumentError(
                    f"{signature} needs {param.name} ({param.type}); it got {len(given)} argument(s)."
                    if param.name not in given
                    else f"{signature}: {param.name} ({param.type}) is required and may not be NULL."
                )
            continue
        values[param.name] = _convert(procedure, param, value)
    return values


def _convert(procedure: Procedure, param: Parameter, value: Any) -> Any:
    where = f"{procedure.name} parameter {param.name}"
    kind = param.type
    try:
        if kind.endswith("[]"):
            items = value if isinstance(value, (list, tuple)) else [value]
            return [str(v) for v in items]
        if kind in ("BIGINT", "INTEGER"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "BOOLEAN":
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            if not isinstance(value, (bool, int)):
                raise ValueError
            return bool(value)
        if kind.startswith("DECIMAL") or kind == "DOUBLE":
            return float(Decimal(str(value)))
        return value if isinstance(value, str) else str(value)
    except (ValueError, TypeError, InvalidOperation):
        raise ProcedureArgumentError(f"{where} must be {kind}; got {value!r}.") from None


def render(template: Any, values: dict[str, Any]) -> Any:
    """Fill a request template; parts for parameters that were not given are left out.

    >>> render({"to": [{"email": ":to", "name": ":name"}], "subject": ":s"}, {"to": "a@b.c", "s": "Hi"})
    {'to': [{'email': 'a@b.c'}], 'subject': 'Hi'}
    """
    filled = _render(template, values)
    return None if filled is _OMIT else filled


def _render(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str) and template.startswith(":"):
        return values.get(template[1:], _OMIT)
    if isinstance(template, dict):
        out = {k: v for k, v in ((k, _render(v, values)) for k, v in template.items()) if v is not _OMIT}
        return out if out or not template else _OMIT
    if isinstance(template, list):
        items = [v for v in (_render(v, values) for v in template) if v is not _OMIT]
        return items if items or not template else _OMIT
    return template


def request(procedure: Procedure, values: dict[str, Any]) -> dict[str, Any]:
    """The one request a call makes: method, path, query, JSON body and whether it may be retried."""
    endpoint = procedure.endpoint
    missing = [v for v in endpoint.path_vars if v not in values]
    if missing:
        raise ProcedureArgumentError(f"{procedure.name} needs {', '.join(missing)} for its request path.")
    return {
        "method": endpoint.method,
        "path": fill_path(endpoint.path, values),
        "params": render(procedure.query, values) or None,
        "json": render(procedure.body, values),
        "retry": False if procedure.charges else endpoint.method in ("GET", "PUT", "DELETE"),
        "auth": procedure.auth,
    }


def describe(procedure: Procedure, values: dict[str, Any]) -> dict[str, Any]:
    """What ``EXPLAIN CALL`` shows: the request, without making it."""
    sent = request(procedure, values)
    return {
        "procedure": procedure.name,
        "endpoint": f"{sent['method']} /v3{sent['path']}",
        "params": orjson.dumps(sent["params"]).decode() if sent["params"] else "",
        "body": orjson.dumps(sent["json"]).decode() if sent["json"] not in (None, _OMIT) else "",
        "charges": procedure.charges,
        "retried_on_failure": sent["retry"],
        "expected_requests": "1",
    }


async def call(client: ClickSendClient, procedure: Procedure, values: dict[str, Any]) -> ApiResponse:
    """Send the procedure's request. Charging calls are never retried blindly."""
    return await client.request(**request(procedure, values))


def result_table(response: ApiResponse, table: Table | None = None) -> pa.Table:
    """The response as rows: per message for sends, per item for lists, else one row.

    When the answer holds rows of the procedure's ``returns`` table (their key is there), it has
    every column of that table, named and typed exactly as a SELECT shows them (``date`` a
    timestamp, prices decimals), NULL where an answer lacks the field: a send refused for one
    recipient (7 fields) has the same columns as one accepted (19). Otherwise (a search's hits)
    only the declared fields it has are typed so. Fields the table does not declare (a purchase's
    price) keep their data under a PascalCase name after those, nested values as JSON text.
    """
    data = response.data
    if isinstance(data, dict):
        for key in ("messages", "recipients", "data"):
            if isinstance(data.get(key), list) and all(isinstance(r, dict) for r in data[key]):
                data = data[key]
                break
    rows = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) for r in rows):
        rows = [{"result": r} for r in rows]
    fields: dict[str, None] = {}
    for row in rows:
        fields.update(dict.fromkeys(row))
    columns: dict[str, pa.Array] = {}
    whole = False
    if table is not None:
        typed = bodies_to_arrow(table, [orjson.dumps({"data": rows})], "array")
        whole = any(table.column(key).field in fields for key in table.primary_key)
        columns = {c.name: typed.column(c.name) for c in table.columns if whole or c.field in fields}
    declared = {c.field for c in table.columns} if table is not None else set()
    for name in fields:
        if name not in declared and column_name(name) not in columns:
            columns[column_name(name)] = tolerant_array([_flat(row.get(name)) for row in rows])
    return pa.table(columns) if columns else pa.table({"Result": pa.array([], pa.string())})


def _flat(value: Any) -> Any:
    return orjson.dumps(value).decode() if isinstance(value, (dict, list)) else value
