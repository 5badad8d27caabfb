"""Three hub processes, each with its own data directory and no shared file, on one PostgreSQL
and one redis-server (both started here): what one hub writes, every hub acts on.

- an appointment booked on hub A is joined by its link through hub B;
- an advisor removed (the CLI, with hub A's config) loses the console on hub B within a second
  of the command's return: the CLI announces it on Redis, hub B checks at once (sessions are
  checked against the database on every request too). The hubs' own periodic check is set to
  30 s here, so only the announcement can close it in time;
- the purge at start runs once across the three hubs (hub/purge.py: lock and last run);
- wrong links and wrong passwords spread round-robin over the three hubs are slowed down as if
  all went to one (hub/backoff_redis.py: the failures counted in the shared Redis);
- a customer at a booth on hub A and her interpreter at home on hub B are linked in one group
  call (the advisor on hub C), and the participant of another appointment is not
  (hub/groupcall.py: the bookkeeping in the shared Redis state)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import json
import subprocess
import sys
import time
from email import policy
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from hub.app import HubParts
from hub.appointments import BERLIN, AppointmentBook, AppointmentDraft
from hub.backoff import GUESS_BASE_S, GUESS_FREE
from hub.config import HubConfig
from hub.groupcall import PEERS, guest_booth_id
from hub.state_redis import RedisState
from hub.storage import open_database
from hw.synthetic import SyntheticVideoTrack
from tests.appliance.helpers import until

from .advisor import AdvisorPeer, next_matching
from .booth import start_booth
from .hubproc import ROOT, HubProcess

pytestmark = pytest.mark.slow
PASSWORD = "s3cret-pass-12"
PUBLIC_URL = "https://hub.example"
SLOW_CHECK_S = 30  # the hubs' periodic session check: far slower than the 1 s a removal may take
REVOKED_WITHIN_S = 1.0  # the access-control issue: a removed advisor loses access on every hub within 1 s


@pytest.fixture
def three_hubs(tmp_path, redis_server, postgres_url):
    parts = HubParts.open(HubConfig.model_validate({"store": {"database_url": postgres_url}}))
    parts.users.add_user("anna", PASSWORD)
    yesterday = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat()
    parts.db["calls"].insert({"call_id": "c-expired", "expires_at": yesterday})  # for the purge at start
    parts.db.close()
    hubs = [HubProcess(tmp_path / name, db=postgres_url, redis_url=redis_server.url,
                       extra=f'[mail]\npublic_url = "{PUBLIC_URL}"\neml_dir = "{tmp_path / name / "outbox"}"\n'
                             f'[auth]\nsession_check_s = {SLOW_CHECK_S}\n')
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


async def closed_by_hub(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10) -> float:
    """Until the hub closes ``ws`` (other messages skipped): the monotonic time it did; a timeout
    fails the test."""
    try:
        while True:
            frame = await ws.receive(timeout=timeout)
            if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                return time.monotonic()
    except aiohttp.ClientConnectionResetError:
        return time.monotonic()  # closed by the hub while aiohttp answered its close frame


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
        closed = asyncio.create_task(closed_by_hub(ws, SLOW_CHECK_S))
        removed = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "videokiosk.cli", "hub", "remove-user",
                                                           "--config", str(hub_a.config), "anna"],
                                          cwd=ROOT, capture_output=True, text=True, timeout=60)
        returned = time.monotonic()
        assert removed.returncode == 0, removed.stderr
        assert (await http.get(f"{hub_b.url}/api/appointments")).status == 401  # the next request: refused
        raw_s = await closed - returned  # the open console: closed by the hub, when? (< 0: before the return)
        after_s = max(0.0, raw_s)
        print(f"console on hub B closed {raw_s:+.3f} s from the removal command's return")
        assert after_s < REVOKED_WITHIN_S


async def test_the_purge_at_start_runs_once_across_three_hubs(three_hubs):
    hubs, url = three_hubs
    db = open_database(url)
    assert db["calls"].count == 0
    assert db["task_runs"].count == 1
    purged = [hub.log.read_text().count("purge: deleted") for hub in hubs]
    assert sorted(purged) == [0, 0, 1]


async def test_guesses_spread_over_three_hubs_are_slowed_down_as_on_one(three_hubs):
    hubs, _ = three_hubs
    max_failures = HubConfig().auth.max_failures
    async with aiohttp.ClientSession() as guesser:
        # Made-up personal links, one hub after the other: the free tries are the office's, not each hub's.
        for i in range(GUESS_FREE + 1):
            r = await guesser.post(f"{hubs[i % 3].url}/api/join", json={"token": f"made-up-link-{i:02d}-{'x' * 30}"})
            assert r.status == (404 if i < GUESS_FREE else 429), (i, await r.text())
        assert 0 < int(r.headers["Retry-After"]) <= GUESS_BASE_S
        # Wrong passwords for one account from one address: locked after max_failures in all ...
        statuses = [(await guesser.post(f"{hubs[i % 3].url}/api/login",
                                        json={"username": "anna", "password": f"guess-number-{i}"})).status
                    for i in range(max_failures)]
        assert statuses == [401] * (max_failures - 1) + [429]
        # ... so the next hub refuses even the right password from there.
        r = await guesser.post(f"{hubs[max_failures % 3].url}/api/login", json={"username": "anna", "password": PASSWORD})
        assert r.status == 429 and r.headers["Retry-After"].isdigit()


class Guest:
    """A participant at home without a browser: the personal link's cookie, the booth protocol on
    /ws/guest, every message kept (so a test can say what never came)."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http, self.ws = http, ws
        self.seen: list[dict] = []
        self._inbox: asyncio.Queue[dict] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def join(cls, hub: HubProcess, token: str, session_id: str) -> "Guest":
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        r = await http.post(f"{hub.url}/api/join", json={"token": token})
        assert r.status == 200, await r.text()
        r = await http.post(f"{hub.url}/api/join/consent", json={"session_id": session_id, "language": "de"})
        assert r.status == 200, await r.text()  # the consent before anything else, as the page does
        guest = cls(http, await http.ws_connect(f"{hub.url}/ws/guest"))
        await guest.send({"type": "hello"})
        await guest.expect("welcome")
        await guest.send({"type": "waiting", "session_id": session_id, "language": "de", "kind": "appointment"})
        return guest

    async def send(self, msg: dict) -> None:
        await self.ws.send_str(json.dumps(msg))

    async def expect(self, type_: str, timeout: float = 30.0, **match) -> dict:
        return await next_matching(self._inbox, type_, timeout, **match)

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                msg = json.loads(frame.data)
                self.seen.append(msg)
                await self._inbox.put(msg)

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()
        await self.http.close()


