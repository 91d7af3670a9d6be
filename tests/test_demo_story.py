"""The demo account tells a consistent story (issue 24 §5), on the default demo and other seeds.

Read through SQL, as a user sees it:

* every reply comes minutes to days after the message it answers, from the number that message
  went to, to the number it came from; a reply names no message that is not in the history;
* nothing is dated at or after the start of the emulator's ``today`` (where its history ends),
  except the ``Schedule`` of a row still ``Scheduled``, which is after it (it has not gone yet);
* a contact marked ``unsubscribed`` answered STOP, when its ``UpdatedDate`` says, and every list
  has one (the rows README's DELETE example removes);
* each INSERT, UPDATE and DELETE example of README.md, run on a fresh demo account, changes at
  least one row (an ``ok`` outcome and a changing request in the emulator's log).
"""

from __future__ import annotations

import ast
import datetime as dt
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import clicksend_sql
import clicksend_sql.dbapi
from clicksend_sql import Connection
from clicksend_sql.catalog import load_catalog
from clicksend_sql.emulator import Emulator

from conftest import open_connection
from test_readme import BLOCKS, COMMANDS

DAY = 86_400
TIME_TYPES = ("TIMESTAMPTZ", "TIMESTAMP", "DATE")
UNIX_TEXT = ("Schedule", "ProcessedAt")  # VARCHAR columns that hold unix seconds
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture(scope="module", params=["default demo", 1, 2, 3], ids=lambda p: f"seed-{p}" if isinstance(p, int) else p)
def account(request: pytest.FixtureRequest) -> Iterator[tuple[Emulator, Connection]]:
    """The account ``connect(demo=True)`` serves, and the same sizes on other seeds."""
    with Emulator() if request.param == "default demo" else Emulator(seed=request.param) as emu, open_connection(emu) as con:
        yield emu, con


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def test_replies_come_after_the_message_they_answer(account: tuple[Emulator, Connection]) -> None:
    _, con = account
    replies = con.sql("""
        SELECT epoch(i.Timestamp) - epoch(h.Date) AS delay, i."From" = h."To" AND i."To" = h."From" AS between_them
        FROM InboundSMS i JOIN SMSHistory h ON h.MessageId = i.OriginalMessageId
    """).fetchall()
    inbound = con.sql("SELECT count(*) FROM InboundSMS").fetchall()[0][0]
    dangling = con.sql("""SELECT count(*) FROM InboundSMS WHERE OriginalMessageId <> ''
                          AND OriginalMessageId NOT IN (SELECT MessageId FROM SMSHistory)""").fetchall()[0][0]
    assert replies and len(replies) == inbound and dangling == 0
    assert all(60 <= delay <= 7 * DAY for delay, _ in replies), sorted(d for d, _ in replies)[:3]
    assert all(between_them for _, between_them in replies)


def test_nothing_is_dated_after_today_but_what_is_still_scheduled(account: tuple[Emulator, Connection]) -> None:
    emu, con = account
    today = _start_of(emu.today)
    checked = 0
    for table in load_catalog().tables.values():
        if table.needed_in_where:
            continue
        columns = [c.name for c in table.columns if c.type in TIME_TYPES or (c.name in UNIX_TEXT and c.type == "VARCHAR")]
        if not columns:
            continue
        status = "Status" if "Status" in table.column_names else "NULL"
        for column in columns:
            when = f'"{column}"' if table.column(column).type in TIME_TYPES else f'to_timestamp(TRY_CAST("{column}" AS BIGINT))'
            rows = con.sql(f'SELECT {when}, {status} FROM "{table.name}" WHERE {when} IS NOT NULL').fetchall()
            for value, state in rows:
                moment = value if isinstance(value, dt.datetime) else _start_of(value)
                if column == "Schedule" and state == "Scheduled":
                    assert moment >= today, f"{table.name}.{column} {moment}: Scheduled, yet its time has passed"
                else:
                    assert moment < today, f"{table.name}.{column} {moment} is not before today ({emu.today})"
            checked += len(rows)
    assert checked > 1000


