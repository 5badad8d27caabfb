"""Guess limits slow the guesser, not everyone: wrong appointment codes at a booth and wrong home
links from one address earn that booth or address a growing wait, and once it has passed the right
code or link gets in (before, ten wrong ones refused the right one for 15 minutes). A guesser
trying as fast as he can still gets only a handful of tries a minute, then one a minute."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from hub.app import HubParts
from hub.appointments import AppointmentBook, AppointmentDraft, Invitation
from hub.config import HubConfig
from tests.hub.conftest import RunningHub
from tests.hub.test_guest_passes import DRAFT, serving
from videokiosk.clock import FakeClock

LONGEST_WAIT = timedelta(minutes=1)  # a guesser who waits this long between tries has each one checked


@pytest.fixture
async def hub(tmp_path):
    clock = FakeClock()
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}), clock=clock)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    async with aiohttp.ClientSession() as http, serving(parts) as (url, _app):
        yield RunningHub(url, parts, token, http)


def _invite(hub: RunningHub) -> Invitation:
    _, [customer] = AppointmentBook(hub.parts.db, hub.parts.clock).create(AppointmentDraft(**DRAFT), "anna")
    return customer


async def _check(booth, code: str) -> str | None:
    await booth.send({"type": "appointment_check", "code": code})
    result = await booth.expect("appointment_result")
    return "ok" if result["ok"] else result["reason"]


async def test_ten_wrong_codes_at_a_booth_then_the_right_one_gets_in_after_the_wait(hub):
    code = _invite(hub).code
    booth = await hub.booth()
    try:
        for n in range(10):
            if n:
                hub.parts.clock.advance(LONGEST_WAIT)
            assert await _check(booth, f"ZZZZ-{n:04d}") == "unknown"
        assert await _check(booth, code) == "rate_limited"  # the guesser is slowed down ...
        hub.parts.clock.advance(LONGEST_WAIT)
        assert await _check(booth, code) == "ok"  # ... and the customer after him is not locked out
    finally:
        await booth.close()


async def _join(http: aiohttp.ClientSession, url: str, token: str) -> aiohttp.ClientResponse:
    r = await http.post(f"{url}/api/join", json={"token": token})
    await r.read()
    return r


async def test_ten_wrong_links_from_one_address_then_a_valid_one_from_it_gets_in(hub):
    token = _invite(hub).token
    for n in range(10):  # one address (a household or an office behind NAT) ...
        if n:
            hub.parts.clock.advance(LONGEST_WAIT)
        assert (await _join(hub.http, hub.url, f"guess-{n:040d}")).status == 404
    slowed = await _join(hub.http, hub.url, token)
    assert slowed.status == 429 and 0 < int(slowed.headers["Retry-After"]) <= 60
    elsewhere = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=elsewhere) as other:  # another address is not slowed at all
        assert (await _join(other, hub.url, token)).status == 200
    hub.parts.clock.advance(timedelta(seconds=int(slowed.headers["Retry-After"])))
    assert (await _join(hub.http, hub.url, token)).status == 200  # ... gets in once the wait has passed


async def test_a_guesser_at_full_speed_gets_a_handful_of_tries_then_one_a_minute(hub):
    booth = await hub.booth()
    checked: list[int] = []  # the seconds at which a guess was really checked
    try:
        for second in range(600):  # ten minutes, one guess a second
            if second:
                hub.parts.clock.advance(timedelta(seconds=1))
            if await _check(booth, f"ZZZZ-{second:04d}") == "unknown":
                checked.append(second)
    finally:
        await booth.close()
    first_minute = [s for s in checked if s < 60]
    assert 3 <= len(first_minute) <= 7, checked  # three free (typos), then a growing wait
    assert len(checked) - len(first_minute) <= 10, checked  # then at most one a minute
    assert all(b - a >= 59 for a, b in zip(checked[len(first_minute):], checked[len(first_minute) + 1:])), checked
