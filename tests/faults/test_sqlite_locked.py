"""A hub on SQLite whose file another process holds locked longer than the busy timeout (a long
`videokiosk hub copy-database` or purge from the command line, a backup tool): like a PostgreSQL
restart (test_postgres_restart.py), every request that needs the database is told ``unavailable``
(HTTP 503, or the socket's error), never a 500 or a stack trace; a booth's withdrawal is not
confirmed until its rows are gone; and everything works again once the lock is released."""

from __future__ import annotations

import json
import logging
import sqlite3

import aiohttp
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from videokiosk.clock import FakeClock

PASSWORD = "s3cret-pass-12"
SESSION = "s-0001abcd"


async def _next(ws: aiohttp.ClientWebSocketResponse, *kinds: str) -> dict:
    while (msg := json.loads((await ws.receive(timeout=15)).data))["type"] not in kinds:
        pass
    return msg


async def test_a_locked_hub_database_answers_unavailable_and_loses_no_withdrawal(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "hub.db"
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(path)}}), clock=FakeClock())
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    other = sqlite3.connect(path, isolation_level=None)  # another process's connection, as the CLI's
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            r = await s.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
            csrf = (await r.json())["csrf"]
            console = await s.ws_connect(f"{url}/ws/advisor?csrf={csrf}")
            booth = await s.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"})
            await booth.send_json({"type": "hello"})
            await _next(booth, "welcome")
            await booth.send_json({"type": "waiting", "session_id": SESSION, "language": "de", "kind": "walk_in",
                                   "name": "Erika Mustermann"})
            await _next(console, "waiting_added")
            await console.send_json({"type": "admit", "session_id": SESSION})
            await _next(booth, "admitted")
            withdraw = {"type": "leave_waiting", "session_id": SESSION, "reason": "withdraw"}

            other.execute("BEGIN EXCLUSIVE")  # held past the hub's busy timeout
            r = await s.post(f"{url}/api/appointments", headers={"X-CSRF-Token": csrf},
                             json={"starts_local": "2026-01-01T09:45", "customer_email": "kunde@example.org"})
            assert r.status == 503 and (await r.json())["reason"] == "unavailable", await r.text()
            await booth.send_json(withdraw)
            reply = await _next(booth, "withdrawn", "error")
            assert (reply["type"], reply.get("code")) == ("error", "unavailable"), reply
            other.execute("COMMIT")

            await booth.send_json(withdraw)  # the booth sends it again (appliance/hublink.py)
            assert await _next(booth, "withdrawn", "error") == {"type": "withdrawn", "session_id": SESSION}
            assert parts.db["calls"].count == 0 and parts.db["call_sessions"].count == 0
            r = await s.post(f"{url}/api/appointments", headers={"X-CSRF-Token": csrf},
                             json={"starts_local": "2026-01-01T09:45", "customer_email": "kunde@example.org"})
            assert r.status == 201, await r.text()
            for ws in (booth, console):
                await ws.close()
    finally:
        other.close()
        await server.close()
        parts.db.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], "a stack trace or an error"
