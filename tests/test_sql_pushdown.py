"""Pushdown: the minimum number of requests, and never a different answer.

Request counts come from the emulator's own counters (``emu.stats()``) and from
``con.last_stats``. Answers are checked against a local DuckDB copy of the tables taken once
per module: any WHERE, join or subquery must give the same rows over ClickSend as over the copy,
whatever the planner chose to push.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import duckdb
import pytest

from clicksend_sql import Connection
from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import SQLDataError

from conftest import RawApi, open_connection

LISTS = "GET /v3/lists"
LIST = "GET /v3/lists/{list_id}"
CONTACTS = "GET /v3/lists/{list_id}/contacts"
CONTACT = "GET /v3/lists/{list_id}/contacts/{contact_id}"
HISTORY = "GET /v3/sms/history"
COPIED = ("SMSHistory", "Contacts", "ContactLists", "InboundSMS")


def pages(rows: int) -> int:
    return max(1, math.ceil(rows / 100))


def key_list(sizes: dict[int, int], count: int, *, without: int | None = None) -> str:
    """``count`` list ids: every list of the account (but ``without``), then ids no list has."""
    lists = [k for k in sorted(sizes) if k != without]
    return ", ".join(str(k) for k in lists + list(range(900_000, 900_000 + count - len(lists))))


@pytest.fixture(scope="module")
def snapshot(emulator: Emulator) -> Iterator[Connection]:
    """A connection holding local copies ``local_<table>`` of the tables the comparisons read."""
    with open_connection(emulator) as connection:
        for name in COPIED:
            connection.sql(f"CREATE TABLE local_{name} AS SELECT * FROM {name}")
        yield connection


@pytest.fixture(scope="module")
def facts(snapshot: Connection) -> dict[str, Any]:
    """Values taken from the data (never hard-coded): list sizes, a contact, dates inside the range."""
    sizes = dict(snapshot.sql("SELECT ListId, count(*) FROM local_Contacts GROUP BY 1 ORDER BY 2 DESC").fetchall())
    big, small = next(iter(sizes)), list(sizes)[-1]
    contact = snapshot.sql(f"SELECT ContactId, UpdatedDate FROM local_Contacts WHERE ListId = {small} LIMIT 1").fetchone()
    dates = [r[0] for r in snapshot.sql("SELECT Date FROM local_SMSHistory ORDER BY Date").fetchall()]
    assert contact is not None and len(sizes) > 2 and sizes[big] > 100
    return {
        "keys": key_list(sizes, 500, without=small),  # more keys than a listing page holds
        "sizes": sizes,
        "big": big,
        "small": small,
        "contact": contact[0],
        "contact_updated": contact[1],
        "history": len(dates),
        "d1": dates[len(dates) // 3],
        "d2": dates[2 * len(dates) // 3],
    }


def ts(value: datetime) -> str:
    return f"TIMESTAMPTZ '{value.isoformat()}'"


def fill(template: str, facts: dict[str, Any], local: bool) -> str:
    names = {t: (f"local_{t}" if local else t) for t in COPIED}
    values = {k: ts(v) if isinstance(v, datetime) else v for k, v in facts.items() if k != "sizes"}
    return template.format(**names, **values)


def same_rows(con: Connection, snapshot: Connection, template: str, facts: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run the statement over ClickSend and over the local copy; the row multisets must agree."""
    got = con.sql(fill(template, facts, local=False)).fetchall()
    want = snapshot.sql(fill(template, facts, local=True)).fetchall()
    assert sorted(map(repr, got)) == sorted(map(repr, want))
    return got


# --- request counts --------------------------------------------------------------------------


