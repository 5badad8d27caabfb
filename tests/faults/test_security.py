"""Security, attacked from outside: log-in brute force, one booth posing as another, security
headers on every page of hub and booth, and the booth's UI server on loopback only."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import CONSOLE, HubParts, make_app
from hub.config import HubConfig
from kiosk_ui import __file__ as kiosk_init

from .booth import start_booth

PASSWORD = "s3cret-pass-12"
KIOSK = Path(kiosk_init).parent


@pytest.fixture
async def hub(tmp_path):
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}))
    parts.users.add_user("anna", PASSWORD)
    tokens = {b: parts.registry.create_booth(b, b, "Musterstadt") for b in ("booth-1", "booth-2")}
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield str(server.make_url("")).rstrip("/"), parts, tokens, http
    await server.close()


async def _socket(http, url, token):
    ws = await http.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"})
    await ws.send_str('{"type": "hello"}')
    return ws


async def _next(ws, type_: str, timeout: float = 5.0) -> dict:
    while True:
        msg = json.loads((await ws.receive(timeout=timeout)).data)
        if msg["type"] == type_:
            return msg


async def _admitted(advisor_http: aiohttp.ClientSession, url: str, booth) -> tuple[aiohttp.ClientWebSocketResponse, str]:
    """anna's console, with the customer waiting at ``booth`` admitted; and the call's id."""
    r = await advisor_http.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
    advisor = await advisor_http.ws_connect(f"{url}/ws/advisor?csrf={(await r.json())['csrf']}")
    await booth.send_str(json.dumps({"type": "waiting", "session_id": "s-one-1234", "language": "de"}))
    await _next(advisor, "waiting_added")
    await advisor.send_str(json.dumps({"type": "admit", "session_id": "s-one-1234"}))
    return advisor, (await _next(advisor, "admit_result"))["call_id"]


async def test_brute_force_in_parallel_is_held_to_the_limit(hub):
    url, parts, _, http = hub
    attempts = [http.post(f"{url}/api/login", json={"username": "anna", "password": f"guess{i}"}) for i in range(40)]
    statuses = [r.status for r in await asyncio.gather(*attempts)]
    # However the guesses race, no more than the limit are even checked; the rest must wait.
    assert statuses.count(401) <= parts.config.auth.max_failures
    assert statuses.count(429) >= 40 - parts.config.auth.max_failures and 200 not in statuses
    for _ in range(parts.config.auth.max_failures):
        r = await http.post(f"{url}/api/login", json={"username": "anna", "password": "one more guess"})
    assert r.status == 429  # the guesser's address waits, with the right password too
    r = await http.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
    assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
    r = await http.post(f"{url}/api/login", json={"username": "nobody", "password": "x" * 10_000})
    assert r.status in (401, 429)


async def test_a_revoked_booth_token_is_refused(hub):
    url, parts, tokens, http = hub
    old = tokens["booth-1"]
    parts.registry.create_booth("booth-1", "booth-1", "Musterstadt")  # re-enrolment: a new token
    for token in (old, "", old + "x", tokens["booth-2"][:-1]):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"})
        assert refused.value.status == 401


async def test_another_booth_cannot_touch_a_call_that_is_not_its_own(hub):
    url, parts, tokens, http = hub
    one, two = await _socket(http, url, tokens["booth-1"]), await _socket(http, url, tokens["booth-2"])
    s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        advisor, call_id = await _admitted(s, url, one)
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
        for forged in ({"type": "offer", "call_id": call_id, "sdp": sdp},
                       {"type": "candidate", "call_id": call_id, "candidate": ""},
                       {"type": "call_info", "call_id": call_id, "os": "Evil"},
                       {"type": "hangup", "call_id": call_id}):
            await two.send_str(json.dumps(forged))
        for _ in range(3):  # offer, candidate and call_info: each refused (hangup is silent)
            assert (await _next(two, "error"))["code"] == "unknown_call"
        assert (await parts.state.get_route(call_id)) is not None  # the forged hangup ended nothing
        await one.send_str(json.dumps({"type": "offer", "call_id": call_id, "sdp": sdp}))
        assert (await _next(advisor, "offer"))["sdp"] == sdp  # the advisor got only the real one
    finally:
        await s.close()


async def test_another_booth_cannot_take_or_remove_a_waiting_customer(hub):
    url, parts, tokens, http = hub
    one, two = await _socket(http, url, tokens["booth-1"]), await _socket(http, url, tokens["booth-2"])
    await _next(one, "welcome")
    await _next(two, "welcome")
    await one.send_str(json.dumps({"type": "waiting", "session_id": "s-one-1234", "language": "de"}))
    await _next(one, "queue_update")
    await two.send_str(json.dumps({"type": "waiting", "session_id": "s-one-1234", "language": "tr"}))
    await two.send_str(json.dumps({"type": "waiting_update", "session_id": "s-one-1234", "name": "Mallory"}))
    await two.send_str(json.dumps({"type": "leave_waiting", "session_id": "s-one-1234"}))
    await two.send_str('{"type": "no_such_type"}')
    while (await _next(two, "error"))["code"] != "unknown_type":  # booth-2's messages are all handled now
        pass
    waiting = await parts.state.waiting()
    assert [(e.session_id, e.booth_id, e.language, e.name) for e in waiting] == [("s-one-1234", "booth-1", "de", None)]


HEADERS_OK = re.compile(r"frame-ancestors 'none'")


def _assert_headers(r: aiohttp.ClientResponse, where: str) -> None:
    csp = r.headers.get("Content-Security-Policy", "")
    script = next((d for d in csp.split(";") if d.strip().startswith(("script-src", "default-src"))), "")
    assert HEADERS_OK.search(csp), f"{where}: no frame-ancestors 'none' in {csp!r}"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and script, f"{where}: {csp!r}"
    assert r.headers.get("Referrer-Policy") == "no-referrer", where


def _no_inline_script(html: str, where: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html, re.I):
        assert "src=" in tag, f"{where}: inline <script> {tag}"
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"{where}: inline event handler"


async def test_every_page_of_hub_and_booth_carries_the_security_headers(hub, tmp_path):
    url, parts, tokens, http = hub
    hub_paths = ["/", "/healthz", "/api/me", "/no-such-page", *(f"/console/{f.relative_to(CONSOLE)}" for f in CONSOLE.rglob("*") if f.is_file())]
    booth = await start_booth(url, tokens["booth-1"], tmp_path)
    try:
        base = booth.ui_url.rstrip("/")
        booth_paths = ["/", "/no-such-page", *(f"/{f.relative_to(KIOSK)}" for f in KIOSK.rglob("*")
                                               if f.is_file() and f.suffix in (".html", ".js", ".css", ".json"))]
        for root, paths in ((url, hub_paths), (base, booth_paths)):
            for path in paths:
                r = await http.get(root + path)
                _assert_headers(r, root + path)
                if r.headers.get("Content-Type", "").startswith("text/html"):
                    _no_inline_script(await r.text(), root + path)
        assert len(hub_paths) + len(booth_paths) > 10
    finally:
        await booth.stop()


async def test_the_booth_ui_listens_on_loopback_only(hub, tmp_path):
    url, parts, tokens, http = hub
    from appliance.config import parse_config
    from appliance.errors import ApplianceError

    booth = await start_booth(url, tokens["booth-1"], tmp_path, ui={"port": 0})  # host from config: the default
    try:
        runner = booth._runner
        hosts = {addr[0] for addr in runner.addresses}
        assert hosts and hosts <= {"127.0.0.1", "::1"}, hosts
    finally:
        await booth.stop()
    for host in ("0.0.0.0", "::", "192.0.2.1"):  # a config that would open it to the network is refused
        with pytest.raises((ApplianceError, ValueError)):
            parse_config({"booth": {"id": "b-01", "name": "x", "location": "y"}, "hub": {"url": url, "token": "t"},
                          "ui": {"host": host}})


async def _closed(ws, within_s: float) -> None:
    """Until the hub closes ``ws`` (what it says before that passed over); TimeoutError if it stays open."""
    async with asyncio.timeout(within_s):
        while (await ws.receive()).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                                aiohttp.WSMsgType.CLOSING):
            pass


async def test_a_revoked_booth_is_cut_off_at_once_and_its_call_with_it(hub):
    """A booth stolen from the hall, or replaced: the office revokes it (``videokiosk hub
    revoke-booth``, or enrols a new one under its id). Its open connection closes within a second,
    its call ends for the advisor at once (no reconnect grace: the device is not ours any more),
    and it cannot come back."""
    url, parts, tokens, http = hub
    booth = await _socket(http, url, tokens["booth-1"])
    other = await _socket(http, url, tokens["booth-2"])
    s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        advisor, call_id = await _admitted(s, url, booth)
        parts.registry.revoke("booth-1")
        await _closed(booth, within_s=1.0)
        assert await _next(advisor, "call_state", timeout=1.0) == {"type": "call_state", "call_id": call_id,
                                                                      "state": "ended", "reason": "ended"}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await _socket(http, url, tokens["booth-1"])
        assert refused.value.status == 401
        # Re-enrolling booth-2 (a replacement device) cuts off the old device's connection too.
        parts.registry.create_booth("booth-2", "booth-2", "Musterstadt")
        await _closed(other, within_s=1.0)
    finally:
        await s.close()
