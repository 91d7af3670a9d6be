"""Replication end to end into a real PostgreSQL (the session's pgserver, tests/postgres_server.py):
new, updated and deleted rows arriving once, and no secret in the server's files; history, a fresh
machine and a failed load run against both databases in tests/test_replication.py."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from replication_scenarios import (
    SMALL,
    PostgresDestination,
    account,
    changes_arrive,
    files_containing,
    needles_in,
    next_dataset,
    no_secret_in_destination,
    replicate_command,
    secrets,
)



@pytest.fixture()
def pg(postgres_uri: str) -> PostgresDestination:
    """A dataset (schema) of the test's own on the session's server."""
    return PostgresDestination(postgres_uri, dataset=next_dataset())


def test_new_updated_and_deleted_rows_arrive_once(pg: PostgresDestination, pipelines_dir: Path) -> None:
    with account(seed=21, sizes=SMALL) as acct:
        changes_arrive(acct, pg, pipelines_dir)


def test_no_secret_reaches_postgres_and_the_password_is_masked(pg: PostgresDestination, tmp_path: Path,
                                                               pipelines_dir: Path) -> None:
    """The API key is in no table, no decoded dlt state and no file of the server's data dir (WAL
    included); a password in --destination is shown masked, and kept in none of dlt's files."""
    password = "Pa55-w0rd-in-the-uri"  # the test server trusts every local connection: any password works
    parts = urlsplit(pg.uri)
    with_password = urlunsplit(parts._replace(netloc=f"postgres:{password}@{parts.netloc.split('@', 1)[1]}"))
    with account(seed=26, sizes={"contacts": 40, "sms-history": 40, "lists": 2}) as acct:
        done = replicate_command(acct, "Contacts", "SMSHistory", "Subaccounts", "--destination", with_password,
                                 "--dataset", pg.dataset, "--pipelines-dir", str(pipelines_dir))
        assert done.exit_code == 0, done.output
        shown = done.stdout + done.stderr
        assert password not in shown and "postgres:***@" in shown, shown
        assert not any(secret.decode() in shown for secret in secrets(acct))
        assert pg.count("contacts") == 40 and pg.count("subaccounts") > 0

        no_secret_in_destination(acct, pg)
        pg.rows("CHECKPOINT")
        # the search reads the server's files: a value the copy holds is found there, the key is not
        [(email,)] = pg.rows(f"SELECT max(email) FROM {pg.table('contacts')}")
        found = needles_in(pg.data_dir(), [email.encode(), *secrets(acct)])
        assert found == {email.encode()}
        assert files_containing(pipelines_dir, [*secrets(acct), password.encode()]) == []
        assert files_containing(tmp_path, [*secrets(acct), password.encode()]) == []
