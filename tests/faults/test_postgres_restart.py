"""A hub whose PostgreSQL goes away (restarted with ``pg_ctl``, as an administrator or a failover
would) answers a clear 503 while it is down, never a 500 or a stack trace, and serves the next
request once it is back, over a new connection, with everything it had acknowledged."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.storage import open_database
from videokiosk.clock import FakeClock

from .servers import PostgresServer

PASSWORD = "s3cret-pass-12"
DRAFT = {"starts_local": "2026-01-01T09:45", "language": "de", "customer_email": "kunde@example.org",
         "name": "Erika Mustermann", "participants": []}


@pytest.fixture(scope="module")
def own_postgres():
    """A cluster of these tests' own: it is stopped and started under the hub."""
    with PostgresServer() as server:
        yield server


async def test_a_hub_rides_out_a_postgresql_restart(own_postgres, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    config = HubConfig.model_validate({"store": {"database_url": own_postgres.new_database()},
                                       "mail": {"eml_dir": str(tmp_path / "mails")}})
    parts = HubParts.open(config, clock=FakeClock())
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            r = await s.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
            csrf = (await r.json())["csrf"]
            r = await s.post(f"{url}/api/appointments", json=DRAFT, headers={"X-CSRF-Token": csrf})
            assert r.status == 201, await r.text()
            booked = (await r.json())["appointment_id"]

            booth = await s.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"})
            await booth.send_json({"type": "hello"})
            assert (await booth.receive_json(timeout=10))["type"] == "welcome"

            own_postgres.stop_server()
            # A socket message that needs the database (a code typed at the booth): told so, the socket stays.
            await booth.send_json({"type": "appointment_check", "code": "K7M2X9PQ"})
            reply = await booth.receive_json(timeout=10)
            assert (reply["type"], reply["code"]) == ("error", "unavailable"), reply
            await booth.close()
            for method, path, body in (("GET", "/api/appointments", None), ("POST", "/api/appointments", DRAFT),
                                       ("GET", "/api/me", None)):
                r = await s.request(method, f"{url}{path}", json=body, headers={"X-CSRF-Token": csrf})
                assert r.status == 503, (path, await r.text())
                assert (await r.json())["reason"] == "unavailable" and int(r.headers["Retry-After"]) > 0
            async with aiohttp.ClientSession() as stranger:
                r = await stranger.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
                assert r.status == 503 and (await r.json())["error"] == "unavailable"

            own_postgres.start_server()
            # The very next request is served: the dropped connection is replaced before a statement goes out
            # (a refused connect while it was down pauses reconnects for milliseconds only).
            r = await s.get(f"{url}/api/appointments")
            assert r.status == 200, await r.text()
            assert [a["appointment_id"] for a in (await r.json())["appointments"]] == [booked]  # nothing lost
            r = await s.post(f"{url}/api/appointments", json={**DRAFT, "starts_local": "2026-01-01T10:15"},
                             headers={"X-CSRF-Token": csrf})
            assert r.status == 201, await r.text()
    finally:
        await server.close()
        parts.db.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], "a stack trace or an error"
    assert "unavailable" in caplog.text


def test_a_connection_the_server_ended_is_replaced_before_the_next_statement(own_postgres):
    """A restart between two statements, with nothing failing meanwhile (no hub tasks here): the
    ended session is noticed by the server's goodbye on the idle socket, and the statement runs on
    a new connection instead of failing on the old one."""
    db = open_database(own_postgres.new_database())
    db["calls"].insert({"call_id": "c-1", "expires_at": "2026-01-15T00:00:00+00:00"})
    own_postgres.stop_server()
    own_postgres.start_server()
    assert db["calls"].count_where() == 1
    db.close()
