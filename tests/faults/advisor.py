"""An advisor without a browser: logs in over HTTP, holds the advisor socket, answers the booth's
offers with a real aiortc peer (sending the synthetic test pattern) and counts the booth's frames.

Every new offer for the call (the booth re-offers after a rejoin) gets a fresh peer connection,
as the console does.

Example::

    advisor = await AdvisorPeer.log_in("http://127.0.0.1:8080", "anna", "secret")
    entry = await advisor.next_waiting()
    call_id = await advisor.admit(entry["session_id"])
    await advisor.wait_frames(5)
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import ssl as ssl_module

import aiohttp
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from hw.synthetic import SyntheticVideoTrack



async def next_matching(inbox: asyncio.Queue, type_: str, timeout: float, **match: Any) -> dict:
    """The next message in ``inbox`` of ``type_`` whose fields equal ``match`` (others are skipped)."""
    async def find() -> dict:
        while True:
            msg = await inbox.get()
            if msg["type"] == type_ and all(msg.get(k) == v for k, v in match.items()):
                return msg
    return await asyncio.wait_for(find(), timeout)

class AdvisorPeer:
    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, ice_servers: list[dict] | None = None) -> None:
        self.http = http
        self.ws = ws
        self.ice_servers = ice_servers  # None: what the hub hands out
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self.call_id: str | None = None
        self.pc: RTCPeerConnection | None = None
        self.frames = 0
        self.frame_arrived = asyncio.Event()
        self.first_frame_at: float | None = None
        self.offers = 0
        self.states: list[str] = []
        self._hub_ice: list[dict] = []
        self._tasks = [asyncio.create_task(self._read())]

    @classmethod
    async def log_in(cls, url: str, user: str, password: str, ice_servers: list[dict] | None = None,
                     ssl: "ssl_module.SSLContext | None" = None) -> "AdvisorPeer":
        """``ssl``: the context that trusts a hub with a private certificate (default: the system's)."""
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     connector=aiohttp.TCPConnector(ssl=ssl) if ssl is not None else None)
        r = await http.post(f"{url}/api/login", json={"username": user, "password": password})
        if r.status != 200:
            await http.close()
            raise AssertionError(f"log-in failed: {r.status} {await r.text()}")
        csrf = (await r.json())["csrf"]
        ws = await http.ws_connect(f"{url}/ws/advisor?csrf={csrf}", heartbeat=5)
        return cls(http, ws, ice_servers)

    async def send(self, msg: dict) -> None:
        await self.ws.send_str(json.dumps(msg))

    async def expect(self, type_: str, timeout: float = 10.0, **match: Any) -> dict:
        """The next message of ``type_`` whose fields equal ``match`` (others are skipped)."""
        return await next_matching(self.inbox, type_, timeout, **match)

    async def next_waiting(self, timeout: float = 20.0) -> dict:
        return (await self.expect("waiting_added", timeout))["entry"]

    async def admit(self, session_id: str) -> str:
        await self.send({"type": "admit", "session_id": session_id})
        result = await self.expect("admit_result", session_id=session_id)
        assert result["ok"], result
        return result["call_id"]  # self.call_id was set by _read()

    async def hang_up(self) -> None:
        if self.call_id:
            await self.send({"type": "hangup", "call_id": self.call_id, "reason": "ended"})

    async def wait_frames(self, more: int, timeout: float = 30.0) -> None:
        """Until ``more`` further frames of the booth's video have been decoded here."""
        async def wait() -> None:
            target = self.frames + more
            while self.frames < target:
                self.frame_arrived.clear()
                await self.frame_arrived.wait()
        await asyncio.wait_for(wait(), timeout)

    async def describe(self) -> str:
        """What this advisor saw of the call, for a test's failure message."""
        pc = self.pc
        if pc is None:
            media = "no peer connection"
        else:
            received = [f"{s.kind} {s.packetsReceived} packets ({s.packetsLost} lost)"
                        for s in (await pc.getStats()).values() if s.type == "inbound-rtp"]
            media = f"{pc.connectionState}, ICE {pc.iceConnectionState}, received {', '.join(received) or 'nothing'}"
        return (f"call {self.call_id}, {self.offers} offer(s), {media}, {self.frames} frame(s) decoded, "
                f"states {self.states}")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()
        await self.ws.close()
        await self.http.close()

    # --- inside -------------------------------------------------------------------------------

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            msg = json.loads(frame.data)
            if msg["type"] == "admit_result" and msg.get("ok"):
                # Taken here, before the next message is read: the booth's offer may be right
                # behind it, before the task that admitted has read the result from the inbox.
                self.call_id = msg["call_id"]
                self._hub_ice = msg.get("ice_servers") or []
            elif msg["type"] == "offer" and msg["call_id"] == self.call_id:
                await self._answer(msg["sdp"])
            elif msg["type"] == "call_state":
                self.states.append(msg["state"])
            await self.inbox.put(msg)

    async def _answer(self, sdp: str) -> None:
        self.offers += 1
        if self.pc is not None:
            await self.pc.close()
        servers = self.ice_servers if self.ice_servers is not None else self._hub_ice
        ice = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers]
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice))
        pc.addTrack(SyntheticVideoTrack(320, 240, fps=15))
        pc.on("track", lambda track: self._tasks.append(asyncio.ensure_future(self._watch(track))) if track.kind == "video" else None)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.send({"type": "answer", "call_id": self.call_id, "sdp": pc.localDescription.sdp})

    async def _watch(self, track) -> None:
        try:
            while True:
                await track.recv()
                self.frames += 1
                if self.first_frame_at is None:
                    self.first_frame_at = time.time()
                self.frame_arrived.set()
        except MediaStreamError:
            return
