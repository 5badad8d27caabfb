"""The kiosk page's server: malformed messages, headers, origin, and the daemon keeps running; a
touch is never held up by the page's video negotiation."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp import web

from appliance.config import UISection
from appliance.session import Session
from appliance.store import BoothStore
from appliance.uiserver import UIServer
from videokiosk.clock import FakeClock

from .helpers import CannedChecks


class SlowLoopback:
    """A loopback whose answer to the page's offer takes as long as the test says (a booth's took
    a second while aiortc waited on the page's mDNS names); it records what it did."""

    def __init__(self) -> None:
        self.answering = asyncio.Event()  # an answer is being made
        self.done = asyncio.Event()  # ... may be finished
        self.did: list[str] = []

    async def answer(self, sdp: str) -> str:
        self.answering.set()
        await self.done.wait()
        self.did.append("answered")
        return "v=0\r\n"

    async def close(self) -> None:
        self.did.append("closed")


@pytest.fixture
def loopback() -> SlowLoopback:
    return SlowLoopback()


@pytest.fixture
async def served(tmp_path, loopback):
    clock = FakeClock()
    store = BoothStore(tmp_path / "booth.db", clock=clock)
    session = Session(UISection(), clock=clock, store=store, checks=CannedChecks())
    server = UIServer(session, loopback=loopback)
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
    return (await messages_until(ws, lambda msg: msg["type"] == kind, timeout))[-1]


async def messages_until(ws, last: Callable[[dict], bool], timeout: float = 5.0) -> list[dict]:
    """Every message the page gets, up to and with the first for which ``last`` is true."""
    seen: list[dict] = []
    async def until() -> list[dict]:
        while not seen or not last(seen[-1]):
            seen.append(json.loads((await ws.receive()).data))
        return seen
    return await asyncio.wait_for(until(), timeout)


def shows(state: str) -> Callable[[dict], bool]:
    return lambda msg: msg["type"] == "state" and msg["state"]["state"] == state


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
        assert (await receive(ws, "error"))["code"] == "no_video"


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


async def test_a_withdrawal_is_not_held_up_by_the_pages_video_negotiation(served, loopback):
    """The page asks for its video as the check (or the call) begins, and the customer withdraws
    before the answer is made: the withdrawal takes effect at once, and the video never starts."""
    base, http, _, store = served
    async with http.ws_connect(f"{base}/ws") as ws:
        for event in ("start", "accept"):
            await ws.send_str(json.dumps({"type": "intent", "event": event}))
        await messages_until(ws, shows("device_check"))
        assert store.rows("consents")
        await ws.send_str(json.dumps({"type": "offer", "sdp": "v=0\r\n"}))
        await asyncio.wait_for(loopback.answering.wait(), 5)
        await ws.send_str(json.dumps({"type": "intent", "event": "withdraw"}))
        await messages_until(ws, shows("idle"))  # while the answer is still being made
        assert store.rows("consents") == [] and loopback.did == []
        loopback.done.set()
        replies = [msg for msg in await messages_until(ws, lambda msg: msg["type"] == "error") if msg["type"] != "state"]
        assert [msg["type"] for msg in replies] == ["error"] and replies[0]["code"] == "no_video"
        assert loopback.did == ["answered", "closed"]  # the page got no video: the camera is off