def test_an_unsubscribed_contact_answered_stop_and_every_list_has_one(account: tuple[Emulator, Connection]) -> None:
    _, con = account
    unexplained = con.sql("""
        SELECT c.ContactId FROM Contacts c WHERE c.Custom1 = 'unsubscribed' AND NOT EXISTS (
            SELECT 1 FROM InboundSMS i WHERE i."From" = c.PhoneNumber AND i.Body = 'STOP' AND i.Timestamp = c.UpdatedDate)
    """).fetchall()
    lists = con.sql("""SELECT l.ListId FROM ContactLists l
                       WHERE l.ListId NOT IN (SELECT ListId FROM Contacts WHERE Custom1 = 'unsubscribed')""").fetchall()
    assert unexplained == [] and lists == []


# --- README's writes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """One INSERT, UPDATE or DELETE of README.md and how its example runs it."""

    sql: str
    line: int
    method: str  # sql, execute or executemany
    params: Any = None
    options: tuple[tuple[str, Any], ...] = ()  # the block's connect() keywords (default_country, ...)

    @property
    def id(self) -> str:
        return f"L{self.line}-{' '.join(self.sql.split()[:3])}"


def readme_writes() -> list[Write]:
    """The writes README's python blocks make (``con.sql``, ``cur.execute``, ``cur.executemany``
    with literal arguments) and its ``clicksend-sql query`` commands run."""
    writes: list[Write] = []
    for block in (b for b in BLOCKS if b.language == "python"):
        tree = ast.parse(block.code)
        calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)),
                       key=lambda n: (n.lineno, n.col_offset))
        connect = next((c for c in calls if c.func.attr == "connect"), None)  # type: ignore[attr-defined]
        for call in calls:
            method = call.func.attr  # type: ignore[attr-defined]
            if method not in ("sql", "execute", "executemany") or not call.args:
                continue
            text = call.args[0]
            if isinstance(text, ast.Constant) and isinstance(text.value, str) and text.value.split()[0].upper() in WRITES:
                assert connect is not None, f"README.md:{block.line}: a write with no connect() to run it on"
                options = tuple((k.arg, ast.literal_eval(k.value)) for k in connect.keywords if k.arg != "demo")
                params = ast.literal_eval(call.args[1]) if len(call.args) > 1 else None
                writes.append(Write(text.value, block.line + call.lineno, method, params, options))
    for command in COMMANDS:
        if command.argv[:2] == ("clicksend-sql", "query"):
            text = next(a for a in command.argv[2:] if not a.startswith("-"))
            if text.split()[0].upper() in WRITES:
                writes.append(Write(text, command.line, "sql"))
    return writes


WRITES_IN_README = readme_writes()


def test_the_readme_has_writes_of_each_kind() -> None:
    assert {w.sql.split()[0].upper() for w in WRITES_IN_README} == set(WRITES), [w.id for w in WRITES_IN_README]


@pytest.mark.parametrize("write", WRITES_IN_README, ids=lambda w: w.id)
def test_each_readme_write_changes_something_on_the_demo(write: Write) -> None:
    with Emulator() as emu, clicksend_sql.dbapi.connect(
        emu.username, emu.api_key, base_url=emu.base_url, rate_limit=None, **dict(write.options)
    ) as db:
        cursor = db.cursor()
        emu.reset_stats()
        if write.method == "executemany":
            cursor.executemany(write.sql, write.params)
        else:
            cursor.execute(write.sql, write.params)
        changes = [r for r in emu.requests() if r.split()[0] in ("POST", "PUT", "DELETE") and "/price" not in r]
        assert cursor.rowcount >= 1 and changes, f"README.md:{write.line} changed nothing: {shlex.quote(write.sql)}"
