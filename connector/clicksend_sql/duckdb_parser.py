"""DuckDB's parser has the first word on every statement.

A text DuckDB cannot parse is refused with DuckDB's own message and position before sqlglot, the
planner or any request sees it: sqlglot reads some texts DuckDB refuses (``BETWEEN SYMMETRIC``,
``LIKE ANY (...)``) and gives them a meaning of its own, which would otherwise reach the API as
filters. The statement's own DuckDB connection parses it when there is one; the words and
position of a refusal, and any text read without a session, come from one private in-memory
DuckDB that serves every connection (a lock keeps threads from sharing it at once).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cache

import duckdb

from .errors import SQLError, SQLSyntaxError

_LOCK = threading.Lock()


@dataclass(frozen=True)
class DuckDBReading:
    """What DuckDB's parser sees in one statement: its placeholder names and the table names it reads."""

    placeholders: list[str]
    tables: frozenset[str]


def duckdb_refusal(text: str, session: duckdb.DuckDBPyConnection | None = None) -> SQLError | None:
    """DuckDB's parser error for ``text`` (every statement in it), or None when DuckDB parses it.

    The position DuckDB reports is turned into the line and column of ``text``. ``session``, the
    DuckDB connection the statement will run in, reads the text first, with its own settings
    and extensions: a text it parses needs no private database (opening one took 15-20 ms of a
    CLI query). Only its refusals are read again by the private parser, whose errors carry the
    position as data (``errors_as_json`` is global, so never set on the user's database).

    >>> print(duckdb_refusal("SELECT 1;\\nSELECT (1 FROM t"))
    Syntax error at line 2, column 11: syntax error at or near "FROM"
    >>> duckdb_refusal("SELECT $1; SELECT $name", duckdb.connect()) is None
    True
    """
    if session is not None:
        try:
            session.extract_statements(text)
            return None
        except duckdb.Error:
            pass
    try:
        with _LOCK:
            _parser().extract_statements(text)
    except duckdb.Error as exc:
        return _refusal(exc, text)
    return None


def duckdb_reading(text: str) -> DuckDBReading:
    """Placeholders and table names of one statement DuckDB parses, for a statement sqlglot cannot
    read. Table names are bare (``clicksend.Contacts`` gives ``Contacts``); where DuckDB cannot
    list them without binding, every identifier of the text counts as one.

    >>> reading = duckdb_reading("SELECT list_transform([1], lambda x: x + $2) FROM clicksend.Contacts, t")
    >>> reading.placeholders, sorted(reading.tables)
    (['2'], ['Contacts', 't'])
    >>> sorted(duckdb_reading('SELECT lambda x: x FROM "SMSHistory"').tables)
    ['SMSHistory', 'x']
    """
    with _LOCK:
        parser = _parser()
        (statement,) = parser.extract_statements(text)
        try:
            tables = frozenset(parser.get_table_names(_placeholders_as_null(text)))
        except duckdb.Error:
            tables = frozenset(_identifiers(text))
    names = sorted(statement.named_parameters, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
    return DuckDBReading(names, tables)


def _identifiers(text: str) -> list[str]:
    """The identifiers of ``text`` by DuckDB's tokenizer, unquoted."""
    tokens = duckdb.tokenize(text)
    ends = [start for start, _ in tokens[1:]] + [len(text)]
    return [text[start:end].strip().strip('"').replace('""', '"')
            for (start, kind), end in zip(tokens, ends) if kind == duckdb.token_type.identifier]


def _placeholders_as_null(text: str) -> str:
    """``text`` with ``?``, ``$1`` and ``$name`` as NULL: DuckDB lists the tables of a statement
    only without parameters."""
    tokens = duckdb.tokenize(text)
    out, position = [], 0
    for (start, kind), following in zip(tokens, [*tokens[1:], (len(text), None)]):
        end = None
        if kind == duckdb.token_type.operator and text[start] == "?":
            end = start + 1
        elif kind == duckdb.token_type.operator and text[start] == "$" and following[0] == start + 1 \
                and following[1] in (duckdb.token_type.numeric_const, duckdb.token_type.identifier):
            end = next((i for i in range(start + 1, len(text)) if not (text[i].isalnum() or text[i] == "_")), len(text))
        if end is not None:
            out.append(text[position:start] + "NULL")
            position = end
    return "".join(out) + text[position:]


@cache
def reserved_words() -> frozenset[str]:
    """The words DuckDB's parser reserves (lower case): ``to``, ``from``, ``order``, ...

    >>> {"to", "from", "symmetric"} <= reserved_words()
    True
    """
    with _LOCK:
        rows = _parser().execute("SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'").fetchall()
    return frozenset(word for (word,) in rows)


@cache
def _parser() -> duckdb.DuckDBPyConnection:
    parser = duckdb.connect()
    parser.execute("SET errors_as_json = true")  # the message and its position as data
    return parser


def _refusal(exc: duckdb.Error, text: str) -> SQLError:
    """DuckDB's message, with the line and column of its position in ``text`` when it gives one."""
    raw = str(exc)
    try:
        info = json.loads(raw[raw.index("{"):])
    except ValueError:
        info = {"exception_message": raw}
    message = str(info.get("exception_message") or raw)
    if not isinstance(exc, duckdb.ParserException):
        return SQLError(message)
    position = info.get("position")
    if position is None or not str(position).isdigit():
        return SQLSyntaxError(f"Syntax error: {message}")
    before = text.encode()[: int(position)].decode(errors="ignore")  # DuckDB counts bytes of UTF-8
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return SQLSyntaxError(f"Syntax error at line {line}, column {column}: {message}")
