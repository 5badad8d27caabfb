"""Log-in and sessions, attacked: a flood of log-ins, a guesser locking the advisor out, and a
removed advisor (or one whose password or role changed) keeping her console open."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.storage import open_database
from hub.roles import LEAD, grant_role
from hub.users import UserStore
from videokiosk.clock import SystemClock

from .hubproc import ROOT, HubProcess

PASSWORD = "s3cret-pass-12"
FLOOD = 300


@pytest.fixture
async def hub(tmp_path):
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}))
    parts.users.add_user("anna", PASSWORD)
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), parts
    await server.close()


def _from(address: str) -> aiohttp.ClientSession:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 is this machine)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=0),
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _login(http: aiohttp.ClientSession, url: str, username: str, password: str) -> aiohttp.ClientResponse:
    r = await http.post(f"{url}/api/login", json={"username": username, "password": password})
    await r.read()
    return r


async def test_a_login_flood_from_one_address_is_refused_at_once_and_the_advisor_gets_in(hub):
    url, parts = hub
    async with _from("127.0.0.2") as attacker, _from("127.0.0.1") as advisor:
        flood = [asyncio.ensure_future(_login(attacker, url, f"made-up-{i}", "whatever-password")) for i in range(FLOOD)]
        real = await _login(advisor, url, "anna", PASSWORD)
        answers = await asyncio.gather(*flood)
    assert real.status == 200
    statuses = [r.status for r in answers]
    guard = parts.config.auth
    # Only a handful of the flood's guesses were even checked; the rest were refused at once,
    # each told when to come back.
    assert statuses.count(401) <= guard.login_per_address + guard.address_failures, statuses
    assert statuses.count(429) >= FLOOD - guard.login_per_address - guard.address_failures
    assert all(r.headers.get("Retry-After", "").isdigit() for r in answers if r.status == 429)


async def test_a_flood_from_many_addresses_is_bounded_by_the_queue(hub):
    url, parts = hub
    addresses = [f"127.0.0.{n}" for n in range(10, 40)]
    clients = [_from(a) for a in addresses]
    try:
        answers = await asyncio.gather(*(_login(c, url, f"made-up-{i}-{j}", "whatever-password")
                                         for i, c in enumerate(clients) for j in range(10)))
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    statuses = [r.status for r in answers]
    auth = parts.config.auth
    # Never more checks waiting than the queue holds (bounded work); the others are told to retry.
    assert statuses.count(401) < len(statuses) / 2, statuses
    assert set(statuses) <= {401, 429}
    assert all(r.headers.get("Retry-After", "").isdigit() for r in answers if r.status == 429)
    assert auth.login_workers + auth.login_queue < len(statuses) / 2


async def test_made_up_names_from_hundreds_of_addresses_leave_the_checks_to_the_advisor(hub):
    """The flood the audit ran, from 250 addresses at once: made-up names have no password to
    check, so they take no worker and no place in the queue, and are told "wrong" like anyone."""
    url, parts = hub
    addresses = [f"127.0.{n // 200}.{10 + n % 200}" for n in range(250)]
    clients = [_from(a) for a in addresses]
    try:
        async with _from("127.0.0.1") as advisor:
            # The hub has been up a while: it knows how long a real check takes (measured at start;
            # under load that first measurement may not be back yet, so one idle log-in makes sure).
            assert (await _login(advisor, url, "anna", PASSWORD)).status == 200
            for wave in range(3):
                flood = [asyncio.ensure_future(_login(c, url, f"made-up-{wave}-{i}", "whatever-password"))
                         for i, c in enumerate(clients)]
                real = await _login(advisor, url, "anna", PASSWORD)
                answers = await asyncio.gather(*flood)
                assert real.status == 200, (wave, real.status, await real.text())
                assert {r.status for r in answers} == {401}  # the answer a wrong password gets
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def test_wrong_passwords_from_one_address_do_not_lock_the_advisor_out_elsewhere(hub):
    url, parts = hub
    async with _from("127.0.0.3") as attacker, _from("127.0.0.1") as advisor:
        for i in range(3 * parts.config.auth.max_failures):
            r = await _login(attacker, url, "anna", f"guess-number-{i}")
            assert r.status in (401, 429)
        assert r.status == 429 and r.headers["Retry-After"].isdigit()
        # The guesser's own address waits, even with the right password ...
        assert (await _login(attacker, url, "anna", PASSWORD)).status == 429
        # ... and the advisor at her own desk signs in.
        assert (await _login(advisor, url, "anna", PASSWORD)).status == 200


def _remove(db_path, username):
    UserStore(open_database(db_path), SystemClock()).remove_user(username)


def _new_password(db_path, username):
    UserStore(open_database(db_path), SystemClock()).add_user(username, "a-brand-new-password")


def _make_lead(db_path, username):
    grant_role(open_database(db_path), username, LEAD)


async def _closes_within(ws: aiohttp.ClientWebSocketResponse, timeout_s: float) -> bool:
    while True:
        try:
            msg = await ws.receive(timeout=timeout_s)  # raises TimeoutError if the socket stays open
        except ConnectionError:  # closed by the hub while our side was answering a ping
            return True
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return True


@pytest.mark.parametrize("change", [_remove, _new_password, _make_lead], ids=["removed", "password", "role"])
async def test_a_changed_advisor_loses_session_and_open_socket_within_a_second(hub, tmp_path, change):
    url, parts = hub
    async with _from("127.0.0.1") as anna:
        r = await _login(anna, url, "anna", PASSWORD)
        csrf = (await r.json())["csrf"]
        ws = await anna.ws_connect(f"{url}/ws/advisor?csrf={csrf}")
        assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
        change(tmp_path / "hub.db", "anna")  # another process's connection: as the CLI does it
        assert await _closes_within(ws, 1.0)
        assert (await anna.get(f"{url}/api/me")).status == 401
        r = await anna.post(f"{url}/api/appointments", json={}, headers={"X-CSRF-Token": csrf})
        assert r.status == 401


@pytest.mark.slow
async def test_remove_user_ends_the_advisors_sockets_on_every_hub_process(tmp_path):
    db = tmp_path / "hub.db"
    HubParts.open(HubConfig.model_validate({"store": {"path": str(db)}})).users.add_user("anna", PASSWORD)
    hubs = [HubProcess(tmp_path / name, db=db, redis_url=None) for name in ("a", "b")]
    try:
        for h in hubs:
            h.start()
        async with _from("127.0.0.1") as anna:
            r = await _login(anna, hubs[0].url, "anna", PASSWORD)
            assert r.status == 200
            csrf = (await r.json())["csrf"]
            # Behind a load balancer the same cookie reaches either hub.
            sockets = [await anna.ws_connect(f"{h.url}/ws/advisor?csrf={csrf}") for h in hubs]
            for ws in sockets:
                assert (await ws.receive_json(timeout=10))["type"] == "snapshot"
            cli = subprocess.run([sys.executable, "-m", "videokiosk.cli", "hub", "remove-user", "--config",
                                  str(hubs[0].config), "anna"], cwd=ROOT, capture_output=True, text=True, timeout=60)
            assert cli.returncode == 0, cli.stderr
            for ws in sockets:
                assert await _closes_within(ws, 1.0)
            for h in hubs:
                assert (await anna.get(f"{h.url}/api/me")).status == 401
    finally:
        for h in hubs:
            h.stop()


class _FlakyDirectory:
    """A directory (hub/login_guard.py: Directory) that is down until told otherwise."""

    down = True

    def handles(self, stored_hash):
        return stored_hash is None

    def authenticate(self, username, password):
        if self.down:
            raise OSError("the directory server does not answer")
        return username if password == PASSWORD else None

    def admit(self, account):
        return account


class _NoLocalUsers:
    def password_hash(self, username):
        return None


async def test_attempts_a_failing_directory_could_not_check_do_not_lock_the_advisor_out():
    """An outage is not a guesser: attempts that ended in an error were never checked, so they do
    not count towards the lock-out (the advisor retrying through a directory outage gets in after)."""
    from hub.login_guard import LoginError, LoginGuard

    directory = _FlakyDirectory()
    guard = LoginGuard(_NoLocalUsers(), SystemClock(), directory=directory, max_failures=2)
    try:
        for _ in range(6):
            with pytest.raises(OSError):
                await guard.check("anna", PASSWORD, "192.0.2.10")
        directory.down = False
        assert await guard.check("anna", PASSWORD, "192.0.2.10") == "anna"
        with pytest.raises(LoginError):  # a wrong password still counts as before
            await guard.check("anna", "wrong-password-1", "192.0.2.10")
    finally:
        guard.close()


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout_s: float) -> dict:
    """The next message of ``kind`` on ``ws`` (others passed over), within ``timeout_s`` each."""
    while True:
        msg = await ws.receive_json(timeout=timeout_s)
        if msg["type"] == kind:
            return msg


@pytest.mark.parametrize("change", [_remove, _new_password], ids=["removed", "password"])
async def test_an_advisor_whose_session_ends_loses_her_running_call_at_once(hub, tmp_path, change):
    """A console that drops keeps its call for the reconnect timeout (60 s): networks blip. One
    dropped because the advisor's session ended must not: her browser would go on showing her the
    customer, and letting her hear them, for a minute after she lost the right to."""
    url, parts = hub
    assert parts.config.calls.reconnect_timeout_s >= 30
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    async with _from("127.0.0.1") as anna, aiohttp.ClientSession() as booth_http:
        csrf = (await (await _login(anna, url, "anna", PASSWORD)).json())["csrf"]
        console = await anna.ws_connect(f"{url}/ws/advisor?csrf={csrf}")
        await _next(console, "snapshot", 5)
        booth = await booth_http.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"})
        await booth.send_json({"type": "hello"})
        await _next(booth, "welcome", 5)
        await booth.send_json({"type": "waiting", "session_id": "s-0001abcd", "language": "de", "kind": "walk_in"})
        await _next(console, "waiting_added", 5)
        await console.send_json({"type": "admit", "session_id": "s-0001abcd"})
        call_id = (await _next(booth, "admitted", 5))["call_id"]
        change(tmp_path / "hub.db", "anna")
        assert await _closes_within(console, 1.0)
        assert await _next(booth, "call_ended", 2.0) == {"type": "call_ended", "call_id": call_id, "reason": "ended"}
        assert await parts.state.routes() == []
