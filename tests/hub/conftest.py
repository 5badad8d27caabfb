"""A real hub on a free loopback port with a real SQLite file, and helpers to talk to it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.storage import is_postgres_url
from videokiosk.clock import FakeClock

PASSWORD = "s3cret-pass-12"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """One real ``redis-server`` per test module (tests/faults/servers.py); tests keep apart by key prefix."""
    from tests.faults.servers import RedisServer

    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@dataclass
class RunningHub:
    url: str
    parts: HubParts
    booth_token: str
    http: aiohttp.ClientSession

    async def login(self, username: str = "anna", password: str = PASSWORD) -> tuple[aiohttp.ClientSession, str]:
        """A fresh advisor browser-like session (own cookie jar); returns it and its CSRF token."""
        s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        r = await s.post(f"{self.url}/api/login", json={"username": username, "password": password})
        assert r.status == 200, await r.text()
        return s, (await r.json())["csrf"]

    async def advisor(self, username: str = "anna") -> "Socket":
        s, csrf = await self.login(username)
        ws = await s.ws_connect(f"{self.url}/ws/advisor?csrf={csrf}")
        sock = Socket(ws, s)
        assert (await sock.expect("snapshot"))["advisor"] == username
        return sock

    async def booth(self, token: str | None = None, **hello) -> "Socket":
        s = aiohttp.ClientSession()
        ws = await s.ws_connect(f"{self.url}/ws/booth", headers={"Authorization": f"Bearer {token or self.booth_token}"})
        sock = Socket(ws, s)
        await sock.send({"type": "hello", **hello})
        await sock.expect("welcome")
        return sock


@dataclass
class Socket:
    ws: aiohttp.ClientWebSocketResponse
    session: aiohttp.ClientSession

    async def send(self, msg: dict) -> None:
        await self.ws.send_str(json.dumps(msg))

    async def expect(self, type_: str, timeout: float = 5.0, **match) -> dict:
        """Next message of ``type_`` (others are skipped) whose fields equal ``match``."""
        while True:
            frame = await self.ws.receive(timeout=timeout)
            assert frame.type == aiohttp.WSMsgType.TEXT, f"socket closed while waiting for {type_}: {frame}"
            msg = json.loads(frame.data)
            if msg["type"] == type_ and all(msg.get(k) == v for k, v in match.items()):
                return msg

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


def store_for(hub_database: str) -> dict:
    """The ``[store]`` section for the ``hub_database`` fixture's SQLite file or PostgreSQL URL."""
    return {"database_url": hub_database} if is_postgres_url(hub_database) else {"path": hub_database}


def stored_bytes(config: HubConfig, db) -> bytes:
    """All the hub's store holds, to search for what must never be there: a SQLite store's files
    byte for byte (freed pages and the write-ahead log too), a PostgreSQL store's every row as
    text (its server's files are not ours to read). A check that read the SQLite default path
    on PostgreSQL searched a file the test never wrote, or none."""
    if config.store.database_url:
        return "\n".join(db.iterdump()).encode()
    path = config.store.path
    return b"".join(f.read_bytes() for f in path.parent.glob(path.name + "*"))


def store_toml(hub_database: str) -> str:
    """The same ``[store]`` section as a hub.toml holds it, for the ``videokiosk hub`` commands."""
    return "[store]\n" + "".join(f'{key} = "{value}"\n' for key, value in store_for(hub_database).items())


@pytest.fixture
def hub_config(hub_database) -> HubConfig:
    """A hub on SQLite, and again on PostgreSQL (tests/conftest.py says which tests run on both)."""
    return HubConfig.model_validate({
        "store": store_for(hub_database),
        "calls": {"reconnect_timeout_s": 1.5, "heartbeat_s": 5},
        "ice_servers": [{"urls": ["stun:stun.example.org:3478"]}],
    })


@pytest.fixture
async def running_hub(hub_config):
    parts = HubParts.open(hub_config, clock=FakeClock())
    parts.users.add_user("anna", PASSWORD)
    parts.users.add_user("ben", PASSWORD)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield RunningHub(str(server.make_url("")).rstrip("/"), parts, token, http)
    await server.close()
    parts.db.close()  # on PostgreSQL a connection the server counts (max_connections), not only a file
