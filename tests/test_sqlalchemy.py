"""The ``clicksend://`` SQLAlchemy dialect: URLs, reflection with no request and no SQL, Core
selects, pandas' read_sql and read_sql_table, writes, and JupySQL's ``%sql`` / ``%sqlcmd``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError

from clicksend_sql.emulator import Emulator

from conftest import api_client, ok


@pytest.fixture(scope="module")
def account() -> Iterator[Emulator]:
    with Emulator(seed=8, sizes={"contacts": 150, "sms-history": 250}) as emu:
        yield emu


def _url(account: Emulator, **query: str) -> sa.URL:
    return sa.URL.create("clicksend", username=account.username, password=account.api_key,
                         query={"base_url": account.base_url, "rate_limit": "none", **query})


@pytest.fixture()
def statements() -> list[str]:
    """The SQL the engine sends through the driver (reflection must send none)."""
    return []


@pytest.fixture()
def engine(account: Emulator, statements: list[str]) -> Iterator[sa.Engine]:
    engine = sa.create_engine(_url(account))
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    yield engine
    engine.dispose()


def test_the_dialect_is_registered_by_entry_point() -> None:
    from clicksend_sql.dialect import ClickSendDialect

    assert sa.dialects.registry.load("clicksend") is ClickSendDialect


def test_credentials_stay_out_of_the_urls_text(account: Emulator) -> None:
    url = _url(account)
    assert account.api_key not in repr(url) and account.api_key not in str(sa.create_engine(url))


@pytest.mark.parametrize(("url", "message"), [
    ("clicksend://me:key@rest.clicksend.com/", "name no host"),
    ("clicksend://me:key@/?ratelimit=5", "Unknown clicksend URL option 'ratelimit'; accepted: base_url"),
    ("clicksend://me:key@/?dry_run=maybe", "dry_run='maybe'"),
])
def test_a_wrong_url_is_refused_by_name(url: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        sa.create_engine(url).connect()


def test_reflection_makes_no_request_and_sends_no_sql(engine: sa.Engine, account: Emulator,
                                                      statements: list[str]) -> None:
    with engine.connect() as connection:
        account.reset_stats()
        inspector = sa.inspect(connection)
        tables = inspector.get_table_names()
        columns = inspector.get_columns("Contacts")
        key = inspector.get_pk_constraint("Contacts")
        parents = inspector.get_foreign_keys("Contacts")
        comment = inspector.get_table_comment("Contacts")
        schemas = inspector.get_schema_names()
        table = sa.Table("SMSHistory", sa.MetaData(), autoload_with=connection)
    assert account.requests() == [] and statements == []
    assert {"Contacts", "ContactLists", "SMSHistory", "InboundSMS"} <= set(tables)
    assert {"clicksend", "main"} <= set(schemas)
    by_name = {c["name"]: c for c in columns}
    assert isinstance(by_name["ContactId"]["type"], sa.BigInteger) and not by_name["ContactId"]["nullable"]
    assert isinstance(by_name["UpdatedDate"]["type"], sa.DateTime) and by_name["Email"]["comment"]
    assert key["constrained_columns"] == ["ContactId"]
    assert parents == [{"name": None, "constrained_columns": ["ListId"], "referred_schema": "clicksend",
                        "referred_table": "ContactLists", "referred_columns": ["ListId"], "options": {}}]
    assert comment["text"]
    assert isinstance(table.c.MessagePrice.type, sa.Numeric) and table.c.MessageId.primary_key


def test_local_tables_are_reflected_beside_clicksend_ones(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE vip (Email VARCHAR PRIMARY KEY, Tier INTEGER NOT NULL)")
        connection.exec_driver_sql("CREATE VIEW gold AS SELECT * FROM vip WHERE Tier = 1")
        inspector = sa.inspect(connection)
        assert "vip" in inspector.get_table_names() and "vip" in inspector.get_table_names(schema="main")
        assert "vip" not in inspector.get_table_names(schema="clicksend")
        assert inspector.get_view_names() == ["gold"]
        columns = inspector.get_columns("vip")
        assert [(c["name"], type(c["type"]), c["nullable"]) for c in columns] == [
            ("Email", sa.String, False), ("Tier", sa.Integer, False)]
        assert inspector.get_pk_constraint("vip")["constrained_columns"] == ["Email"]
        assert inspector.has_table("vip") and inspector.has_table("Contacts") and not inspector.has_table("nope")


def test_core_select_on_a_reflected_table_pushes_down(engine: sa.Engine, account: Emulator) -> None:
    contacts = sa.Table("Contacts", sa.MetaData(), autoload_with=engine)
    query = (sa.select(contacts.c.FirstName, contacts.c.ContactId)
             .where(contacts.c.ListId == 1401).order_by(contacts.c.ContactId).limit(5))
    account.reset_stats()
    with engine.connect() as connection:
        rows = connection.execute(query).fetchall()
    assert len(rows) == 5
    assert account.requests() and all(r.startswith("GET /v3/lists/1401/contacts") for r in account.requests())


def test_pandas_read_sql_and_read_sql_table(engine: sa.Engine, account: Emulator) -> None:
    with api_client(account) as client:
        lists = ok(client.get("/lists", params={"limit": 100}))
    counts = pd.read_sql("SELECT ListId, count(*) AS n FROM Contacts GROUP BY ListId ORDER BY ListId", engine)
    assert counts["n"].sum() == sum(item["_contacts_count"] for item in lists["data"])
    frame = pd.read_sql_table("ContactLists", engine)
    assert sorted(frame["ListId"]) == sorted(item["list_id"] for item in lists["data"])
    params = pd.read_sql(sa.text("SELECT count(*) AS n FROM Contacts WHERE ListId = :list"), engine,
                         params={"list": 1401})
    assert params["n"][0] == next(i["_contacts_count"] for i in lists["data"] if i["list_id"] == 1401)


def test_a_write_through_core_lands_and_counts(engine: sa.Engine, account: Emulator) -> None:
    contacts = sa.Table("Contacts", sa.MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        inserted = connection.execute(contacts.insert(), [
            {"ListId": 1403, "PhoneNumber": "+61411100301", "FirstName": "Alchemy1"},
            {"ListId": 1403, "PhoneNumber": "+61411100302", "FirstName": "Alchemy2"}])
        assert inserted.rowcount == 2
        changed = connection.execute(sa.update(contacts).where(contacts.c.ListId == 1403)
                                     .where(contacts.c.FirstName == "Alchemy1").values(LastName="Core"))
        assert changed.rowcount == 1
        connection.commit()
    with api_client(account) as client:
        found = ok(client.get("/lists/1403/contacts", params={"limit": 100}))
        rows = found["data"]
        for page in range(2, found["last_page"] + 1):
            rows += ok(client.get("/lists/1403/contacts", params={"limit": 100, "page": page}))["data"]
    mine = {c["first_name"]: c["last_name"] for c in rows if c["first_name"].startswith("Alchemy")}
    assert mine == {"Alchemy1": "Core", "Alchemy2": mine["Alchemy2"]} and mine["Alchemy2"] != "Core"


def test_a_demo_url_needs_no_credentials() -> None:
    engine = sa.create_engine("clicksend:///?demo=true")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM ContactLists").scalar() > 0
    finally:
        engine.dispose()


# --- JupySQL -------------------------------------------------------------------------------------


@pytest.fixture()
def ipython() -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "sql")
    shell.run_line_magic("config", "SqlMagic.displaylimit = 5")
    yield shell
    shell.run_line_magic("sql", "--close clicksend")
    InteractiveShell.clear_instance()


def test_jupysql_queries_and_lists_tables(ipython: Any, account: Emulator) -> None:
    url = _url(account).render_as_string(hide_password=False)
    ipython.run_line_magic("sql", f"{url} --alias clicksend")
    account.reset_stats()
    result = ipython.run_cell_magic("sql", "", "SELECT ListId, ListName FROM ContactLists ORDER BY ListId")
    frame = result.DataFrame()
    first = account.requests()
    assert len(frame) == len(result) > 0 and list(frame.columns) == ["ListId", "ListName"]
    assert first and account.requests() == first  # the DataFrame came from the fetched rows, not a second read
    tables = str(ipython.run_line_magic("sqlcmd", "tables"))
    assert "Contacts" in tables and "SMSHistory" in tables
    columns = str(ipython.run_line_magic("sqlcmd", "columns --table Contacts"))
    assert "ContactId" in columns and "UpdatedDate" in columns


@pytest.mark.slow
def test_the_dialect_on_sqlalchemy_2_0(tmp_path: Path) -> None:
    """--slow: this module again on SQLAlchemy 2.0 (the suite runs on whatever 2.x is installed;
    this one fetches 2.0 from the package registry into a venv of its own)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "sqlalchemy>=2.0,<2.1"], check=True)
    run = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "not sqlalchemy_2_0"],
                         capture_output=True, text=True, cwd=Path(__file__).parent)
    assert run.returncode == 0, run.stdout[-3000:]
    version = subprocess.run([python, "-c", "import sqlalchemy; print(sqlalchemy.__version__)"], capture_output=True,
                             text=True, check=True).stdout
    assert version.startswith("2.0."), version
