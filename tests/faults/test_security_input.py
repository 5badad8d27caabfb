"""Crafted input, attacked: JSON nested thousands deep, lone surrogates, numbers out of range
answer 400 with a message (never 500); bidirectional controls never reach another screen;
short passwords are refused."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.users import UserStore
from rtc import protocol as p

PASSWORD = "s3cret-pass-12"
DEEP = "[" * 30_000 + "]" * 30_000
RLO = "\u202e"


@pytest.fixture
async def hub(tmp_path):
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}))
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield str(server.make_url("")).rstrip("/"), parts, token, http
    await server.close()


async def test_crafted_json_answers_400_with_a_message(hub):
    url, parts, _, http = hub
    r = await http.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
    csrf = (await r.json())["csrf"]
    deep_small = "[" * 20_000 + "]" * 20_000  # under the 64 KiB body limit
    bodies = [
        ("/api/login", deep_small),
        ("/api/login", '{"username": "\\ud800", "password": "whatever-password"}'),
        ("/api/login", '{"username": "anna", "password": "\\udfff\\ud800"}'),
        ("/api/appointments", deep_small),
        ("/api/appointments", '{"starts_local": "2026-01-01T09:10", "customer_email": "a@example.org", "duration_min": 1e999}'),
        ("/api/appointments", '{"starts_local": "2026-01-01T09:10", "customer_email": "a@example.org", "duration_min": ' + "9" * 5000 + "}"),
        ("/api/appointments", '{"starts_local": "2026-01-01T09:10", "customer_email": "a@example.org", "name": "\\ud800"}'),
        ("/api/join", deep_small),
        ("/api/join", '{"token": "\\ud800"}'),
        ("/api/enrol", deep_small),
    ]
    for path, body in bodies:
        r = await http.post(url + path, data=body, headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})
        assert r.status == 400, (path, body[:80], r.status, await r.text())
        assert (await r.json())["error"]
    # On a socket: an error reply, and the connection stays
    ws = await http.ws_connect(f"{url}/ws/advisor?csrf={csrf}")
    await ws.receive_json(timeout=5)
    await ws.send_str("[" * 8000 + "]" * 8000)
    await ws.send_str('{"type": "admit", "session_id": "\\ud800"}')
    codes = []
    while len(codes) < 2:
        msg = await ws.receive_json(timeout=5)
        if msg["type"] == "error":
            codes.append(msg["code"])
    assert codes == ["malformed", "invalid"]
    await ws.close()


async def test_bidi_controls_never_reach_the_advisors_screen(hub):
    url, parts, token, http = hub
    r = await http.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
    csrf = (await r.json())["csrf"]
    advisor = await http.ws_connect(f"{url}/ws/advisor?csrf={csrf}")
    await advisor.receive_json(timeout=5)
    async with aiohttp.ClientSession() as b:
        booth = await b.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"})
        await booth.send_str('{"type": "hello"}')
        await booth.send_json({"type": "waiting", "session_id": "s-bidi0001", "language": "de",
                               "name": f"Erika {RLO}gpj.exe", "customer_number": f"\u2066123{RLO}"})
        while (msg := await advisor.receive_json(timeout=5))["type"] != "waiting_added":
            pass
        assert msg["entry"]["name"] == "Erika gpj.exe" and msg["entry"]["customer_number"] == "123"
        await booth.close()
    r = await http.post(f"{url}/api/appointments", headers={"X-CSRF-Token": csrf},
                        json={"starts_local": "2030-01-01T09:10", "customer_email": "kunde@example.org",
                              "name": f"Max {RLO}Muster\u200f"})
    assert r.status == 201 and (await r.json())["name"] == "Max Muster"
    chat = p.parse(json.dumps({"type": "chat", "call_id": "c-12345", "id": "m-12345", "sender": "booth", "text": f"Hallo {RLO}olla"}),
                   frozenset({"chat"}))
    assert RLO not in chat.text
    await advisor.close()


def test_local_passwords_have_at_least_12_characters(tmp_path):
    from hub.storage import open_database
    from videokiosk.clock import SystemClock

    users = UserStore(open_database(tmp_path / "hub.db"), SystemClock())
    for short in ("demo", "s3cret-pass", "elevenchars"):
        with pytest.raises(ValueError, match="12 characters"):
            users.add_user("anna", short)
    users.add_user("anna", "twelve-chars")