def booked(url: str, *roles: str):
    """An appointment open now (it starts in five minutes) with ``roles`` as further participants."""
    parts = HubParts.open(HubConfig.model_validate({"store": {"database_url": url}}))
    try:
        start = dt.datetime.now(BERLIN) + dt.timedelta(minutes=5)
        draft = AppointmentDraft(starts_local=start.replace(tzinfo=None, second=0, microsecond=0), language="de",
                                 customer_email="k@example.org",
                                 participants=[{"role": r, "email": f"{r}@example.org"} for r in roles])
        return AppointmentBook(parts.db, parts.clock).create(draft, "anna")[1]
    finally:
        parts.db.close()


async def admit_when_waiting(advisor: AdvisorPeer, session_id: str) -> str:
    """Once the advisor sees ``session_id`` in the waiting room, let it in; the call's id."""
    while (await advisor.next_waiting(60))["session_id"] != session_id:
        pass
    return await advisor.admit(session_id)


async def test_a_booth_on_hub_a_and_an_interpreter_on_hub_b_are_linked_and_another_appointment_is_not(
        three_hubs, redis_server, tmp_path):
    (hub_a, hub_b, hub_c), url = three_hubs
    parts = HubParts.open(HubConfig.model_validate({"store": {"database_url": url}}))
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    parts.db.close()
    customer, interpreter = booked(url, "interpreter")
    _, stranger = booked(url, "interpreter")
    advisor = await AdvisorPeer.log_in(hub_c.url, "anna", PASSWORD)
    booth = await start_booth(hub_a.url, token, tmp_path)
    guests: list[Guest] = []
    offerer = RTCPeerConnection()
    state = RedisState.from_url(redis_server.url, "vk:")  # what the hubs share, read as a hub reads it
    try:
        # The customer types her code at the booth (hub A) and waits; the advisor (hub C) lets her in.
        session = booth.session
        await session.handle("have_appointment")
        await session.handle("submit_code", code=customer.code)
        await until(session, lambda s: s["state"] == "consent", 30)
        await session.handle("accept")
        await until(session, lambda s: s.get("checks", {}).get("passed") is True, 30)
        assert await session.handle("continue")
        await admit_when_waiting(advisor, session.session_id)
        await advisor.wait_frames(1, 60)  # her call with the advisor is up (the booth's offer answered)

        # Another appointment's interpreter (hub C), admitted by the same advisor: never linked.
        guests.append(await Guest.join(hub_c, stranger.token, "s-stranger1"))
        await admit_when_waiting(advisor, "s-stranger1")
        await guests[-1].expect("admitted", session_id="s-stranger1", role=None)

        # Her own interpreter at home (hub B): the newcomer, told to offer to the customer.
        home = await Guest.join(hub_b, interpreter.token, "s-home0001")
        guests.append(home)
        call_id = await admit_when_waiting(advisor, "s-home0001")
        link = await home.expect("admitted", role="customer")
        assert link["call_id"] != call_id and "name" not in link
        offerer.addTrack(AudioStreamTrack())  # as a browser offers: audio first, then the camera
        offerer.addTrack(SyntheticVideoTrack(320, 240, fps=15))
        await offerer.setLocalDescription(await offerer.createOffer())
        await home.send({"type": "offer", "call_id": link["call_id"], "sdp": offerer.localDescription.sdp})
        answer = await home.expect("answer", call_id=link["call_id"])  # from the booth daemon, through A and B
        await offerer.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        booth_link = booth.peer_links.links[link["call_id"]]
        assert booth_link.role == "interpreter"  # stamped by the hub: the offer came from the interpreter
        await asyncio.wait_for(booth_link.first_frame.wait(), 60)  # the interpreter's picture reaches the booth

        ends = {key: set(json.loads(raw)) for key, raw in (await state.records(PEERS)).items()}
        home_booth = guest_booth_id(interpreter.participant.participant_id)
        assert ends == {link["call_id"]: {"booth-1", home_booth}}
        assert not any(m["type"] == "admitted" and m.get("role") for m in guests[0].seen)  # the stranger: no link
    finally:
        await state.close()
        await offerer.close()
        for guest in guests:
            await guest.close()
        await booth.stop()
        await advisor.close()
