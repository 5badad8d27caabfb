"""A hub in the test's own event loop on a free loopback port, with the advisor "anna" and the
booth "booth-1", and a customer admitted over raw sockets: where several fault tests start.

Example::

    async with serving_hub({"path": str(tmp_path / "hub.db")}) as hub:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            console, booth = await admitted_over_sockets(http, hub, "s-0001abcd")
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from videokiosk.clock import FakeClock

PASSWORD = "s3cret-pass-12"


@dataclass
class ServedHub:
    url: str
    port: int
    parts: HubParts
    token: str  # booth-1's device token


@asynccontextmanager
async def serving_hub(store: dict, **config) -> AsyncIterator[ServedHub]:
    """``store``: the ``[store]`` section (a SQLite path or a PostgreSQL URL); ``config``: more sections."""
    parts = HubParts.open(HubConfig.model_validate({"store": store, **config}), clock=FakeClock())
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    try:
        yield ServedHub(str(server.make_url("")).rstrip("/"), server.port, parts, token)
    finally:
        await server.close()
        parts.db.close()


async def next_of(ws: aiohttp.ClientWebSocketResponse, *kinds: str, timeout_s: float = 15.0) -> dict:
    """The next message of one of ``kinds`` on ``ws`` (others passed over)."""
    while (msg := json.loads((await ws.receive(timeout=timeout_s)).data))["type"] not in kinds:
        pass
    return msg


async def admitted_over_sockets(http: aiohttp.ClientSession, hub: ServedHub, session_id: str
                                ) -> tuple[aiohttp.ClientWebSocketResponse, aiohttp.ClientWebSocketResponse]:
    """anna's console and booth-1's socket, its customer (named) admitted by anna."""
    r = await http.post(f"{hub.url}/api/login", json={"username": "anna", "password": PASSWORD})
    console = await http.ws_connect(f"{hub.url}/ws/advisor?csrf={(await r.json())['csrf']}")
    booth = await http.ws_connect(f"{hub.url}/ws/booth", headers={"Authorization": f"Bearer {hub.token}"})
    await booth.send_json({"type": "hello"})
    await next_of(booth, "welcome")
    await booth.send_json({"type": "waiting", "session_id": session_id, "language": "de", "kind": "walk_in",
                           "name": "Erika Mustermann"})
    await next_of(console, "waiting_added")
    await console.send_json({"type": "admit", "session_id": session_id})
    await next_of(booth, "admitted")
    return console, booth
