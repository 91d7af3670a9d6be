"""Replication end to end into DuckDB files (and, for the scenarios where the database matters, the
session's PostgreSQL too): real HTTP to the emulator, real dlt loads, the copy read back with the
database's own driver (tests/replication_scenarios.py has the shared scenarios)."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import clicksend_sql
from clicksend_sql.emulator import Emulator
from conftest import interrupt_when_busy
from replication_scenarios import (
    CONTACTS,
    DEFAULT_LAG,
    SMALL,
    SMS,
    Account,
    Destination,
    DuckDBDestination,
    PostgresDestination,
    Replicator,
    Run,
    account,
    assert_copy_is_exact,
    contact_pages,
    environ_for_cli,
    failed_run_writes_nothing,
    files_containing,
    fresh_machine_resumes,
    history_keeps_versions,
    in_clicksend,
    in_copy,
    list_pages,
    next_dataset,
    next_second,
    no_secret_in_destination,
    query_of,
    replicate_command,
    secrets,
    snake,
)

SCRIPT = Path(sys.executable).with_name("clicksend-sql")


@pytest.fixture()
def duck(tmp_path: Path) -> DuckDBDestination:
    return DuckDBDestination(tmp_path / "copy.duckdb")


@pytest.fixture(params=["duckdb", "postgresql"])
def dest(request: pytest.FixtureRequest, tmp_path: Path) -> Destination:
    """Each database the scenarios that depend on the destination run against (the session's PostgreSQL)."""
    if request.param == "duckdb":
        return DuckDBDestination(tmp_path / "copy.duckdb")
    return PostgresDestination(request.getfixturevalue("postgres_uri"), dataset=next_dataset())


# --- every table: one test, because the two runs it needs are the suite's most expensive ------------


def test_every_table_copied_then_a_quiet_second_run(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """Every replicable table (the default set) copied into a DuckDB file, then a second run with
    nothing changed in between; the file read by another process; no secret in it or in dlt's files.
    (One test rather than a module fixture shared by several: pytest -n 2 would run it once per worker.)"""
    with account(seed=11, sizes=SMALL) as acct:
        rep = Replicator(acct, duck, pipelines_dir)
        first = rep.run(None)
        check_every_listable_table_is_copied(acct, duck, first)
        second = rep.run(None)
        check_a_quiet_second_run_asks_little(acct, duck, first, second)
        check_a_bi_tool_in_another_process_reads_the_copy(acct, duck)
        assert files_containing(pipelines_dir, secrets(acct)) == []
        kept = [p.name for p in pipelines_dir.rglob("*") if p.suffix in (".parquet", ".insert_values", ".jsonl", ".gz")]
        assert kept == []  # a completed load's rows are not left in dlt's folder (contacts' PII among them)
        assert files_containing(duck.path.parent, secrets(acct)) == []
        no_secret_in_destination(acct, duck)


def listable_tables(acct: Account) -> dict[str, int]:
    """Every table ClickSend lists whole, found by asking: its count(*) without a WHERE, or it is not one."""
    found = {}
    for table in acct.con.catalog.tables.values():
        try:
            [(n,)] = acct.sql(f'SELECT count(*) FROM "{table.name}"')
        except clicksend_sql.ClickSendSQLError as refused:
            assert "WHERE" in str(refused), refused  # a table listed only for a given Year, Country...
            continue
        found[table.name] = n
    return found


def check_every_listable_table_is_copied(acct: Account, dest: DuckDBDestination, first: Run) -> None:
    listable = listable_tables(acct)
    assert {"AccountUsage", "AvailableNumbers"}.isdisjoint(listable) and len(listable) > 40
    assert {t.table for t in first.report.tables} == set(listable)
    assert {snake(name) for name in listable} <= dest.tables()
    for name, n in listable.items():
        assert dest.count(snake(name)) == n, name
        assert first.counts(name) == (n, 0, 0), name
        assert first.table(name).copy == snake(name)
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
    assert_copy_is_exact(acct, dest, "SMSHistory", SMS)
    assert_copy_is_exact(acct, dest, "ContactLists", ("ListId", "ListName", "ContactsCount"))
    assert_copy_is_exact(acct, dest, "Subaccounts", ("SubaccountId", "ApiUsername", "Email"))
    assert first.report.requests == len(first.requests)  # the report's requests are those ClickSend saw


def check_a_quiet_second_run_asks_little(acct: Account, dest: DuckDBDestination, first: Run, second: Run) -> None:
    for t in second.report.tables:
        assert (t.new, t.updated, t.deleted) == (0, 0, 0), t
    assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
    assert second.report.requests == len(second.requests)

    # Contacts: one page per list, only what changed since the checkpoint (updated_after), no key
    # scan; /lists read three times: ContactLists' own copy, the lists Contacts are read under, and
    # the counts deletes are found by.
    lists = acct.lists()
    incremental, whole = contact_pages(second.requests)
    assert incremental == {list_id: 1 for list_id in lists} and whole == {}
    newest_update = max(r[0] for r in in_clicksend(acct, "Contacts", ["UpdatedDate"]))
    for line in second.lines(r"GET /v3/lists/\d+/contacts\?.*"):
        assert query_of(line)["updated_after"] == str(newest_update - 1)  # >= the checkpoint's second
    assert list_pages(second.requests) == 3
    assert second.table("Contacts").requests == 2 + len(lists)

    # SMSHistory: one page, from the newest message's date back by the lag window
    [sms] = second.lines(r"GET /v3/sms/history\?.*")
    newest = max(r[0] for r in in_clicksend(acct, "SMSHistory", ["Date"]))
    assert int(query_of(sms)["date_from"]) == newest - DEFAULT_LAG
    assert second.table("SMSHistory").requests == 1

    # the other tables are small (replaced whole): the same requests as the first run's
    others = [t.table for t in second.report.tables if t.table not in ("Contacts", "SMSHistory")]
    assert [second.table(t).requests for t in others] == [first.table(t).requests for t in others]


def check_a_bi_tool_in_another_process_reads_the_copy(acct: Account, dest: DuckDBDestination) -> None:
    code = ("import duckdb, sys\n"
            "with duckdb.connect(sys.argv[1], read_only=True) as db:\n"
            "    print(db.sql('SELECT count(*), count(DISTINCT list_id), max(contact_id) FROM clicksend.contacts').fetchall()[0])\n"
            "    print(db.sql(\"SELECT count(*) FROM clicksend.sms_history WHERE status = 'Completed'\").fetchall()[0])\n")
    done = subprocess.run([sys.executable, "-c", code, str(dest.path)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    expected = [acct.sql("SELECT count(*), count(DISTINCT ListId), max(ContactId) FROM Contacts")[0],
                acct.sql("SELECT count(*) FROM SMSHistory WHERE Status = 'Completed'")[0]]
    assert done.stdout.splitlines() == [str(row) for row in expected]


def test_tables_listed_only_for_a_given_value_are_refused(tmp_path: Path, pipelines_dir: Path) -> None:
    dest = DuckDBDestination(tmp_path / "never.duckdb")
    with account(seed=13, sizes={"contacts": 5, "lists": 1}) as acct:
        for name, needs in (("AccountUsage", "year, month"), ("AvailableNumbers", "country")):
            with pytest.raises(clicksend_sql.ClickSendSQLError,
                               match=rf"Table {name} cannot be replicated: ClickSend lists it only for given {needs}\. "
                                     r"Query it with WHERE instead\."):
                clicksend_sql.replicate(acct.con, ["Contacts", name], destination=dest.uri,
                                        pipelines_dir=pipelines_dir)
        assert acct.emu.requests() == [] and not dest.path.exists()


# --- scenarios shared with PostgreSQL --------------------------------------------------------------
# (changes_arrive runs against PostgreSQL only: here the 2,000-contact test below covers new, updated and
# deleted contacts and deleted lists, and the same-second test the checkpoint's boundary)


def test_history_keeps_every_version(dest: Destination, pipelines_dir: Path) -> None:
    with account(seed=2, sizes=SMALL) as acct:
        history_keeps_versions(acct, dest, pipelines_dir)


def test_a_fresh_machine_resumes_from_the_destination(dest: Destination, pipelines_dir: Path) -> None:
    with account(seed=3, sizes=SMALL) as acct:
        fresh_machine_resumes(acct, dest, pipelines_dir)


def test_a_failed_run_leaves_the_copy_as_it_was(dest: Destination, pipelines_dir: Path) -> None:
    with account(seed=4, sizes=SMALL, retries=1) as acct:
        failed_run_writes_nothing(acct, dest, pipelines_dir)


def test_a_run_whose_connections_drop_leaves_the_copy_as_it_was(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    with account(seed=4, sizes=SMALL, retries=1) as acct:
        failed_run_writes_nothing(acct, duck, pipelines_dir, fault="drop")


# --- DuckDB only -----------------------------------------------------------------------------------


def test_a_change_in_the_checkpoints_second_arrives_once(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """ClickSend stamps whole seconds: a contact changed again in the very second the last run's
    checkpoint holds must arrive on the next run (the start is inclusive), once (merged on its key).

    The emulator's clock is the wall clock (no knob pins it), so the second change is made from the
    run itself, as soon as its Contacts read is done (``on_table_done``), and the attempt is retried
    should that moment fall in the next second."""
    with account(seed=5, sizes={"contacts": 60, "lists": 2}) as acct:
        rep = Replicator(acct, duck, pipelines_dir)
        rep.run(["Contacts"])
        list_id = sorted(acct.lists())[0]
        target = acct.contacts_of(list_id)[0]["contact_id"]
        for attempt in range(6):
            next_second()
            first = acct.update_contact(list_id, target, first_name=f"First {attempt}")
            late: dict[str, dict[str, object]] = {}

            def change_again(table: str, _: object) -> None:
                if table == "Contacts" and int(time.time()) == first["date_updated"]:
                    late["updated"] = acct.update_contact(list_id, target, first_name=f"Second {attempt}")
                    late["added"] = acct.add_contact(list_id, first_name=f"Added {attempt}")

            checkpointed = rep.run(["Contacts"], on_table_done=change_again)
            if late and late["updated"]["date_updated"] == late["added"]["date_updated"] == first["date_updated"]:
                break
        else:
            pytest.fail("no run read Contacts within the second of the change before it")
        stamp = first["date_updated"]
        assert isinstance(stamp, int)
        # the run checkpointed that second, holding the first version (it read before the second change)
        assert checkpointed.counts("Contacts") == (0, 1, 0)
        copy_of = f"SELECT first_name FROM {duck.table('contacts')} WHERE contact_id = {target}"
        assert duck.rows(copy_of) == [(f"First {attempt}",)]
        assert duck.rows(f"SELECT {duck.epoch('max(updated_date)')} FROM {duck.table('contacts')}") == [(stamp,)]

        after = rep.run(["Contacts"])
        for line in after.lines(r"GET /v3/lists/\d+/contacts\?.*"):
            assert query_of(line)["updated_after"] == str(stamp - 1)  # the checkpoint's second is read again
        assert duck.rows(copy_of) == [(f"Second {attempt}",)]
        assert duck.rows(f"SELECT count(*) FROM {duck.table('contacts')} WHERE first_name = 'Added {attempt}'") == [(1,)]
        assert after.counts("Contacts") == (1, 1, 0)
        assert_copy_is_exact(acct, duck, "Contacts", CONTACTS)


def test_deletes_cost_requests_in_proportion_to_the_changes(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """2,000 contacts in 6 lists, then 100 changes: 40 new contacts and 40 updates spread over every
    list, 20 deletes in one list. Then a whole list is deleted."""
    with account(seed=7, sizes={"contacts": 2000, "lists": 6}) as acct:
        rep = Replicator(acct, duck, pipelines_dir)
        first = rep.run(["Contacts"])
        lists = acct.lists()
        assert sum(lists.values()) == 2000 and len(lists) == 6
        pages = {list_id: math.ceil(n / 100) for list_id, n in lists.items()}
        # every page of every list once, and /lists (once more for the deletes check, which a first copy may skip)
        assert contact_pages(first.requests) == ({}, pages)
        assert len(first.requests) == list_pages(first.requests) + sum(pages.values()) and list_pages(first.requests) <= 2

        ids = sorted(lists)
        contacts = {list_id: acct.contacts_of(list_id) for list_id in ids}
        by_size = sorted(ids, key=lists.__getitem__)
        doomed_list = by_size[len(by_size) // 2]  # a middling list, neither the smallest nor the biggest
        for i in range(40):
            acct.add_contact(ids[i % 6])
        for i in range(40):
            list_id = ids[i % 6]
            acct.update_contact(list_id, contacts[list_id][-1 - i // 6]["contact_id"], last_name=f"Updated {i}")
        doomed = contacts[doomed_list][:20]
        for c in doomed:
            acct.delete_contact(doomed_list, c["contact_id"])
        now = acct.lists()

        second = rep.run(["Contacts"])
        assert second.counts("Contacts") == (40, 40, 20)
        assert_copy_is_exact(acct, duck, "Contacts", CONTACTS)
        incremental, whole = contact_pages(second.requests)
        # Why this bound: 2 reads of /lists (the lists to read changes under, and their counts for the
        # deletes check), plus per list ceil(its changes / 100) pages of what changed since the checkpoint
        # (here 1: no list holds 100 of the changes), plus a key scan of each list whose count no longer
        # matches the copy's (only the list the deletes were in). It grows with the changes and the
        # lists touched by deletes, not with the 2,000 contacts: no unchanged list is read again.
        assert incremental == {list_id: 1 for list_id in ids}
        assert whole == {doomed_list: math.ceil(now[doomed_list] / 100)}
        bound = 2 + len(ids) + math.ceil(now[doomed_list] / 100)
        assert len(second.requests) <= bound == second.table("Contacts").requests
        assert bound < sum(pages.values())  # reading the 2,000 contacts again would cost sum(pages) pages and more

        biggest = by_size[-1]
        acct.delete_list(biggest)
        third = rep.run(["Contacts"])
        incremental, whole = contact_pages(third.requests)
        assert whole == {}, "the contacts of a deleted list leave the copy with no key scan"
        assert incremental == {list_id: 1 for list_id in ids if list_id != biggest}
        assert len(third.requests) == 2 + len(ids) - 1
        assert third.counts("Contacts") == (0, 0, now[biggest])
        assert duck.rows(f"SELECT count(*) FROM {duck.table('contacts')} WHERE list_id = {biggest}") == [(0,)]
        assert_copy_is_exact(acct, duck, "Contacts", CONTACTS)


def test_a_delivery_receipt_reaches_the_copy_within_the_lag_window(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """The issue's own case: a delivery receipt arriving after a run changes an older message's
    status (its Date unchanged); the next run with the default lag re-reads that window and the
    copy gets the new status, merged on the key (no second row)."""
    with account(seed=9, sizes={"sms-history": 60}) as acct:
        older = acct.send_sms("a message whose receipt comes late")
        next_second()
        newest = acct.send_sms("the newest message")
        rep = Replicator(acct, duck, pipelines_dir)
        rep.run(["SMSHistory"])
        status = f"SELECT status, status_code FROM {duck.table('sms_history')} WHERE message_id = '{older['message_id']}'"
        before = duck.rows(status)
        acct.emu.receipt(older["message_id"], status_code=301)  # undelivered, reported after the run
        lagged = rep.run(["SMSHistory"])
        [line] = lagged.lines(r"GET /v3/sms/history\?.*")
        assert int(query_of(line)["date_from"]) == newest["date"] - DEFAULT_LAG
        after = duck.rows(status)
        assert after != before and after[0][1] == "301", (before, after)
        assert lagged.counts("SMSHistory") == (0, 1, 0)
        assert_copy_is_exact(acct, duck, "SMSHistory", SMS)


def test_a_late_status_change_arrives_within_the_lag_window(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """Another change to an older message's status: cancelling a scheduled SMS (Scheduled ->
    Cancelled, its Date unchanged).

    With --lag 0 the next run reads from the newest message's second on and misses the change;
    with the default lag (3 days) it re-reads that window and the copy gets the new status."""
    with account(seed=6, sizes={"sms-history": 120}) as acct:
        scheduled = acct.send_sms("to be cancelled", schedule=int(time.time()) + 3600)
        next_second()
        newest = acct.send_sms("the newest message")
        assert newest["date"] > scheduled["date"]
        rep = Replicator(acct, duck, pipelines_dir)
        rep.run(["SMSHistory"])
        status = f"SELECT status FROM {duck.table('sms_history')} WHERE message_id = '{scheduled['message_id']}'"
        assert duck.rows(status) == [("Scheduled",)]

        acct.cancel_sms(scheduled["message_id"])
        no_lag = rep.run(["SMSHistory"], lag=0)
        [line] = no_lag.lines(r"GET /v3/sms/history\?.*")
        assert int(query_of(line)["date_from"]) == newest["date"]
        assert duck.rows(status) == [("Scheduled",)]
        assert no_lag.counts("SMSHistory") == (0, 0, 0)

        lagged = rep.run(["SMSHistory"])
        [line] = lagged.lines(r"GET /v3/sms/history\?.*")
        assert int(query_of(line)["date_from"]) == newest["date"] - DEFAULT_LAG
        assert duck.rows(status) == [("Cancelled",)]
        assert lagged.counts("SMSHistory") == (0, 1, 0)
        assert_copy_is_exact(acct, duck, "SMSHistory", SMS)


def test_a_failure_while_finding_deletes_leaves_the_copy_whole(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """The key scan that finds deleted contacts fails: the run raises the package's error, the copy is
    as before or fully updated (never the merge without the deletes), and the next run completes it."""
    with account(seed=8, sizes=SMALL, retries=1) as acct:
        rep = Replicator(acct, duck, pipelines_dir)
        rep.run(["Contacts"])
        before = in_copy(duck, "Contacts", CONTACTS)
        a, b = sorted(acct.lists())[:2]
        for c in acct.contacts_of(a)[:2]:
            acct.delete_contact(a, c["contact_id"])
        acct.add_contact(b)
        complete = in_clicksend(acct, "Contacts", CONTACTS)

        acct.emu.reset_stats()
        acct.emu.fault(f"GET /v3/lists/{a}/contacts?limit", "fail", count=10)  # the key scan, not the incremental read
        with pytest.raises(clicksend_sql.ClickSendSQLError) as failed:
            clicksend_sql.replicate(acct.con, ["Contacts"], destination=duck.uri, pipelines_dir=pipelines_dir)
        assert "Traceback" not in str(failed.value) and "500" in str(failed.value), failed.value
        after_failure = in_copy(duck, "Contacts", CONTACTS)
        assert len({r[0] for r in after_failure}) == len(after_failure), "no contact twice"

        again = rep.run(["Contacts"])
        assert_copy_is_exact(acct, duck, "Contacts", CONTACTS)
        assert again.table("Contacts").deleted == 2
        # Checked last, so that the lines above still run: the failed run had already loaded its merge
        # (the new contact) when the key scan failed, and left the deleted contacts in the copy.
        assert after_failure in (before, complete), "the copy was half-written: merged, deletes missing"


def test_ctrl_c_then_a_rerun_completes_the_copy(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """SIGINT to `clicksend-sql replicate` while it reads a slow account: exit 130 with one line, no
    traceback; the next run copies everything, once.

    SMSHistory's read (50 pages of 40 ms) outlasts the 2 s dlt gives its extract threads to finish
    after an interrupt, as any large table read from the real ClickSend does."""
    with Emulator(seed=9, sizes={"sms-history": 5000, "contacts": 200, "lists": 3}, latency_ms=40) as slow:
        acct = Account(slow)
        try:
            command = [str(SCRIPT), "replicate", "SMSHistory", "Contacts", "--destination", duck.uri,
                       "--pipelines-dir", str(pipelines_dir), "--username", slow.username, "--base-url",
                       slow.base_url, "--rate-limit", "1000", "--concurrency", "1"]
            child = subprocess.Popen(command, env=environ_for_cli(acct), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
            out, err = interrupt_when_busy(child, slow, 4, timeout=30)
            assert "Traceback" not in err and out == "", err
            pages = sum(line.startswith("GET /v3/sms/history") for line in slow.requests())
            if pages < 50:  # the read was cut (a loaded machine may deliver the signal after it, as the load runs)
                assert not duck.path.exists() or "sms_history" not in duck.tables(), "nothing of the run was loaded"

            rerun = Replicator(acct, duck, pipelines_dir).run(["SMSHistory", "Contacts"])
            assert rerun.counts("SMSHistory") == (5000, 0, 0) and rerun.counts("Contacts") == (200, 0, 0)
            assert_copy_is_exact(acct, duck, "SMSHistory", SMS)
            assert_copy_is_exact(acct, duck, "Contacts", CONTACTS)
            # last, so that the rerun above is checked whatever the interrupted run said
            assert (child.returncode, err.strip().splitlines()[-1]) == (130, "Interrupted."), err
        finally:
            acct.close()


def test_ctrl_c_while_loading_stops_the_run_after_a_whole_load(duck: DuckDBDestination, pipelines_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGINT as dlt's load step ends (the reading is done): the load is whole, and the run stops with
    KeyboardInterrupt. dlt holds a signal during its step and forgot it when the step then completed:
    the command went on (CI saw a late Ctrl-C print the report and exit 0)."""
    from dlt.load import Load

    run = Load.run

    def interrupted_run(self: Load, *args: Any, **kwargs: Any) -> Any:
        metrics = run(self, *args, **kwargs)
        if not metrics.pending_items:  # the load's last round, inside the step where dlt holds the signal
            os.kill(os.getpid(), signal.SIGINT)
        return metrics

    with account(seed=8, sizes=SMALL) as acct:
        monkeypatch.setattr(Load, "run", interrupted_run)
        with pytest.raises(KeyboardInterrupt):
            clicksend_sql.replicate(acct.con, ["Contacts"], destination=duck.uri, pipelines_dir=pipelines_dir)
        monkeypatch.undo()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # dlt's handler is gone
        rerun = Replicator(acct, duck, pipelines_dir).run(["Contacts"])
        assert_copy_is_exact(acct, duck, "Contacts", CONTACTS)
        assert rerun.table("Contacts").new == 0  # the interrupted run's load was whole


@pytest.mark.parametrize("step", ["load", "normalize"])
def test_sigterm_while_loading_ends_the_process_after_a_whole_load(tmp_path: Path, pipelines_dir: Path, step: str) -> None:
    """SIGTERM in dlt's load step (its last round) or normalize step (its first; dlt then stops at
    its next check): given to the process's own handler once the step is done or stopped (by
    default: the end, exit -15), not turned into a Ctrl-C, and not lost. The copy is never half-written."""
    runner = {"load": "from dlt.load import Load as Step", "normalize": "from dlt.normalize import Normalize as Step"}[step]
    script = (
        "import os, signal, sys\n"
        f"{runner}\n"
        "import clicksend_sql\n"
        "from clicksend_sql.emulator import Emulator\n"
        "run = Step.run\n"
        "def late(self, *args, **kwargs):\n"
        "    metrics = run(self, *args, **kwargs)\n"
        "    if not metrics.pending_items or Step.__name__ == 'Normalize':\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return metrics\n"
        "Step.run = late\n"
        "with Emulator(seed=8, sizes={'contacts': 40, 'lists': 2}) as emu:\n"
        "    con = clicksend_sql.connect(emu.username, emu.api_key, base_url=emu.base_url)\n"
        "    clicksend_sql.replicate(con, ['Contacts'], destination=sys.argv[1], pipelines_dir=sys.argv[2])\n"
        "    print('went on', flush=True)\n"
    )
    target = DuckDBDestination(tmp_path / "term.duckdb")
    done = subprocess.run([sys.executable, "-c", script, target.uri, str(pipelines_dir)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == -signal.SIGTERM and "went on" not in done.stdout, (done.returncode, done.stderr)
    copied = target.count("contacts") if "contacts" in target.tables() else 0
    assert copied == 40 if step == "load" else copied in (0, 40)


def test_the_source_alone_in_a_users_own_pipeline(tmp_path: Path, pipelines_dir: Path) -> None:
    """``dlt_source()`` run by a pipeline the user built (README "The engine is dlt"): an exact copy,
    then a second run that asks ClickSend only for what changed since the cursor."""
    import dlt

    dest = DuckDBDestination(tmp_path / "own.duckdb", dataset="crm")
    with account(seed=11, sizes=SMALL) as acct:
        pipeline = dlt.pipeline(pipeline_name="my_crm", destination=dlt.destinations.duckdb(str(dest.path)),
                                dataset_name="crm", pipelines_dir=str(pipelines_dir))
        pipeline.run(clicksend_sql.dlt_source(acct.con, ["Contacts", "SMSHistory"]))
        assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
        assert_copy_is_exact(acct, dest, "SMSHistory", SMS)

        acct.add_contact(sorted(acct.lists())[0])
        acct.emu.reset_stats()
        pipeline.run(clicksend_sql.dlt_source(acct.con, ["Contacts", "SMSHistory"]))
        asked = acct.emu.requests()
        assert_copy_is_exact(acct, dest, "Contacts", CONTACTS)
        contact_reads = [line for line in asked if "/contacts" in line]
        assert contact_reads and all("updated_after=" in line for line in contact_reads), asked
        assert all("date_from=" in line for line in asked if line.startswith("GET /v3/sms/history")), asked


def test_a_full_refresh_reads_everything_again_and_starts_the_history_over(duck: DuckDBDestination,
                                                                           pipelines_dir: Path) -> None:
    """``full_refresh=True`` (``--full-refresh``): every page read again, the copy exact, and the
    history rebuilt with one open version per contact (README: old versions are not recovered)."""
    with account(seed=12, sizes=SMALL) as acct:
        rep = Replicator(acct, duck, pipelines_dir, history=["Contacts"])
        rep.run(["Contacts"])
        list_id = sorted(acct.lists())[0]
        changed = acct.contacts_of(list_id)[0]
        acct.update_contact(list_id, changed["contact_id"], first_name="Second Version")
        rep.run(["Contacts"])
        n = len(in_clicksend(acct, "Contacts", ["ContactId"]))
        assert duck.count("contacts_history") == n + 1

        refreshed = rep.run(["Contacts"], full_refresh=True)
        assert not any("updated_after=" in line for line in refreshed.requests), "a refresh reads everything"
        assert refreshed.table("Contacts").read == n
        assert_copy_is_exact(acct, duck, "Contacts", CONTACTS)
        hist = duck.table("contacts_history")
        assert duck.rows(f"SELECT count(*), count(DISTINCT contact_id), count(_dlt_valid_to) FROM {hist}") == [(n, n, 0)]


def test_a_copy_locked_by_another_process_is_a_clear_error(duck: DuckDBDestination, pipelines_dir: Path) -> None:
    """A DuckDB file another process holds open for writing (a BI tool, a second run): the package's
    error, naming the lock, before any request."""
    import duckdb

    duckdb.connect(str(duck.path)).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               "db = duckdb.connect(sys.argv[1]); print('open', flush=True); time.sleep(60)", str(duck.path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with account(seed=12, sizes={"contacts": 20, "lists": 1}) as acct:
            acct.emu.reset_stats()
            with pytest.raises(clicksend_sql.ClickSendSQLError, match=r"Cannot open the copy in duckdb: .*lock"):
                clicksend_sql.replicate(acct.con, ["Contacts"], destination=duck.uri, pipelines_dir=pipelines_dir)
            assert acct.emu.requests() == []
    finally:
        holder.kill()
        holder.wait()


# --- the command line ------------------------------------------------------------------------------


def cli(*args: str, cwd: Path, acct: Account | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=180, cwd=cwd,
                          env=environ_for_cli(acct), check=False)


def test_the_replicate_command_reports_each_table(tmp_path: Path, pipelines_dir: Path) -> None:
    target = tmp_path / "x.duckdb"
    done = cli("replicate", "--demo", "SMSHistory", "Contacts", "--destination", f"duckdb:///{target}",
               "--pipelines-dir", str(pipelines_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # one progress line per table on stderr, then the run's total
    progress = [line for line in done.stderr.splitlines() if re.match(r"(SMSHistory|Contacts): ", line)]
    assert sorted(line.split(":")[0] for line in progress) == ["Contacts", "SMSHistory"], done.stderr
    for line in progress:
        assert re.fullmatch(r"\w+: [\d,]+ rows read, [\d,]+ requests, [\d.]+ s", line), line
    assert re.search(r"\d+ requests in [\d.]+ s into duckdb:///.*x\.duckdb \(dataset clicksend\)\.", done.stderr)
    # the summary on stdout: a header and one line per table
    header, *rows = [line.split() for line in done.stdout.strip().splitlines()]
    assert header == ["table", "copy", "read", "new", "updated", "deleted", "requests", "seconds"]
    summary = {row[0]: row for row in rows}
    assert set(summary) == {"SMSHistory", "Contacts"}
    with Emulator() as demo:  # --demo is this account: the same seed, sizes and day
        truth = Account(demo)
        try:
            n_sms = len(in_clicksend(truth, "SMSHistory", ["MessageId"]))
            n_contacts = len(in_clicksend(truth, "Contacts", ["ContactId"]))
        finally:
            truth.close()
    assert summary["SMSHistory"][1:6] == ["sms_history", f"{n_sms:,}", f"{n_sms:,}", "0", "0"]
    assert summary["Contacts"][1:6] == ["contacts", f"{n_contacts:,}", f"{n_contacts:,}", "0", "0"]
    dest = DuckDBDestination(target)
    assert dest.count("sms_history") == n_sms and dest.count("contacts") == n_contacts


def test_the_replicate_command_refuses_bad_input_clearly(tmp_path: Path, pipelines_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from clicksend_sql.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for lag in ("3x", "-1d", "three days", "1d2h"):
        done = runner.invoke(main, ["replicate", "--demo", "Contacts", "--lag", lag])
        assert done.exit_code == 2 and done.stdout == ""
        assert done.stderr.strip().splitlines()[-1] == (
            f"Error: Invalid value for --lag: '{lag}' is not a duration; give e.g. 3d, 12h, 90m, 45s or 0.")
    for lag, seconds in (("0", 0.0), ("90m", 5400.0), ("1.5h", 5400.0), ("2W", 14 * 86_400.0)):
        from clicksend_sql.replication.cli import seconds_of

        assert seconds_of(lag) == seconds
    typo = runner.invoke(main, ["replicate", "--demo", "SMSHistroy", "--pipelines-dir", str(pipelines_dir)])
    assert typo.exit_code == 1 and typo.stdout == ""
    assert typo.stderr.startswith("Error: No table 'SMSHistroy' to replicate. Did you mean SMSHistory or "), typo.stderr
    assert list(tmp_path.glob("*.duckdb")) == [], "a refused run creates no copy"


def test_the_command_shows_neither_the_api_key_nor_a_database_password(tmp_path: Path, pipelines_dir: Path) -> None:
    with account(seed=10, sizes={"contacts": 30, "sms-history": 30, "lists": 2}) as acct:
        done = replicate_command(acct, "Contacts", "SMSHistory", "--destination", f"duckdb:///{tmp_path / 'x.duckdb'}",
                                 "--pipelines-dir", str(pipelines_dir))
        assert done.exit_code == 0, done.output
        shown = (done.stdout + done.stderr).encode()
        assert b"Contacts" in shown and not any(secret in shown for secret in secrets(acct))
        assert files_containing(tmp_path, secrets(acct)) == []  # the copy, the pipelines dir, dlt's data dir

        # a PostgreSQL that does not answer: one line naming the cause, never the password
        unreachable = "postgresql://loader:Pa55-w0rd-XYZ@127.0.0.1:9/warehouse"
        failed = replicate_command(acct, "Contacts", "--destination", unreachable, "--pipelines-dir",
                                   str(tmp_path / "other"))
        assert failed.exit_code == 1 and failed.stdout == "", failed.output
        assert failed.stderr.startswith("Error: Cannot open the copy in postgres: connection to server at"), failed.stderr
        assert "Pa55-w0rd-XYZ" not in failed.stderr
        assert files_containing(tmp_path / "other", [b"Pa55-w0rd-XYZ", *secrets(acct)]) == []
