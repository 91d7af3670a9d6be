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

DuckDB's parser reads the text first (:mod:`.duckdb_parser`): what it refuses is refused with its
message and position, and only what it accepts reaches sqlglot. One exception is kept on
purpose: ClickSend names columns ``To`` and ``From``, words DuckDB reserves, and users write them
bare (``INSERT INTO SMSHistory (To, Body) ...``); a text DuckDB accepts once the identifiers
sqlglot reads there are quoted is accepted. A statement DuckDB parses and sqlglot cannot is kept
unread (:attr:`Statement.unread`) for DuckDB to run as written.
"""

from __future__ import annotations

import bisect
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from .duckdb_parser import duckdb_reading, duckdb_refusal, reserved_words
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
    """One parsed statement: its text in DuckDB's placeholder form and its syntax tree.

    ``unread`` is sqlglot's complaint about a statement DuckDB parses and sqlglot cannot; its
    ``expression`` is then an empty command, and DuckDB runs the text as written.
    """

    text: str
    expression: exp.Expr
    unread: str | None = None

    @property
    def placeholders(self) -> list[str]:
        """The parameter names the statement uses (``"1"``, ``"2"`` for positional ones).

        >>> parse("SELECT ?, $3 + ?")[0].placeholders
        ['1', '3', '2']
        >>> parse("SELECT list_transform([1], lambda x: x + $a)")[0].placeholders
        ['a']
        """
        if self.unread is not None:
            return duckdb_reading(self.text).placeholders
        return [node.name for node in self.expression.find_all(exp.Placeholder)]


def parse(text: str, session: duckdb.DuckDBPyConnection | None = None) -> list[Statement]:
    """Split and parse DuckDB SQL; what DuckDB's parser refuses is refused with its message, line
    and column, before sqlglot reads it. ``session`` is the DuckDB connection the statements will
    run in, whose parser reads them first (see :func:`.duckdb_refusal`).

    >>> [s.text for s in parse("SELECT ? AS a, :to; SELECT ?,?")]
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.SQLError: Mixing named and positional parameters is not supported yet
    >>> [s.text for s in parse("SELECT :a, :from; SELECT ?,?")]
    ['SELECT $a , $from', 'SELECT $1 ,$2']
    >>> parse("SELECT count(*) FROM t WHERE a = ? AND b <> ''")[0].text
    "SELECT count(*) FROM t WHERE a = $1 AND b <> ''"
    >>> parse("SELECT x[a:b], {'k': :v}")[0].text
    "SELECT x[a:b], {'k': $v }"
    >>> parse("SELECT 1 WHERE 2 BETWEEN SYMMETRIC 3 AND 1")
    Traceback (most recent call last):
    ...
    clicksend_sql.errors.SQLSyntaxError: Syntax error at line 1, column 26: syntax error at or near "SYMMETRIC"
    >>> parse("INSERT INTO SMSHistory (To, Body) VALUES ('+61411111111', 'Hi')")[0].expression.key
    'insert'
    """
    if not isinstance(text, str):
        raise SQLSyntaxError(f"A statement must be SQL text (str), not {type(text).__name__}.")
    with deep_recursion():
        refusal = duckdb_refusal(_duckdb_form(text), session)
        try:
            pieces = _normalised_pieces(text)
        except SQLSyntaxError:
            if refusal is not None:
                raise refusal from None
            raise
        if refusal is None:
            return [_read(piece) for piece in pieces]
        statements = []
        for piece in pieces:  # DuckDB refused the text: accepted only with reserved identifiers quoted
            try:
                expression = _parse_one(piece)
            except SQLSyntaxError:
                raise refusal from None
            if duckdb_refusal(_reserved_quoted(piece, expression), session) is not None:
                raise refusal
            statements.append(Statement(piece, expression))
        return statements


def _read(piece: str) -> Statement:
    """A statement DuckDB parses: sqlglot's tree, or kept unread when sqlglot cannot read it."""
    try:
        return Statement(piece, _parse_one(piece))
    except SQLSyntaxError as exc:
        return Statement(piece, exp.Command(this=""), unread=str(exc))


def _duckdb_form(text: str) -> str:
    """``text`` as DuckDB's parser takes it: ``:name`` becomes ``$name``, of the same length, so
    DuckDB's positions are positions in ``text``; ``?`` is DuckDB's own."""
    try:
        return _rewrite(text, None)
    except SQLSyntaxError:
        return text


def _reserved_quoted(text: str, expression: exp.Expr) -> str:
    """``text`` with the bare identifiers sqlglot read in it that DuckDB reserves (``To``,
    ``From``) quoted; an EXPLAIN's statement is read on its own.

    >>> text = "SELECT Body, To FROM SMSHistory"
    >>> _reserved_quoted(text, _parse_one(text))
    'SELECT Body, "To" FROM SMSHistory'
    """
    if isinstance(expression, exp.Command):
        rest = expression.expression.name if isinstance(expression.expression, exp.Literal) else ""
        start = text.rfind(rest) if rest and expression.name.upper() == "EXPLAIN" else -1
        if start < 0:
            return text
        try:
            inner = _parse_one(rest)
        except SQLSyntaxError:
            return text
        return text[:start] + _reserved_quoted(rest, inner) + text[start + len(rest):]
    spans = sorted(
        (node.meta["start"], node.meta["end"] + 1)
        for node in expression.find_all(exp.Identifier)
        if not node.quoted and node.name.lower() in reserved_words() and "start" in node.meta
        and text[node.meta["start"]:node.meta["end"] + 1].lower() == node.name.lower()
    )
    for start, end in reversed(spans):
        text = f'{text[:start]}"{text[start:end]}"{text[end:]}'
    return text


def _normalised_pieces(text: str) -> list[str]:
    """The text of each statement with placeholders rewritten; empty statements dropped."""
    tokens = _tokenize(text)
    _check_nesting(tokens)
    bounds = [-1, *(t.start for t in tokens if t.token_type == TokenType.SEMICOLON), len(text)]
    # A piece with no token of its own (blank, or only a comment such as "--") is no statement.
    filled = {bisect.bisect_left(bounds, t.start) - 1 for t in tokens if t.token_type != TokenType.SEMICOLON}
    spans = zip(bounds, bounds[1:])
    pieces = (text[start + 1:end].strip() for index, (start, end) in enumerate(spans) if index in filled)
    return [_rewrite(piece, iter(range(1, len(piece) + 1))) for piece in pieces if piece]


def _rewrite(text: str, positions: Iterator[int] | None) -> str:
    """One statement with ``?`` and ``:name`` in DuckDB's ``$`` form; with ``positions`` None,
    ``?`` stays and ``:name`` becomes ``$name`` with no spacer, so every position is kept.

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
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?" and positions is not None:
            replacement = f"${next(positions)}"
        elif token.token_type == TokenType.COLON and _is_named_placeholder(tokens, index, previous):
            replacement, end = f"${tokens[index + 1].text}", tokens[index + 1].end
        if replacement is not None:
            # A space keeps sqlglot from reading "$1,$2" as a dollar-quoted string.
            spacer = " " if positions is not None and end + 1 < len(text) and not text[end + 1].isspace() else ""
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


def _parse_one(text: str) -> exp.Expr:
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

