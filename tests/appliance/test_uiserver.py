"""The kiosk page's server: malformed messages, headers, origin, and the daemon keeps running."""

from __future__ import annotations

import asyncio
import json
import re

import aiohttp
import pytest
from aiohttp import web

from appliance.config import UISection
from appliance.session import Session
from appliance.store import BoothStore
from appliance.uiserver import UIServer
from videokiosk.clock import FakeClock

from .helpers import CannedChecks


@pytest.fixture
async def served(tmp_path):
    clock = FakeClock()
    store = BoothStore(tmp_path / "booth.db", clock=clock)
    session = Session(UISection(), clock=clock, store=store, checks=CannedChecks())
    server = UIServer(session)
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as http:
        yield f"http://127.0.0.1:{port}", http, session, store
    await session.close()
    await runner.cleanup()
    store.close()


async def receive(ws, kind: str, timeout: float = 5.0) -> dict:
    """The next message of ``kind`` (state messages may come in between)."""
    async def next_of_kind():
        while True:
            msg = json.loads((await ws.receive()).data)
            if msg["type"] == kind:
                return msg
    return await asyncio.wait_for(next_of_kind(), timeout)


async def test_malformed_messages_get_an_error_and_change_nothing(served):
    base, http, session, store = served
    async with http.ws_connect(f"{base}/ws") as ws:
        first = await receive(ws, "state")
        assert first["state"]["state"] == "idle"
        await ws.send_str(json.dumps({"type": "intent", "event": "start"}))
        await ws.send_str(json.dumps({"type": "intent", "event": "accept"}))
        await receive(ws, "state")
        sid = session.session_id
        assert [r["session_id"] for r in store.rows("consents")] == [sid]
        for bad in (
            "not json at all",
            "[1, 2, 3]",
            json.dumps({"type": "intent", "event": "admitted", "data": {"call_id": "forged"}}),
            json.dumps({"type": "intent", "event": "set_language", "data": {"language": "xx"}}),
            json.dumps({"type": "intent", "event": "survey_submit", "data": {"rating": "<script>"}}),
            json.dumps({"type": "intent", "event": "start", "data": {"extra": 1}}),
            json.dumps({"type": "offer", "sdp": 42}),
            json.dumps({"type": "wat"}),
            json.dumps({"type": "intent", "event": ["start"]}),
            json.dumps({"type": "intent", "event": "set_details", "data": ["Ada"]}),
            "x" * 70_000,
        ):
            if len(bad) > 65_536:
                await ws.send_str(bad)
                break  # the server closes a connection that sends an oversized frame
            await ws.send_str(bad)
            error = await receive(ws, "error")
            assert error["code"] == "invalid" and error["message"], bad
    # the daemon is still there, the session untouched, nothing stored was lost
    assert session.state == "device_check" and session.session_id == sid
    assert [r["session_id"] for r in store.rows("consents")] == [sid]
    async with http.ws_connect(f"{base}/ws") as ws:
        assert (await receive(ws, "state"))["state"]["state"] == "device_check"
        await ws.send_bytes(b"\x00\x01")
        assert (await receive(ws, "error"))["code"] == "malformed"


async def test_an_intent_out_of_place_is_ignored_with_a_reply(served):
    base, http, session, _ = served
    async with http.ws_connect(f"{base}/ws") as ws:
        await receive(ws, "state")
        await ws.send_str(json.dumps({"type": "intent", "event": "continue"}))
        assert (await receive(ws, "ignored")) == {"type": "ignored", "event": "continue", "state": "idle"}
        await ws.send_str(json.dumps({"type": "offer", "sdp": "v=0\r\n"}))
        assert (await receive(ws, "error"))["code"] == "not_now"


async def test_every_response_carries_the_security_headers(served):
    base, http, _, _ = served
    for path in ("/", "/static/app.js", "/static/i18n/de.json", "/does-not-exist"):
        async with http.get(base + path) as resp:
            csp = resp.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert resp.headers["Cache-Control"] == "no-store"
    async with http.get(base + "/") as resp:
        page = await resp.text()
    assert "<script>" not in page and not re.search(r"\son[a-z]+\s*=", page)  # no inline script at all


async def test_a_foreign_origin_cannot_drive_the_booth(served):
    base, http, session, _ = served
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await http.ws_connect(f"{base}/ws", headers={"Origin": "http://evil.example"})
    assert err.value.status == 403
    async with http.ws_connect(f"{base}/ws", headers={"Origin": base}) as ws:
        assert (await receive(ws, "state"))["type"] == "state"
