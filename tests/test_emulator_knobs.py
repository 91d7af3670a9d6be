"""Realism knobs, introspection, determinism and process mode."""

from __future__ import annotations

import httpx
import pytest

from clicksend_sql.emulator import Emulator
from clicksend_sql.errors import ClickSendSQLError


def auth(emu: Emulator) -> tuple[str, str]:
    return emu.username, emu.api_key


def test_rate_limit_gives_429_with_headers() -> None:
    with Emulator(rate_limit=5) as emu, httpx.Client(base_url=emu.base_url, auth=auth(emu)) as c:
        responses = [c.get("/lists") for _ in range(12)]
    codes = [r.status_code for r in responses]
    assert codes[:5] == [200] * 5 and 429 in codes
    for r in responses:
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "ratelimit-reset"} <= r.headers.keys()
        assert r.headers["x-ratelimit-limit"] == "5"
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json() == {"http_code": 429, "response_code": "HTTP_TOO_MANY_REQUESTS",
                              "response_msg": "Too many attempts.", "data": None}


@pytest.mark.parametrize("process", [False, True])
def test_rate_headers_can_be_stripped(process: bool) -> None:
    """Like a proxy that strips them: a bare 429, not even Retry-After."""
    with Emulator(rate_limit=3, rate_headers=False, process=process) as emu, \
            httpx.Client(base_url=emu.base_url, auth=auth(emu)) as c:
        responses = [c.get("/lists") for _ in range(8)]
    assert [r.status_code for r in responses][:3] == [200] * 3 and 429 in [r.status_code for r in responses]
    for r in responses:
        assert not {"x-ratelimit-limit", "x-ratelimit-remaining", "ratelimit-reset", "retry-after"} & r.headers.keys()


def test_no_rate_limit_headers_without_a_limit() -> None:
    with Emulator() as emu:
        assert "x-ratelimit-limit" not in httpx.get(emu.base_url + "/lists", auth=auth(emu)).headers


def fault_pattern(seed: int) -> list[str]:
    outcomes = []
    with Emulator(seed=seed, fault_rate=0.5) as emu, httpx.Client(base_url=emu.base_url, auth=auth(emu)) as c:
        for _ in range(40):
            try:
                outcomes.append(str(c.get("/lists").status_code))
            except httpx.TransportError:  # the pool discards the dropped connection and reconnects
                outcomes.append("dropped")
        stats = emu.stats()
    assert stats["total"] == 40  # faults are counted like any request
    return outcomes


def test_faults_are_500s_and_drops_and_deterministic() -> None:
    first = fault_pattern(seed=2)
    assert {"200", "500", "dropped"} <= set(first)
    assert 8 <= first.count("200") <= 32
    assert fault_pattern(seed=2) == first


def test_fault_500_uses_the_envelope() -> None:
    bodies = []
    with Emulator(seed=2, fault_rate=1.0) as emu, httpx.Client(base_url=emu.base_url, auth=auth(emu)) as c:
        for _ in range(10):
            try:
                bodies.append(c.get("/lists").json())
            except httpx.TransportError:
                continue
    assert bodies and all(b["http_code"] == 500 and b["response_code"] == "INTERNAL_SERVER_ERROR" for b in bodies)


def test_stats_count_every_v3_request_and_reset() -> None:
    with Emulator(rate_limit=2) as emu, httpx.Client(base_url=emu.base_url, auth=auth(emu)) as c:
        for list_id in (1, 2, 3):
            c.get(f"/lists/{list_id}/contacts")
        c.get("/nowhere")
        stats = emu.stats()
        assert stats["total"] == 4
        assert stats["by_operation"]["GET /v3/lists/{list_id}/contacts"] == 3
        emu.reset_stats()
        assert emu.stats() == {"total": 0, "by_operation": {}}


def test_latency_knob_still_answers() -> None:
    with Emulator(latency_ms=5, jitter_ms=5) as emu:
        assert httpx.get(emu.base_url + "/lists", auth=auth(emu)).status_code == 200


def snapshot(seed: int) -> list:
    with Emulator(seed=seed, sizes={"contacts": 60}) as emu, httpx.Client(base_url=emu.base_url, auth=auth(emu)) as c:
        lists = c.get("/lists").json()["data"]["data"]
        contacts = c.get(f"/lists/{lists[0]['list_id']}/contacts").json()["data"]["data"]
        history = c.get("/sms/history", params={"limit": 100}).json()["data"]["data"]
        return [emu.api_key, lists, contacts, history]


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert snapshot(9) == snapshot(9)
    assert snapshot(9) != snapshot(10)


def test_unknown_size_name_is_a_clear_error() -> None:
    with pytest.raises(ClickSendSQLError, match="contactz.*accepted.*contacts"):
        Emulator(sizes={"contactz": 5})


def test_process_mode_serves_and_stops() -> None:
    emu = Emulator(process=True, sizes={"sms-history": 30})
    with emu:
        r = httpx.get(emu.base_url + "/sms/history", auth=auth(emu))
        assert r.json()["data"]["total"] == 30
        assert emu.stats()["total"] == 1
    with pytest.raises(httpx.TransportError):
        httpx.get(emu.base_url + "/lists", auth=auth(emu), timeout=2)


def test_a_taken_port_is_a_clear_error() -> None:
    with Emulator() as first:
        with pytest.raises(ClickSendSQLError, match=str(first.port)):
            Emulator(port=first.port).start()
