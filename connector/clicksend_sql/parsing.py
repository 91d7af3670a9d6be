"""Parsing: SQL text -> one :class:`Statement` per statement, each with its own text.

Placeholders are normalised in the text before sqlglot sees it, so every statement carries
DuckDB's own ``$name`` / ``$n`` form and DuckDB binds the values exactly as ``duckdb.sql(text,
params)`` would:

* ``?`` becomes ``$1``, ``$2``, ... in the order the marks appear in the text (not the order of
  the syntax tree, which differs for CTEs and LIMIT);
* ``:name`` becomes ``$name``, so names the parser treats as keywords (``:from``, ``:to``,
  ``:select``) work too. A colon after a value (``x[a:b]``, ``{'k': v}``) is left alone.

Each statement keeps its own text, so statements that mention no ClickSend table reach DuckDB
as written rather than as sqlglot re-generates them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from .errors import SQLSyntaxError

MAX_NESTING = 1000
"""Deepest parenthesis nesting accepted: DuckDB's own expression depth limit."""
_TAIL = " "  # sqlglot 30's tokenizer fails on "$1, ''" when the empty string ends the text
_RECURSION_LIMIT = 40 * MAX_NESTING  # sqlglot recurses a few dozen frames per nesting level
# A colon after one of these ends a value (slice bound, struct key), so it is not a placeholder.
_VALUE_ENDS = frozenset(
    {
        TokenType.VAR, TokenType.NUMBER, TokenType.STRING, TokenType.IDENTIFIER, TokenType.R_PAREN,
        TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.PLACEHOLDER, TokenType.PARAMETER,
    }
)


@dataclass(frozen=True)
class Statement:
    """One parsed statement: its text in DuckDB's placeholder form and its syntax tree."""

    text: str
    expression: exp.Expression

    @property
    def placeholders(self) -> list[str]:
        """The parameter names the statement uses (``"1"``, ``"2"`` for positional ones).

        >>> parse("SELECT ?, :b, $3")[0].placeholders
        ['1', 'b', '3']
        """
        return [node.name for node in self.expression.find_all(exp.Placeholder)]


def parse(text: str) -> list[Statement]:
    """Split and parse DuckDB SQL; a syntax error names the line and column.

    >>> [s.text for s in parse("SELECT ? AS a, :from; SELECT ?,?")]
    ['SELECT $1 AS a, $from', 'SELECT $1 ,$2']
    >>> parse("SELECT count(*) FROM t WHERE a = ? AND b <> ''")[0].text
    "SELECT count(*) FROM t WHERE a = $1 AND b <> ''"
    >>> parse("SELECT x[a:b], {'k': :v}")[0].text
    "SELECT x[a:b], {'k': $v }"
    """
    if not isinstance(text, str):
        raise SQLSyntaxError(f"A statement must be SQL text (str), not {type(text).__name__}.")
    with deep_recursion():
        return [Statement(piece, _parse_one(piece)) for piece in _normalised_pieces(text)]


def _normalised_pieces(text: str) -> list[str]:
    """The text of each statement with placeholders rewritten; empty statements dropped."""
    tokens = _tokenize(text)
    _check_nesting(tokens)
    bounds = [-1, *(t.start for t in tokens if t.token_type == TokenType.SEMICOLON), len(text)]
    pieces = (text[start + 1:end].strip() for start, end in zip(bounds, bounds[1:]))
    return [_rewrite(piece, iter(range(1, len(piece) + 1))) for piece in pieces if piece]


def _rewrite(text: str, positions: Iterator[int]) -> str:
    """One statement with ``?`` and ``:name`` in DuckDB's ``$`` form.

    sqlglot keeps the rest of a command (``CALL``, ``EXPLAIN``) as one string token, so that
    rest is rewritten on its own, sharing the count of ``?`` marks.
    """
    tokens = _tokenize(text)
    out: list[str] = []
    position, previous = 0, None
    for index, token in enumerate(tokens):
        if token.token_type in DuckDB.Tokenizer.COMMANDS and index + 1 < len(tokens):
            return "".join(out) + text[position:token.end + 1] + _rewrite(text[token.end + 1:], positions)
        replacement, end = None, token.end
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            replacement = f"${next(positions)}"
        elif token.token_type == TokenType.COLON and _is_named_placeholder(tokens, index, previous):
            replacement, end = f"${tokens[index + 1].text}", tokens[index + 1].end
        if replacement is not None:
            # A space keeps sqlglot from reading "$1,$2" as a dollar-quoted string.
            spacer = " " if end + 1 < len(text) and not text[end + 1].isspace() else ""
            out.append(text[position:token.start] + replacement + spacer)
            position = end + 1
        previous = token
    return "".join(out) + text[position:]


def _tokenize(text: str) -> list[Token]:
    try:
        return DuckDB().tokenize(text + _TAIL)
    except TokenError as exc:
        raise SQLSyntaxError(f"Syntax error: {exc}") from None


def _is_named_placeholder(tokens: list[Token], index: int, previous: Token | None) -> bool:
    """``:name`` with nothing between the colon and the name, not after a value."""
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    if following is None or following.start != tokens[index].end + 1:
        return False
    if not (following.text[:1].isalpha() or following.text[:1] == "_") or not following.text.replace("_", "").isalnum():
        return False
    return previous is None or previous.token_type not in _VALUE_ENDS


def _check_nesting(tokens: list[Token]) -> None:
    depth = deepest = 0
    for token in tokens:
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
            depth += 1
            deepest = max(deepest, depth)
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
            depth -= 1
    if deepest > MAX_NESTING:
        raise SQLSyntaxError(f"The statement nests {deepest} levels of brackets; at most {MAX_NESTING} are accepted.")


def _parse_one(text: str) -> exp.Expression:
    sqlglot_logger = logging.getLogger("sqlglot")
    level = sqlglot_logger.level
    sqlglot_logger.setLevel(logging.ERROR)  # statements sqlglot keeps as raw commands (CALL, EXPLAIN) are fine
    try:
        expression = sqlglot.parse_one(text + _TAIL, read="duckdb")
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        near = f" near {first['highlight']!r}" if first.get("highlight") else ""
        detail = str(first.get("description") or str(exc).splitlines()[0])
        if detail.startswith("Required keyword") or detail.startswith("Expected"):
            detail = "the clause is incomplete (something is missing after it)"
        elif "<Token" in detail:
            detail = "unexpected keyword"
        raise SQLSyntaxError(f"Syntax error{where}{near}: {detail}") from None
    except TokenError as exc:
        raise SQLSyntaxError(f"Syntax error: {exc}") from None
    finally:
        sqlglot_logger.setLevel(level)
    return expression


@contextmanager
def deep_recursion() -> Iterator[None]:
    """sqlglot's parser, optimizer and generator recurse per nesting level; allow what DuckDB allows."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)

