"""List semantics: page/limit paginator, q search, order_by, date filters (NOTES.md §4-§6)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from clicksend_sql.emulator import Emulator

from conftest import api_client

SIZES = {"sms-history": 437, "lists": 3, "contacts": 250, "templates": 0}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with Emulator(seed=11, sizes=SIZES) as emu, api_client(emu) as c:
        yield c


def data(r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.mark.parametrize("limit", [15, 37, 100])
def test_pages_cover_every_row_once(client: httpx.Client, limit: int) -> None:
    first = data(client.get("/sms/history", params={"limit": limit}))
    assert first["total"] == SIZES["sms-history"] and first["per_page"] == limit
    assert first["last_page"] == -(-SIZES["sms-history"] // limit)
    ids = []
    for page in range(1, first["last_page"] + 1):
        p = data(client.get("/sms/history", params={"limit": limit, "page": page}))
        assert p["current_page"] == page and p["from"] == (page - 1) * limit + 1 and p["to"] == p["from"] + len(p["data"]) - 1
        ids += [m["message_id"] for m in p["data"]]
    assert len(ids) == len(set(ids)) == SIZES["sms-history"]


def test_default_order_is_date_ascending(client: httpx.Client) -> None:
    dates = [m["date"] for m in data(client.get("/sms/history", params={"limit": 100}))["data"]]
    assert dates == sorted(dates)


def test_page_links_and_page_past_the_end(client: httpx.Client) -> None:
    p = data(client.get("/sms/history", params={"page": 2}))
    assert p["next_page_url"].endswith("/v3/sms/history?page=3") and p["prev_page_url"].endswith("?page=1")
    assert p["next_page_url"].startswith(str(client.base_url).rstrip("/").removesuffix("/v3"))
    beyond = data(client.get("/sms/history", params={"page": 999}))
    assert beyond["data"] == [] and beyond["from"] is None and beyond["next_page_url"] is None


@pytest.mark.parametrize(("given", "used"), [("1", 15), ("14", 15), ("100", 100), ("5000", 100)])
def test_limit_is_clamped_to_15_100(client: httpx.Client, given: str, used: int) -> None:
    assert data(client.get("/sms/history", params={"limit": given}))["per_page"] == used


@pytest.mark.parametrize("page", ["0", "-1", "two"])
def test_bad_page_is_400_naming_page(client: httpx.Client, page: str) -> None:
    r = client.get("/sms/history", params={"page": page})
    assert r.status_code == 400 and "page" in r.json()["data"]


def test_empty_list_paginator(client: httpx.Client) -> None:
    p = data(client.get("/sms/templates"))
    assert (p["total"], p["current_page"], p["last_page"], p["data"]) == (0, 1, 0, [])
    assert p["next_page_url"] is None and p["prev_page_url"] is None


def test_q_is_case_insensitive_substring_and_operator(client: httpx.Client) -> None:
    everything = data(client.get("/sms/history", params={"limit": 100, "q": "status:completed"}))
    assert everything["total"] > 0
    assert all(m["status"] == "Completed" for m in everything["data"])
    both = data(client.get("/sms/history", params={"q": "status:failed,country:AU", "limit": 100}))
    assert all(m["status"] == "Failed" and m["country"] == "AU" for m in both["data"])
    either = data(client.get("/sms/history", params={"q": "status:failed,country:AU", "operator": "OR"}))
    assert either["total"] >= both["total"]
    failed = data(client.get("/sms/history", params={"q": "status:failed"}))["total"]
    au = data(client.get("/sms/history", params={"q": "country:au"}))["total"]
    assert either["total"] == failed + au - both["total"]


def test_q_with_an_encoded_plus(client: httpx.Client) -> None:
    number = data(client.get("/sms/history"))["data"][0]["to"]
    hits = data(client.get("/sms/history", params={"q": f"to:{number}"}))["data"]
    assert hits and all(h["to"] == number for h in hits)


def test_order_by_desc_and_multiple_keys(client: httpx.Client) -> None:
    rows = data(client.get("/sms/history", params={"order_by": "date:desc", "limit": 100}))["data"]
    assert [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
    rows = data(client.get("/sms/history", params={"order_by": "status:asc,date:desc", "limit": 100}))["data"]
    assert rows == sorted(rows, key=lambda r: (r["status"].lower(), -r["date"]))


def test_date_from_to_inclusive(client: httpx.Client) -> None:
    rows = data(client.get("/sms/history", params={"limit": 100}))["data"]
    lo, hi = rows[10]["date"], rows[40]["date"]
    hits = data(client.get("/sms/history", params={"date_from": lo, "date_to": hi, "limit": 100}))
    assert hits["total"] >= 31 and all(lo <= r["date"] <= hi for r in hits["data"])


def test_bad_date_is_400(client: httpx.Client) -> None:
    r = client.get("/sms/history", params={"date_from": "yesterday"})
    assert r.status_code == 400 and "date_from" in r.json()["data"]


def test_contacts_updated_after_is_strict(client: httpx.Client) -> None:
    list_id = data(client.get("/lists"))["data"][0]["list_id"]
    rows = data(client.get(f"/lists/{list_id}/contacts", params={"limit": 100}))["data"]
    pivot = sorted(r["date_updated"] for r in rows)[len(rows) // 2]
    after = data(client.get(f"/lists/{list_id}/contacts", params={"updated_after": pivot, "limit": 100}))
    assert after["data"] and all(r["date_updated"] > pivot for r in after["data"])


def test_laravel_link_extras_only_where_clicksend_has_them(client: httpx.Client) -> None:
    lists = data(client.get("/lists"))
    assert lists["path"].endswith("/v3/lists") and lists["first_page_url"].endswith("?page=1")
    assert [link["label"] for link in lists["links"]][1:-1] == ["1"]
    assert "links" not in data(client.get("/sms/history"))