def test_key_lookup_is_one_get(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    rows = con.sql(f"SELECT ListId FROM ContactLists WHERE ListId = {facts['small']}").fetchall()
    assert rows == [(facts["small"],)]
    assert emu.stats()["by_operation"] == {LIST: 1} and con.last_stats.requests == 1


def test_composite_key_lookup_is_one_get(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    sql = f"SELECT ContactId, ListId FROM Contacts WHERE ListId = {facts['small']} AND ContactId = {facts['contact']}"
    assert con.sql(sql).fetchall() == [(facts["contact"], facts["small"])]
    assert emu.stats()["by_operation"] == {CONTACT: 1} and con.last_stats.requests == 1


def test_in_on_the_key_is_one_get_each_and_a_missing_key_is_no_row(
    con: Connection, emu: Emulator, facts: dict[str, Any]
) -> None:
    rows = con.sql(f"SELECT ListId FROM ContactLists WHERE ListId IN ({facts['big']}, {facts['small']}, 999999)")
    assert sorted(rows.fetchall()) == sorted([(facts["big"],), (facts["small"],)])
    assert emu.stats()["by_operation"] == {LIST: 3}


def test_parent_key_reads_only_that_lists_pages(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    size = facts["sizes"][facts["big"]]
    assert len(con.sql(f"SELECT * FROM Contacts WHERE ListId = {facts['big']}")) == size
    assert emu.stats()["by_operation"] == {CONTACTS: pages(size)}


# --- key lists: a request per key, or the listing (issue 24 §6) ------------------------------------




def test_a_long_key_list_reads_the_parent_listing_not_a_request_per_key(
    con: Connection, emu: Emulator, snapshot: Connection, facts: dict[str, Any]
) -> None:
    """3,000 list ids, six of them lists: one listing request (not 3,000) for the count; 500 of
    them all lists but one: the listing plus the pages of the lists among the keys for the rows."""
    keys = key_list(facts["sizes"], 3000)
    count = same_rows(con, snapshot, f"SELECT count(*) FROM {{Contacts}} WHERE ListId IN ({keys})", facts)
    assert count == [(sum(facts["sizes"].values()),)] and emu.stats()["by_operation"] == {LISTS: 1}
    emu.reset_stats()
    same_rows(con, snapshot, "SELECT ContactId, ListId FROM {Contacts} WHERE ListId IN ({keys})", facts)
    lists = {k: n for k, n in facts["sizes"].items() if k != facts["small"]}
    assert emu.stats()["by_operation"] == {LISTS: 1, CONTACTS: sum(pages(n) for n in lists.values())}
    emu.reset_stats()
    assert len(con.sql(f"SELECT * FROM Contacts WHERE ListId IN ({facts['keys']}) LIMIT 5")) == 5
    assert emu.stats()["by_operation"] == {LISTS: 1, CONTACTS: 1}


def test_a_short_key_list_is_still_a_request_per_key(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    sql = f"SELECT count(*) FROM Contacts WHERE ListId IN ({facts['big']}, {facts['small']}, 999999)"
    assert con.sql(sql).fetchall() == [(facts["sizes"][facts["big"]] + facts["sizes"][facts["small"]],)]
    assert emu.stats()["by_operation"] == {CONTACTS: 3}
    emu.reset_stats()
    keys = key_list(facts["sizes"], 100)  # as many keys as a listing page holds: still a request each
    assert con.sql(f"SELECT count(*) FROM Contacts WHERE ListId IN ({keys})").fetchall() == [(sum(facts["sizes"].values()),)]
    assert emu.stats()["by_operation"] == {CONTACTS: 100}


def test_explain_says_which_way_a_key_list_is_read_and_why(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    long, = con.explain(f"SELECT * FROM Contacts WHERE ListId IN ({facts['keys']})").arrow().to_pylist()
    short, = con.explain(f"SELECT * FROM Contacts WHERE ListId IN ({facts['big']}, {facts['small']})").arrow().to_pylist()
    gets, = con.explain(f"SELECT * FROM ContactLists WHERE ListId IN ({key_list(facts['sizes'], 150)})").arrow().to_pylist()
    assert long["choice"].startswith("through ContactLists: 500 ListId keys would take 500 requests at least")
    assert long["streams"] == "per parent row whose list_id is one of 500 keys"
    assert long["expected_requests"] == "the ContactLists pages, then each ContactLists row among the 500 keys x ceil(rows/100)"
    assert short["choice"].startswith("1 stream per key: 2 keys, 2 requests") and short["streams"].count("list_id=") == 2
    assert gets["mode"] == "list" and gets["choice"].startswith("the listing: 150 keys would take 150 requests (1 GET each)")
    assert emu.stats()["total"] == 0


def test_date_range_is_pushed_as_date_from_and_date_to(
    con: Connection, snapshot: Connection, emu: Emulator, raw: RawApi, facts: dict[str, Any]
) -> None:
    template = "SELECT MessageId FROM {SMSHistory} WHERE Date >= {d1} AND Date < {d2}"
    rows = same_rows(con, snapshot, template, facts)
    assert 0 < len(rows) < facts["history"]
    params = dict(p.split("=") for p in con.explain(fill(template, facts, local=False)).fetchone()[4].split(", "))
    assert set(params) == {"date_from", "date_to"}
    superset = raw.get("/sms/history", date_from=params["date_from"], date_to=params["date_to"])["data"]["total"]
    emu.reset_stats()
    con.sql(fill(template, facts, local=False))
    assert emu.stats()["by_operation"] == {HISTORY: pages(superset)} and superset < facts["history"]


def test_limit_is_one_request(con: Connection, emu: Emulator) -> None:
    assert len(con.sql("SELECT * FROM SMSHistory LIMIT 5")) == 5
    assert emu.stats()["by_operation"] == {HISTORY: 1} and con.last_stats.requests == 1


def test_order_by_date_desc_limit_is_one_request_with_the_newest_rows(
    con: Connection, snapshot: Connection, emu: Emulator
) -> None:
    got = con.sql("SELECT Date, MessageId FROM SMSHistory ORDER BY Date DESC LIMIT 5").fetchall()
    assert emu.stats()["by_operation"] == {HISTORY: 1}
    newest = snapshot.sql("SELECT Date FROM local_SMSHistory ORDER BY Date DESC LIMIT 5").fetchall()
    assert [r[0] for r in got] == [r[0] for r in newest]
    ids = {r[0] for r in snapshot.sql(f"SELECT MessageId FROM local_SMSHistory WHERE Date >= {ts(newest[-1][0])}").fetchall()}
    assert {r[1] for r in got} <= ids


def test_limit_with_an_inexact_filter_still_filters(con: Connection) -> None:
    rows = con.sql("SELECT Status FROM SMSHistory WHERE Status = 'Sent' LIMIT 7").fetchall()
    assert rows == [("Sent",)] * 7


def test_count_star_is_one_request(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    assert con.sql("SELECT count(*) FROM SMSHistory").fetchall() == [(facts["history"],)]
    assert emu.stats()["by_operation"] == {HISTORY: 1}
    emu.reset_stats()
    n = con.sql(f"SELECT count(*) AS n FROM Contacts WHERE ListId = {facts['big']}")
    assert n.fetchall() == [(facts["sizes"][facts["big"]],)] and n.columns == ["n"]
    assert emu.stats()["by_operation"] == {CONTACTS: 1}


def test_count_star_with_an_inexact_filter_counts_locally(
    con: Connection, snapshot: Connection, facts: dict[str, Any]
) -> None:
    same_rows(con, snapshot, "SELECT count(*) FROM {SMSHistory} WHERE Status = 'Sent'", facts)
    same_rows(con, snapshot, "SELECT count(*) FROM {Contacts} WHERE UpdatedDate > {contact_updated}", facts)


def test_join_fetches_each_table_once(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    sql = "SELECT c.ContactId, l.ListName FROM Contacts c JOIN ContactLists l ON c.ListId = l.ListId"
    assert len(con.sql(sql)) == sum(facts["sizes"].values())
    expected = {LISTS: 1, CONTACTS: sum(pages(n) for n in facts["sizes"].values())}
    assert emu.stats()["by_operation"] == expected and con.last_stats.requests == sum(expected.values())


def test_self_join_fetches_once(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    sql = "SELECT count(*) FROM Contacts a JOIN Contacts b ON a.ContactId = b.ContactId AND a.ListId = b.ListId"
    assert con.sql(sql).fetchall() == [(sum(facts["sizes"].values()),)]
    assert emu.stats()["by_operation"] == {LISTS: 1, CONTACTS: sum(pages(n) for n in facts["sizes"].values())}


def test_parameters_are_pushed_like_literals(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    positional = con.sql("SELECT ContactId FROM Contacts WHERE ListId = ? AND ContactId = ?", [facts["small"], facts["contact"]])
    named = con.sql("SELECT ContactId FROM Contacts WHERE ListId = $l AND ContactId = $c", {"l": facts["small"], "c": facts["contact"]})
    assert positional.fetchall() == named.fetchall() == [(facts["contact"],)]
    assert emu.stats()["by_operation"] == {CONTACT: 2}


# --- same answer as the local copy -----------------------------------------------------------

SEMANTICS = [
    "SELECT MessageId FROM {SMSHistory} WHERE Status = 'Sent' OR Status = 'Failed'",
    "SELECT MessageId FROM {SMSHistory} WHERE lower(Status) = 'sent'",
    "SELECT MessageId FROM {SMSHistory} WHERE NOT (Status = 'Sent')",
    "SELECT MessageId FROM {SMSHistory} WHERE ErrorCode IS NULL AND Status <> 'Sent'",
    "SELECT MessageId FROM {SMSHistory} WHERE CustomString IS NOT NULL AND Body LIKE '%a%'",
    "SELECT MessageId FROM {SMSHistory} WHERE Status = 'Sent' AND Date >= {d1}",
    "SELECT MessageId FROM {SMSHistory} WHERE Date > {d1} AND Date <= {d2}",
    "SELECT MessageId FROM {SMSHistory} WHERE Date BETWEEN {d1} AND {d2} OR Status = 'Failed'",
    "SELECT MessageId FROM {SMSHistory} WHERE Date < {d1} - INTERVAL 1 DAY",
    "SELECT MessageId FROM {SMSHistory} WHERE MessagePrice > 0.05 AND MessageParts >= 1",
    "SELECT MessageId FROM {SMSHistory} WHERE \"To\" = (SELECT \"To\" FROM {SMSHistory} ORDER BY MessageId LIMIT 1)",
    "SELECT ContactId FROM {Contacts} WHERE UpdatedDate > {contact_updated}",
    "SELECT ContactId FROM {Contacts} WHERE UpdatedDate >= {contact_updated}",
    "SELECT ContactId FROM {Contacts} WHERE ContactId = {contact}",
    "SELECT ContactId FROM {Contacts} WHERE ListId = {big} OR ContactId = {contact}",
    "SELECT ContactId FROM {Contacts} WHERE ListId IN ({big}, {small}) AND FirstName LIKE 'A%'",
    "SELECT ContactId FROM {Contacts} WHERE ListId = {big} AND ListId = {small}",
    "SELECT ContactId FROM {Contacts} WHERE ListId IN ({big}, {small}) AND ListId = {small}",
    "SELECT ContactId FROM {Contacts} WHERE ListId = {small} AND ContactId IN ({contact}, -1)",
    # LEFT JOIN: an ON condition on the right side restricts the joined rows, never the lists
    "SELECT l.ListId, c.ContactId FROM {ContactLists} l LEFT JOIN {Contacts} c ON c.ListId = l.ListId AND c.ContactId = {contact}",
    # ... an ON condition on the left (preserved) side must not drop left rows
    "SELECT l.ListId, c.ContactId FROM {ContactLists} l LEFT JOIN {Contacts} c ON c.ListId = l.ListId AND l.ListId = {small}",
    # ... a WHERE on the right side does filter
    "SELECT l.ListId, c.ContactId FROM {ContactLists} l LEFT JOIN {Contacts} c ON c.ListId = l.ListId WHERE c.ContactId = {contact}",
    "SELECT l.ListId FROM {ContactLists} l LEFT JOIN {Contacts} c ON c.ListId = l.ListId AND c.ListId = -1 WHERE c.ContactId IS NULL",
    "SELECT c.ContactId, l.ListId FROM {Contacts} c RIGHT JOIN {ContactLists} l ON c.ListId = l.ListId AND c.ContactId = {contact}",
    "SELECT c.ContactId, l.ListId FROM {Contacts} c FULL JOIN {ContactLists} l ON c.ListId = l.ListId AND l.ListId = {small} AND c.ContactId = {contact}",
    "SELECT ContactId FROM {Contacts} WHERE ListId IN (SELECT ListId FROM {ContactLists} WHERE ListId = {small})",
    "SELECT ListId FROM {ContactLists} l WHERE EXISTS (SELECT 1 FROM {Contacts} c WHERE c.ListId = l.ListId AND c.ContactId = {contact})",
    "WITH recent AS (SELECT * FROM {SMSHistory} WHERE Date > {d2}) SELECT Status, count(*) FROM recent GROUP BY Status",
    "WITH c AS (SELECT * FROM {Contacts} WHERE ListId = {small}) SELECT a.ContactId FROM c a JOIN c b USING (ContactId)",
    "SELECT MessageId FROM {SMSHistory} WHERE Status = 'Sent' UNION ALL SELECT MessageId FROM {InboundSMS}",
    "SELECT ListId FROM {Contacts} WHERE ContactId = {contact} UNION SELECT ListId FROM {ContactLists} WHERE ListId = {big}",
    "SELECT * FROM (SELECT ListId, row_number() OVER (PARTITION BY ListId ORDER BY ContactId) AS n FROM {Contacts}) WHERE n <= 2",
    "SELECT Status, count(*), sum(MessagePrice) FROM {SMSHistory} GROUP BY Status HAVING count(*) > 10",
    "SELECT DISTINCT Status FROM {SMSHistory} ORDER BY Status LIMIT 3",
    "SELECT MessageId FROM {SMSHistory} ORDER BY Date, MessageId LIMIT 5 OFFSET 3",
    "SELECT a.ContactId FROM {Contacts} a JOIN {Contacts} b ON a.ContactId = b.ContactId WHERE a.ListId = {small}",
    "SELECT count(*) FROM {Contacts} a, {Contacts} b WHERE a.ListId = {small} AND b.ListId = {big} AND a.FirstName = b.FirstName",
    # 500 list ids (all lists but the small one): read through the ContactLists listing
    "SELECT ContactId FROM {Contacts} WHERE ListId IN ({keys}) AND UpdatedDate > {contact_updated}",
    "SELECT ContactId FROM {Contacts} WHERE ListId NOT IN ({keys})",
    "SELECT c.ContactId, l.ListName FROM {Contacts} c JOIN {ContactLists} l USING (ListId) WHERE c.ListId IN ({keys})",
    "SELECT ListId, count(*) FROM {Contacts} WHERE ListId IN ({keys}) AND ContactId IN ({contact}, -1) GROUP BY ListId",
    "SELECT ContactId FROM {Contacts} WHERE ListId IN ({keys}) ORDER BY ContactId LIMIT 7",
    "SELECT ListId, ContactsCount FROM {ContactLists} WHERE ListId IN ({keys})",
]


@pytest.mark.parametrize("template", SEMANTICS)
def test_same_answer_as_the_local_copy(
    con: Connection, snapshot: Connection, facts: dict[str, Any], template: str
) -> None:
    same_rows(con, snapshot, template, facts)


def test_unpushable_predicates_are_still_applied(con: Connection, facts: dict[str, Any]) -> None:
    """A sanity check on the corpus above: the filters really do remove rows."""
    statuses = con.sql("SELECT DISTINCT Status FROM SMSHistory WHERE NOT (Status = 'Sent') AND Status IS NOT NULL")
    assert ("Sent",) not in statuses.fetchall() and len(statuses) > 0
    joined = con.sql(
        f"SELECT l.ListId, c.ContactId FROM ContactLists l LEFT JOIN Contacts c "
        f"ON c.ListId = l.ListId AND l.ListId = {facts['small']}"
    ).fetchall()
    assert {r[0] for r in joined} == set(facts["sizes"]), "every list survives the LEFT JOIN"
    assert {r[0] for r in joined if r[1] is not None} == {facts["small"]}


# --- EXPLAIN ---------------------------------------------------------------------------------


def test_explain_shows_the_plan_and_makes_no_request(con: Connection, emu: Emulator, facts: dict[str, Any]) -> None:
    sql = (
        f"SELECT * FROM Contacts c JOIN SMSHistory h ON h.ContactId = c.ContactId "
        f"WHERE c.ListId = {facts['small']} AND h.Date >= {ts(facts['d1'])} AND lower(h.Body) LIKE '%x%'"
    )
    plan = {row["table"]: row for row in con.explain(sql).arrow().to_pylist()}
    contacts, history = plan["Contacts"], plan["SMSHistory"]
    assert contacts["endpoint"] == "GET /v3/lists/{list_id}/contacts" and str(facts["small"]) in contacts["streams"]
    assert contacts["pushed"] == f"ListId = {facts['small']}" and contacts["expected_requests"]
    assert history["endpoint"] == "GET /v3/sms/history" and history["params"].startswith("date_from=")
    assert history["pushed"].startswith("Date >=") and "like" in history["local"].lower()
    via_sql = con.sql("EXPLAIN " + sql).arrow().to_pylist()
    assert {r["table"]: r["params"] for r in via_sql} == {t: r["params"] for t, r in plan.items()}
    key = con.explain(f"SELECT * FROM ContactLists WHERE ListId = {facts['small']}").arrow().to_pylist()[0]
    assert key["mode"] == "get" and key["expected_requests"] == "1"
    assert emu.stats()["total"] == 0


@pytest.mark.parametrize(
    "where",
    ["ListId = {big}.5", "ListId IN ({big}.5, {small}.5)", "SubaccountId = 2.5"],
)
def test_a_constant_the_column_can_never_hold_needs_no_request(
    con: Connection, emu: Emulator, facts: dict[str, Any], where: str
) -> None:
    table = "SMSHistory" if "Subaccount" in where else "Contacts"
    assert con.sql(f"SELECT * FROM {table} WHERE {where.format(**facts)}").fetchall() == []
    assert con.sql(f"SELECT count(*) FROM {table} WHERE {where.format(**facts)}").fetchone() == (0,)
    assert emu.stats()["total"] == 0


def test_no_row_can_match_yet_a_constant_duckdb_refuses_still_fails(con: Connection, emu: Emulator) -> None:
    """``ContactsCount = NULL`` matches nothing, but the other side of the OR holds a cast DuckDB
    refuses, and DuckDB fails on every row it evaluates it on: the rows are fetched so it does (the
    random-seed differential found the planner answering 0 with no request)."""
    sql = ('SELECT count(*) FROM ContactLists t WHERE NOT (t.ContactsCount <> NULL OR t.ContactsCount = CAST(? AS BIGINT))')
    with pytest.raises(SQLDataError, match="out of range"):
        con.sql(sql, [99999999999999999999999]).fetchall()
    emu.reset_stats()
    assert con.sql(sql, [5]).fetchall() == [(0,)] and emu.stats()["total"] == 0  # a value DuckDB takes: no request


def test_no_row_can_match_yet_a_literal_the_column_cannot_take_still_fails(con: Connection, emu: Emulator) -> None:
    """The random-seed differential (3,000 examples) found the same with a literal: ``NULL AND ...``
    matches nothing, but ``'1401'`` is no timestamp, and DuckDB casts it, and fails, on every row
    that reaches it; on its own the literal is fine, so the conjunct is tried on a row of NULLs."""
    sql = "SELECT * FROM FaxHistory WHERE NOT (NULL OR FaxHistory.CreatedDate IN ('1401'))"
    with pytest.raises(SQLDataError, match="timestamp"):
        con.sql(sql).fetchall()
    emu.reset_stats()
    fine = "SELECT * FROM FaxHistory WHERE NOT (NULL OR FaxHistory.CreatedDate IN ('2026-01-01'))"
    assert con.sql(fine).fetchall() == [] and emu.stats()["total"] == 0  # a literal DuckDB takes: no request


def test_a_fractional_key_among_real_ones_is_dropped_not_rounded(
    con: Connection, emu: Emulator, facts: dict[str, Any], snapshot: Connection
) -> None:
    got = con.sql(f"SELECT ContactId FROM Contacts WHERE ListId IN ({facts['big']}.5, {facts['small']}) ORDER BY 1")
    want = snapshot.sql(f"SELECT ContactId FROM local_Contacts WHERE ListId = {facts['small']} ORDER BY 1")
    assert got.fetchall() == want.fetchall()
    assert emu.stats()["by_operation"] == {CONTACTS: pages(facts["sizes"][facts["small"]])}


def test_limit_zero_makes_no_request(con: Connection, emu: Emulator) -> None:
    result = con.sql("SELECT * FROM SMSHistory LIMIT 0")
    assert len(result) == 0 and result.columns[0] == "MessageId"
    assert emu.stats()["total"] == 0


def test_a_constant_of_the_wrong_type_is_duckdbs_to_judge(con: Connection, emu: Emulator) -> None:
    """A constant no value of the column's type can be is not pushed (it would narrow nothing that
    DuckDB agrees with): DuckDB fails where it evaluates it, as plain DuckDB does, and answers
    where its plan never reaches it (found by the differential test's random seeds, issue 25)."""
    from clicksend_sql.errors import SQLError

    with pytest.raises(SQLError, match=r"Could not convert string 'abc' to INT64") as info:
        con.sql("SELECT * FROM ContactLists WHERE ListId = 'abc'")
    assert "CAST" not in str(info.value) and "__clicksend" not in str(info.value)  # no generated SQL in the message
    query = "SELECT count(*) FROM ContactLists WHERE ? = ContactsCount AND ContactsCount IN ('x')"
    assert con.sql(query, [-1]).fetchall() == duckdb.sql("SELECT count(*) FROM (VALUES (5)) t(ContactsCount) "
                                                         "WHERE -1 = ContactsCount AND ContactsCount IN ('x')").fetchall()


def test_a_scalar_subquery_of_several_rows_is_duckdbs_error_not_a_pushed_value(con: Connection) -> None:
    """Evaluated first to be pushed, it fails there; the failure is left for DuckDB to report."""
    from clicksend_sql.errors import SQLError

    with pytest.raises(SQLError, match="More than one row returned by a subquery"):
        con.sql("SELECT * FROM SMSHistory WHERE Date > (SELECT v FROM (VALUES (now()), (now())) x(v))").fetchall()


# --- issue 13: modifiers kept, list parameters, CTE scope ---------------------------------------


def test_table_modifiers_survive_pointing_the_table_at_its_rows(con: Connection) -> None:
    assert con.sql("SELECT count(*) FROM SMSHistory TABLESAMPLE 10 ROWS").fetchall() == [(10,)]
    assert con.sql("SELECT count(*) FROM SMSHistory USING SAMPLE 7 ROWS").fetchall() == [(7,)]
    assert con.sql("SELECT * FROM ContactLists AS l(a, b) LIMIT 1").columns[:2] == ["a", "b"]
    pivoted = con.sql("PIVOT (SELECT Status, Direction FROM SMSHistory) ON Direction USING count(*) GROUP BY Status")
    total = con.sql("SELECT count(*) FROM SMSHistory WHERE Direction = 'out'").fetchone()[0]
    assert sum(row[1] for row in pivoted.fetchall()) == total


def test_in_on_a_list_parameter_sends_every_value(con: Connection, emu: Emulator) -> None:
    rows = con.sql("SELECT Status FROM OwnNumbers WHERE Status IN ('APPROVED', 'REJECTED')").fetchall()
    assert {r[0] for r in rows} <= {"APPROVED", "REJECTED"}
    sent = [line for line in emu.requests() if line.startswith("GET /v3/own-numbers")]
    assert len(sent) == 1 and "APPROVED" in sent[0] and "REJECTED" in sent[0]


def test_a_cte_hides_a_clicksend_table_only_in_its_own_scope(con: Connection) -> None:
    got = con.sql(
        "SELECT (WITH Contacts AS (SELECT 1 AS x) SELECT count(*) FROM Contacts), (SELECT count(*) FROM Contacts)"
    ).fetchone()
    assert got == (1, con.sql("SELECT count(*) FROM Contacts").fetchone()[0]) and got[1] > 1


def test_a_collated_constant_is_not_pushed_as_plain_text(con: Connection) -> None:
    """'Fàiled' COLLATE noaccent equals 'Failed': pushed as q=status:Fàiled it fetched no row
    (found by the planner-rules fixtures); the collation on either side gives DuckDB's answer."""
    on_constant = con.sql("SELECT count(*) FROM SMSHistory WHERE Status = 'Fàiled' COLLATE noaccent").fetchall()
    on_column = con.sql("SELECT count(*) FROM SMSHistory WHERE Status COLLATE noaccent = 'Fàiled'").fetchall()
    plain = con.sql("SELECT count(*) FROM SMSHistory WHERE Status = 'Failed'").fetchall()
    assert on_constant == on_column == plain and plain[0][0] > 0
