"""Three hub processes, each with its own data directory and no shared file, on one PostgreSQL
and one redis-server (both started here): what one hub writes, every hub acts on.

- an appointment booked on hub A is joined by its link through hub B;
- an advisor removed on hub A loses the console on hub B within a second (sessions are checked
  against the database on every request and by the socket watch);
- the purge at start runs once across the three hubs (hub/purge.py: lock and last run)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import subprocess
import sys
from email import policy
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from hub.app import HubParts
from hub.config import HubConfig
from hub.storage import open_database

from .hubproc import ROOT, HubProcess

pytestmark = pytest.mark.slow
PASSWORD = "s3cret-pass-12"
PUBLIC_URL = "https://hub.example"


@pytest.fixture
def three_hubs(tmp_path, redis_server, postgres_url):
    parts = HubParts.open(HubConfig.model_validate({"store": {"database_url": postgres_url}}))
    parts.users.add_user("anna", PASSWORD)
    yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat()
    parts.db["calls"].insert({"call_id": "c-expired", "expires_at": yesterday})  # for the purge at start
    parts.db.close()
    hubs = [HubProcess(tmp_path / name, db=postgres_url, redis_url=redis_server.url,
                       extra=f'[mail]\npublic_url = "{PUBLIC_URL}"\noutbox_dir = "{tmp_path / name / "outbox"}"\n')
            for name in ("a", "b", "c")]
    try:
        for hub in hubs:
            hub.start()
        yield hubs, postgres_url
    finally:
        for hub in hubs:
            hub.stop()


async def log_in(http: aiohttp.ClientSession, hub: HubProcess) -> str:
    r = await http.post(f"{hub.url}/api/login", json={"username": "anna", "password": PASSWORD})
    assert r.status == 200, await r.text()
    return (await r.json())["csrf"]


def advisor_http() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def closed_by_hub(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Until the hub closes ``ws`` (other messages skipped); a timeout fails the test."""
    try:
        while True:
            frame = await ws.receive(timeout=10)
            if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return
    except aiohttp.ClientConnectionResetError:
        return  # closed by the hub while aiohttp answered its close frame


async def test_an_appointment_booked_on_hub_a_is_joined_through_hub_b(three_hubs):
    (hub_a, hub_b, _), url = three_hubs
    starts = (dt.datetime.now(ZoneInfo("Europe/Berlin")) + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    async with advisor_http() as http:
        csrf = await log_in(http, hub_a)
        r = await http.post(f"{hub_a.url}/api/appointments", headers={"X-CSRF-Token": csrf},
                            json={"starts_local": starts, "language": "de", "customer_email": "kunde@example.org",
                                  "customer_number": "123D456789", "name": "Erika Mustermann", "participants": []})
        assert r.status == 201, await r.text()
    db = open_database(url)  # the link is only in the mail: read it back as the customer's inbox would
    row = next(db["mail_outbox"].rows_where("role = 'customer'"))
    text = email.message_from_bytes(bytes(row["message"]), policy=policy.default).get_body(("plain",)).get_content()
    token = next(line for line in text.splitlines() if line.startswith(f"{PUBLIC_URL}/join#")).split("#")[1]
    async with aiohttp.ClientSession() as customer:
        r = await customer.post(f"{hub_b.url}/api/join", json={"token": token})
        assert r.status == 200, await r.text()
        assert (await r.json())["role"] == "customer"


async def test_an_advisor_removed_on_hub_a_loses_the_console_on_hub_b(three_hubs):
    (hub_a, hub_b, _), _ = three_hubs
    async with advisor_http() as http:
        csrf = await log_in(http, hub_b)
        ws = await http.ws_connect(f"{hub_b.url}/ws/advisor?csrf={csrf}")
        assert (await http.get(f"{hub_b.url}/api/appointments")).status == 200
        removed = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "videokiosk.cli", "hub", "remove-user",
                                                           "--config", str(hub_a.config), "anna"],
                                          cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert removed.returncode == 0, removed.stderr
        assert (await http.get(f"{hub_b.url}/api/appointments")).status == 401  # the next request: refused
        await closed_by_hub(ws)  # and the open console closes (the socket watch checks every second)


async def test_the_purge_at_start_runs_once_across_three_hubs(three_hubs):
    hubs, url = three_hubs
    db = open_database(url)
    assert db["calls"].count == 0
    assert db["task_runs"].count == 1
    purged = [hub.log.read_text().count("purge: deleted") for hub in hubs]
    assert sorted(purged) == [0, 0, 1]
