"""Seeded history ends at the start of ``today``: demos always have recent data, tests can pin it."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from clicksend_sql.emulator import Emulator

from conftest import api_client, open_connection

DAY = 86_400
SIZES = {"sms-history": 300, "contacts": 50}


def seeded_sms_dates(emu: Emulator) -> list[int]:
    with api_client(emu) as client:
        data = client.get("/sms/history", params={"limit": 100, "page": 3}).json()["data"]
    return [row["date"] for row in data["data"]]


def midnight(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


@pytest.mark.parametrize("process", [False, True], ids=["thread", "process"])
def test_a_pinned_today_fixes_every_seeded_date(process: bool) -> None:
    today = dt.date(2026, 1, 1)
    with Emulator(seed=3, sizes=SIZES, today=today, process=process) as emu:
        dates = seeded_sms_dates(emu)
    with Emulator(seed=3, sizes=SIZES, today=today + dt.timedelta(days=10)) as later:
        assert [d + 10 * DAY for d in dates] == seeded_sms_dates(later), "moving today shifts the dates, nothing else"
    assert midnight(today) - DAY <= max(dates) < midnight(today)
    assert min(dates) >= midnight(today) - 180 * DAY


def test_by_default_the_newest_history_is_from_the_last_days() -> None:
    with Emulator(seed=0, sizes=SIZES) as emu, open_connection(emu) as con:
        newest = max(seeded_sms_dates(emu))
        recent = con.sql("SELECT count(*) FROM SMSHistory WHERE Date >= now() - INTERVAL 30 DAY").fetchall()[0][0]
    assert time.time() - 2 * DAY < newest < time.time()
    assert 0 < recent < SIZES["sms-history"]
