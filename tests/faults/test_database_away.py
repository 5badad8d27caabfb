"""The hub's database away for a moment, as a customer withdraws consent in the call: another
process holds the SQLite file locked past the busy timeout (a long `videokiosk hub copy-database`
or purge from the command line, a backup tool), or PostgreSQL restarts. Every request that needs
the database is told ``unavailable`` (HTTP 503, or the socket's error), never a 500 or a stack
trace; the booth's withdrawal is not confirmed (``withdrawn``) until the call's rows are gone, so
the booth sends it again (appliance/hublink.py); and everything works once the database is back.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.db import record_call_fields
from videokiosk.clock import FakeClock

from .hubserver import admitted_over_sockets, next_of, serving_hub
from .servers import PostgresServer

SESSION = "s-0001abcd"
DRAFT = {"starts_local": "2026-01-01T09:45", "customer_email": "kunde@example.org"}


class LockedFile:
    """A SQLite hub database that another connection (another process's, as the CLI's) locks."""

    def __init__(self, path: Path) -> None:
        self.store = {"path": str(path)}
        self._path = path
        self._other: sqlite3.Connection | None = None

    def take_away(self) -> None:
        self._other = sqlite3.connect(self._path, isolation_level=None)
        self._other.execute("BEGIN EXCLUSIVE")  # held past the hub's busy timeout

    def bring_back(self) -> None:
        if self._other is not None:
            self._other.execute("COMMIT")
            self._other.close()
            self._other = None


class StoppedServer:
    """A PostgreSQL hub database whose server stops and starts again (pg_ctl, as a failover)."""

    def __init__(self, cluster: PostgresServer) -> None:
        self.store = {"database_url": cluster.new_database()}
        self._cluster = cluster

    def take_away(self) -> None:
        self._cluster.stop_server()

    def bring_back(self) -> None:
        self._cluster.start_server()


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL cluster of this module's own: it is stopped and started under the hub."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite_locked", "postgresql_stopped"])
def outage(request, tmp_path):
    away = LockedFile(tmp_path / "hub.db") if request.param == "sqlite_locked" else StoppedServer(
        request.getfixturevalue("cluster"))
    yield away
    away.bring_back()


async def test_a_database_away_answers_unavailable_and_loses_no_withdrawal(outage, caplog):
    caplog.set_level(logging.INFO)
    async with serving_hub(outage.store) as hub, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        console, booth = await admitted_over_sockets(http, hub, SESSION)
        csrf = (await (await http.get(f"{hub.url}/api/me")).json())["csrf"]
        withdraw = {"type": "leave_waiting", "session_id": SESSION, "reason": "withdraw"}

        outage.take_away()
        r = await http.post(f"{hub.url}/api/appointments", json=DRAFT, headers={"X-CSRF-Token": csrf})
        assert r.status == 503 and (await r.json())["reason"] == "unavailable", await r.text()
        await booth.send_json(withdraw)
        reply = await next_of(booth, "withdrawn", "error")
        assert (reply["type"], reply.get("code")) == ("error", "unavailable"), reply
        outage.bring_back()
        assert hub.parts.db["calls"].count == 1  # still there: the booth must come again

        await booth.send_json(withdraw)
        assert await next_of(booth, "withdrawn", "error") == {"type": "withdrawn", "session_id": SESSION}
        assert hub.parts.db["calls"].count == 0 and hub.parts.db["call_sessions"].count == 0
        r = await http.post(f"{hub.url}/api/appointments", json=DRAFT, headers={"X-CSRF-Token": csrf})
        assert r.status == 201, await r.text()
        for ws in (booth, console):
            await ws.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], "a stack trace or an error"


class Heard(logging.Handler):
    """An event per phrase, set when a log line with it is written (the test waits on them)."""

    def __init__(self, *phrases: str) -> None:
        super().__init__()
        self.events = {phrase: asyncio.Event() for phrase in phrases}

    def emit(self, record: logging.LogRecord) -> None:
        for phrase, event in self.events.items():
            if phrase in record.getMessage():
                event.set()


async def test_the_hourly_purge_outlives_a_locked_database(tmp_path, caplog):
    """The purge's first round meets the file locked: it is skipped with a warning, and the next
    round deletes what expired. Before, the error ended the purge loop until the hub restarted:
    no more 14-day deletions."""
    outage = LockedFile(tmp_path / "hub.db")
    parts = HubParts.open(HubConfig.model_validate({"store": {**outage.store, "purge_interval_s": 0.1}}),
                          clock=FakeClock())
    record_call_fields(parts.db, "c-expired0001", {"ip_address": "192.0.2.7"}, parts.clock.now() - timedelta(days=1))
    heard = Heard("purge skipped", "purge: deleted")
    caplog.set_level(logging.INFO, logger="hub.app")  # "purge: deleted" is an info line
    logging.getLogger("hub.app").addHandler(heard)
    outage.take_away()
    server = TestServer(make_app(parts), host="127.0.0.1")
    try:
        await server.start_server()  # the purge's first round starts here, on the locked file
        await asyncio.wait_for(heard.events["purge skipped"].wait(), 30)
        outage.bring_back()
        await asyncio.wait_for(heard.events["purge: deleted"].wait(), 30)
        assert parts.db["calls"].count == 0
    finally:
        outage.bring_back()
        logging.getLogger("hub.app").removeHandler(heard)
        await server.close()
        parts.db.close()
