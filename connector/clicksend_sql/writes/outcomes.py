"""Step: one outcome row per input row, in input order.

``status`` is ``ok``, ``error``, ``unknown`` or ``skipped``. For sends, the messages of an answer
are matched to rows by identity, never by position: by the CustomString every message carries,
then (when rows share one) by recipient: the list a ``ListId`` row names, the number a ``To``
row names. A list row becomes one message per contact; its outcome counts them (``messages``),
sums their price, and is ``ok`` once any was accepted (re-sending it would duplicate those),
with the refused ones named in ``error``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pyarrow as pa

from ..catalog import Table
from .plan_rows import WriteRows, identity_columns
from .send_requests import RequestOutcome

OUTCOME_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("key", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("message_id", pa.string()),
        ("custom_string", pa.string()),
        ("price", pa.decimal128(18, 6)),
        ("api_status", pa.string()),
        ("messages", pa.int64()),
    ]
)
SENT = ("SUCCESS", "QUEUED", "SCHEDULED")
CUSTOM_STRING = "CustomString"


def outcomes(write: WriteRows, sent_rows: pa.Table, results: list[RequestOutcome]) -> tuple[pa.Table, list[list[dict[str, Any]]]]:
    """The outcome table of a write, and per row the answer objects of what it wrote (a send's
    accepted messages, an update's answered row)."""
    records = sent_rows.to_pylist()
    rows: list[dict[str, Any]] = [{} for _ in records]
    items: list[list[dict[str, Any]]] = [[] for _ in records]
    key_field = write.table.column(identity_columns(write.table)[0]).field
    for result in results:
        answered = answered_rows(result, key_field)
        if result.request.batch:
            matched = match_messages(write.table, [records[i] for i in result.request.rows], answered)
        else:
            matched = [answered[:1] for _ in result.request.rows]
        for index, mine in zip(result.request.rows, matched, strict=True):
            accepted = [m for m in mine if not result.request.batch or str(m.get("status") or "").upper() in SENT]
            items[index] = accepted if result.status == "ok" else []
            rows[index] = _outcome(write.table, records[index], write.origin(index), result, mine, accepted)
    return pa.Table.from_pylist(rows, schema=OUTCOME_SCHEMA), items


def merge(parts: list[pa.Table], skipped: dict[int, str]) -> pa.Table:
    """One outcome per input row, in input order: the parts' outcomes, and ``skipped`` with its
    reason for each row no request carried (an invalid row, an upsert's DO NOTHING match, a repeat).

    >>> part = pa.Table.from_pylist([{"row": 2, "status": "ok"}], schema=OUTCOME_SCHEMA)
    >>> merge([part], {0: "it exists"}).select(["row", "status", "error"]).to_pylist()
    [{'row': 1, 'status': 'skipped', 'error': 'it exists'}, {'row': 2, 'status': 'ok', 'error': None}]
    """
    done = pa.concat_tables(parts) if parts else OUTCOME_SCHEMA.empty_table()
    skipped_rows = [{"row": n + 1, "status": "skipped", "error": why} for n, why in sorted(skipped.items())]
    merged = pa.concat_tables([done, pa.Table.from_pylist(skipped_rows, schema=OUTCOME_SCHEMA)])
    return merged.sort_by("row")


def answered_rows(result: RequestOutcome, key_field: str) -> list[dict[str, Any]]:
    """The per-row objects of an answer: the batch's list (``messages``), or the one object."""
    if result.response is None:
        return []
    data = result.response.data
    batch = result.request.batch
    if batch and isinstance(data, dict) and isinstance(data.get(batch), list):
        return [m if isinstance(m, dict) else {} for m in data[batch]]
    while isinstance(data, dict) and key_field not in data and isinstance(data.get("data"), (dict, list)):
        data = data["data"]  # the created object inside a send summary (email campaigns) or a paginator
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    return [data] if isinstance(data, dict) else []


def match_messages(table: Table, records: list[dict[str, Any]], answered: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The answer's messages of each row of one batched request, matched by identity.

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("SMSHistory")
    >>> rows = [{"CustomString": "a", "To": "0411 111 111", "ListId": None}, {"CustomString": "a", "ListId": 7, "To": None},
    ...         {"CustomString": "b", "To": "12", "ListId": None}]
    >>> answer = [{"custom_string": "a", "list_id": "7", "to": "+61400000001"}, {"custom_string": "b", "to": "12"},
    ...           {"custom_string": "a", "list_id": "7", "to": "+61400000002"}, {"custom_string": "a", "to": "+61411111111"}]
    >>> [[m["to"] for m in ms] for ms in match_messages(t, rows, answer)]
    [['+61411111111'], ['+61400000001', '+61400000002'], ['12']]
    """
    lists = [c.name for c in table.columns if c.recipient == "list"]
    phones = [c.name for c in table.columns if c.recipient == "phone"]
    tagged = any("custom_string" in m for m in answered)  # an answer without them is matched by recipient alone
    by_string: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in answered:
        by_string[str(message.get("custom_string") or "") if tagged else ""].append(message)
    sharing: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        sharing[str(record.get(CUSTOM_STRING) or "") if tagged else ""].append(index)
    matched: list[list[dict[str, Any]]] = [[] for _ in records]
    for string, members in sharing.items():
        pool = by_string.pop(string, [])
        if len(members) == 1:
            matched[members[0]] = pool
            continue
        for index in members:  # rows sharing a CustomString: a list row takes its list's messages...
            list_id = next((records[index][n] for n in lists if records[index].get(n) is not None), None)
            if list_id is not None:
                matched[index] = [m for m in pool if str(m.get("list_id") or "") == str(list_id)]
                pool = [m for m in pool if all(m is not t for t in matched[index])]
        for index in members:  # ...a direct row its recipient's message (identical rows are interchangeable);
            if matched[index] or any(records[index].get(n) is not None for n in lists):  # none found: unknown
                continue
            number = next((str(records[index][n]) for n in phones if records[index].get(n) is not None), None)
            found = _message_to(number, pool) if number is not None else _message_echoing(table, records[index], pool)
            if found is not None:
                matched[index] = [found]
                pool = [m for m in pool if m is not found]
    return matched


def _message_to(number: str, pool: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The message of ``pool`` sent to ``number``: the same digits, else the one message whose
    number ends with them (a local form such as ``0411 111 111``); None when that is not one.

    >>> pool = [{"to": "+12025550123"}, {"to": "+8612025550123"}]
    >>> _message_to("+8612025550123", pool), _message_to("2025550123", pool)
    ({'to': '+8612025550123'}, None)
    """
    mine = _digits(number)
    same = [m for m in pool if _digits(str(m.get("to") or "")) == mine]
    if same:
        return same[0]
    ending = [m for m in pool if mine and _digits(str(m.get("to") or "")).endswith(mine)]
    return ending[0] if len(ending) == 1 else None


def _message_echoing(table: Table, record: dict[str, Any], pool: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first message of ``pool`` that echoes every value the row sent which the answer repeats
    (a postcard's address: its answer has neither CustomString nor a number to go by).

    >>> from clicksend_sql.catalog import load_catalog
    >>> t = load_catalog().table("PostcardsHistory")
    >>> pool = [{"address_name": "Bo", "address_city": "X"}, {"address_name": "Al", "address_city": "X"}]
    >>> _message_echoing(t, {"AddressName": "Al", "AddressCity": "X"}, pool)
    {'address_name': 'Al', 'address_city': 'X'}
    """
    sent = {c.write_field or c.field: record[c.name] for c in table.columns
            if not c.read_only and record.get(c.name) is not None and not isinstance(record[c.name], (dict, list))}
    for message in pool:
        shared = [field for field in sent if field in message]
        if shared and all(str(message[field]) == str(sent[field]) for field in shared):
            return message
    return None


def _digits(number: str) -> str:
    """A number's digits without the leading zeros of a trunk or international prefix."""
    return "".join(ch for ch in number if ch.isdigit()).lstrip("0")


def _outcome(table: Table, record: dict[str, Any], index: int, result: RequestOutcome, items: list[dict[str, Any]],
             sent: list[dict[str, Any]]) -> dict[str, Any]:
    """One row's outcome from its answer objects (``items``) and those of them ClickSend accepted (``sent``)."""
    status, error = result.status, result.error
    batch = result.request.batch is not None
    refused = [m for m in items if m not in sent] if batch else []
    if batch and status == "ok":
        if not items:
            status, error = "unknown", "the answer did not list this message"
        elif not sent:
            status, error = "error", f"ClickSend refused this message: {_statuses(refused)}"
        elif refused:
            error = f"{len(refused)} of {len(items)} messages refused: {_statuses(refused)}"
    names = {c.name: c.field for c in table.columns}
    first = sent[0] if sent else {}  # a refused message's id names nothing in the history
    key_name = identity_columns(table)[0]
    key = record.get(key_name) if record.get(key_name) is not None else first.get(names[key_name])
    prices = [m.get("message_price", m.get("post_price")) for m in sent]  # letters and postcards say post_price
    known = [Decimal(str(p)) for p in prices if p not in (None, "")]
    return {
        "row": index + 1,
        "key": None if key is None or (batch and len(sent) > 1) else str(key),
        "status": status,
        "error": error,
        "message_id": first.get("message_id") if batch and len(sent) <= 1 and first else None,
        "custom_string": record.get(CUSTOM_STRING) if batch else None,
        "price": sum(known, Decimal(0)) if known else None,
        "api_status": (_statuses(items) if items else None) if batch else ("already deleted (404)" if result.gone else None),
        "messages": (len(sent) if status == "ok" else 0 if status == "error" else None) if batch else None,
    }


def _statuses(messages: list[dict[str, Any]]) -> str:
    """The API statuses of some messages, each once, in order (``SUCCESS``, ``INVALID_RECIPIENT``)."""
    return ", ".join(dict.fromkeys(str(m.get("status") or "no status") for m in messages))
