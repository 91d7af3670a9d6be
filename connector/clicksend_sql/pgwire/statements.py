"""What a statement is to the protocol: where a simple Query's statements end, which ones the
server answers itself (transaction control, SET, SHOW, ...), and the CommandComplete tag.

Statements are read with sqlglot's PostgreSQL tokenizer, so quotes, comments and dollar-quoted
strings never split or classify a statement: ``SET SESSION CHARACTERISTICS AS TRANSACTION
ISOLATION LEVEL read committed`` starts with SET and is one, not a COMMIT.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType


class Kind(enum.Enum):
    BEGIN = "BEGIN"
    COMMIT = "COMMIT"
    ROLLBACK = "ROLLBACK"
    SET = "SET"
    RESET = "RESET"
    SHOW = "SHOW"
    DISCARD = "DISCARD"
    DEALLOCATE = "DEALLOCATE"
    SAVEPOINT = "SAVEPOINT"  # SAVEPOINT and RELEASE: accepted; DuckDB has no savepoints to roll back to
    ROLLBACK_TO = "ROLLBACK TO"  # refused: DuckDB cannot undo part of a transaction
    CLIENT_COPY = "COPY"  # COPY ... FROM STDIN / TO STDOUT: the client's side of COPY
    OTHER = "OTHER"  # everything else goes to the connection


@dataclass(frozen=True)
class Classified:
    """One statement: its kind and, for SET/RESET/SHOW/DEALLOCATE, the name and value it gives."""

    text: str
    kind: Kind
    name: str = ""  # lower-case parameter name ("transaction_isolation", "timezone", "all")
    value: str | None = None  # SET's value as written (quotes removed from a single literal); None: DEFAULT


_ALIASES = {"time zone": "timezone", "transaction isolation level": "transaction_isolation", "names": "client_encoding",
            "schema": "search_path", "session authorization": "session_authorization"}
_TRANSACTION_WORDS = {"BEGIN": Kind.BEGIN, "COMMIT": Kind.COMMIT, "END": Kind.COMMIT, "ROLLBACK": Kind.ROLLBACK,
                      "ABORT": Kind.ROLLBACK}


def _tokens(text: str) -> list[Token]:
    try:
        return Postgres().tokenize(text)
    except TokenError:
        return []


def split(text: str) -> list[str]:
    """The statements of a simple Query, without empty ones (a text that does not tokenize is
    kept whole, for the parser to report).

    >>> split("SELECT ';'; -- a; comment\\n SET a = 1;;")
    ["SELECT ';'", '-- a; comment\\n SET a = 1']
    """
    tokens = _tokens(text)
    if not tokens:
        return [text] if text.strip() and not text.strip().startswith("--") else []
    bounds = [-1, *(t.start for t in tokens if t.token_type == TokenType.SEMICOLON), len(text)]
    pieces = []
    for start, end in itertools.pairwise(bounds):
        if any(start < t.start < end and t.token_type != TokenType.SEMICOLON for t in tokens):
            pieces.append(text[start + 1:end].strip())
    return pieces


def classify(text: str) -> Classified:
    """A statement's kind from its leading words.

    >>> classify("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL read committed").kind.name
    'SET'
    >>> c = classify("set TIME ZONE 'UTC'"); (c.kind.name, c.name, c.value)
    ('SET', 'timezone', 'UTC')
    >>> c = classify("SHOW transaction isolation level"); (c.kind.name, c.name)
    ('SHOW', 'transaction_isolation')
    >>> classify("START TRANSACTION READ WRITE").kind.name, classify("rollback to savepoint a").kind.name
    ('BEGIN', 'ROLLBACK_TO')
    """
    tokens = _tokens(text)
    words = [t.text.upper() for t in tokens]
    first = words[0] if words else ""
    if first in _TRANSACTION_WORDS:
        rolls_back_to = first in ("ROLLBACK", "ABORT") and "TO" in words[1:3]
        return Classified(text, Kind.ROLLBACK_TO if rolls_back_to else _TRANSACTION_WORDS[first])
    if first in ("SAVEPOINT", "RELEASE"):
        return Classified(text, Kind.SAVEPOINT, first)
    if words[:2] == ["START", "TRANSACTION"]:
        return Classified(text, Kind.BEGIN)
    if first == "SET":
        return _set(text, tokens[1:])
    if first in ("SHOW", "RESET"):
        return Classified(text, Kind[first], _name(tokens[1:]))
    if first in ("DISCARD", "DEALLOCATE"):
        rest = [t for t in tokens[1:] if t.text.upper() != "PREPARE"]
        return Classified(text, Kind[first], rest[0].text if rest else "")
    if first == "COPY" and {"STDIN", "STDOUT"} & set(words):
        return Classified(text, Kind.CLIENT_COPY)
    return Classified(text, Kind.OTHER)


def _set(text: str, tokens: list[Token]) -> Classified:
    """``SET [SESSION|LOCAL] name {=|TO} value``, ``SET TIME ZONE value``, ``SET TRANSACTION ...``."""
    if tokens and tokens[0].text.upper() in ("SESSION", "LOCAL") and len(tokens) > 1 \
            and tokens[1].text.upper() not in ("=", "TO", "AUTHORIZATION"):
        tokens = tokens[1:]
    words = [t.text.upper() for t in tokens]
    if words[:1] == ["TRANSACTION"] or words[:2] == ["SESSION", "CHARACTERISTICS"]:
        return Classified(text, Kind.SET, "transaction")  # the isolation level: DuckDB's is serializable anyway
    end = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.EQ or t.text.upper() == "TO"), None)
    if end is None:  # SET TIME ZONE 'UTC', SET NAMES 'UTF8', SET SCHEMA 'x'
        end = 2 if words[:2] == ["TIME", "ZONE"] else 1
        value_tokens = tokens[end:]
    else:
        value_tokens = tokens[end + 1:]
    name = _name(tokens[:end])
    if not value_tokens or (len(value_tokens) == 1 and value_tokens[0].text.upper() in ("DEFAULT", "LOCAL")):
        return Classified(text, Kind.SET, name, None)
    start, stop = value_tokens[0].start, value_tokens[-1].end + 1
    single = len(value_tokens) == 1 and value_tokens[0].token_type in (TokenType.STRING, TokenType.IDENTIFIER,
                                                                       TokenType.VAR, TokenType.NUMBER)
    value = value_tokens[0].text if single else text[start:stop]
    return Classified(text, Kind.SET, name, value)


def _name(tokens: Sequence[Token]) -> str:
    name = " ".join(t.text for t in tokens).lower()
    return _ALIASES.get(name, name)


def command_tag(expression: exp.Expr | None, text: str, rows: int) -> str:
    """The CommandComplete tag: ``SELECT 3``, ``INSERT 0 2``, ``UPDATE 1``, ``CREATE TABLE``, ...

    >>> import sqlglot
    >>> [command_tag(sqlglot.parse_one(s), s, 2) for s in ("SELECT 1", "INSERT INTO t VALUES (1)", "DROP VIEW v")]
    ['SELECT 2', 'INSERT 0 2', 'DROP VIEW']
    """
    counted = {exp.Insert: "INSERT 0", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE", exp.Copy: "COPY"}
    for kind, tag in counted.items():
        if isinstance(expression, kind):
            return f"{tag} {rows}"
    if isinstance(expression, exp.Create) and isinstance(expression.expression, exp.Query):
        return f"SELECT {rows}"  # CREATE TABLE ... AS
    if isinstance(expression, (exp.Create, exp.Drop)):
        return f"{expression.key.upper()} {str(expression.args.get('kind') or '').upper()}".strip()
    words = [t.text.upper() for t in _tokens(text)[:2]]
    if isinstance(expression, exp.Query) or not words or words[0] in ("SELECT", "WITH", "VALUES", "TABLE", "FROM",
                                                                       "DESCRIBE", "SUMMARIZE", "PRAGMA", "PIVOT"):
        return f"SELECT {rows}"
    return " ".join(words) if words[0] in ("ALTER", "COMMENT") else words[0]
