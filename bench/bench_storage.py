"""The hub's durable state on PostgreSQL beside SQLite: ``python -m bench bench_storage``.

Each row's value is PostgreSQL (a throwaway cluster started here, on loopback, fsync off as in
the tests: the figures are the hub's and the protocol's, not a disk's), its baseline SQLite (the
hub's WAL file) measured in the same run; ratio = PostgreSQL / SQLite.

- ``booking``: ``POST /api/appointments`` through a hub (in-process), a customer and an
  interpreter, the invitations composed into the outbox; median over ``VK_BENCH_BOOKINGS``.
- ``admit``: a waiting booth admitted by an advisor over the sockets, from the advisor's ``admit``
  to the booth's ``admitted`` (the hub records the call's link and the statistics on that path);
  median over ``VK_BENCH_ADMITS``.
- ``purge``: ``VK_BENCH_PURGE_ROWS`` (1,000,000) expired call rows deleted by the hub's purge,
  SQLite's secure-delete checkpoint included. The rows go in by bulk (one ``executemany`` on
  SQLite, ``COPY`` on PostgreSQL; the load times are in the row's name). PostgreSQL's ``VACUUM``
  afterwards is its own row (docs/scale-out.md, "Deleting"): the bytes leave the table file there.
- ``notify_3hubs``: the notify p99 of bench_hub.py with 1,000 waiting across three hub processes
  (booths on hubs A and B, the advisor on hub C, Redis) on PostgreSQL; baseline the same three
  hubs on one SQLite file.

Every row carries ``load_avg`` (the bench machine is shared).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.db import purge
from hub.storage import Database, is_postgres_url, open_database

from .bench_hub import PASSWORD, notification_bench
from .parts import run_parts

BACKENDS = ("sqlite", "postgres")
DRAFT = {"starts_local": "2026-06-01T10:30", "language": "de", "customer_email": "kunde@example.org",
         "name": "Erika Mustermann", "participants": [{"role": "interpreter", "email": "dolmetsch@example.org"}]}


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _store(target: str) -> dict:
    return {"database_url": target} if is_postgres_url(target) else {"path": target}


class _Hub:
    """One hub in this process on ``target``, with an advisor logged in and one booth."""

    def __init__(self, target: str, tmp: Path) -> None:
        config = HubConfig.model_validate({"store": _store(target), "mail": {"eml_dir": str(tmp / "mails")}})
        self.parts = HubParts.open(config)
        self.parts.users.add_user("anna", PASSWORD)
        self.token = self.parts.registry.create_booth("bench-1", "Kiosk 1", "Bench")
        self.server = TestServer(make_app(self.parts), host="127.0.0.1")

    async def __aenter__(self) -> "_Hub":
        await self.server.start_server()
        self.url = str(self.server.make_url("")).rstrip("/")
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        r = await self.http.post(f"{self.url}/api/login", json={"username": "anna", "password": PASSWORD})
        self.csrf = (await r.json())["csrf"]
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()
        await self.server.close()
        self.parts.db.close()


async def _expect(ws: aiohttp.ClientWebSocketResponse, type_: str) -> dict:
    while True:
        msg = await ws.receive_json(timeout=30)
        if msg["type"] == type_:
            return msg


async def booking_and_admit(target: str, tmp: Path) -> dict[str, float]:
    """Median ms of a booking and of an admit on ``target``."""
    bookings, admits = _env("VK_BENCH_BOOKINGS", 50), _env("VK_BENCH_ADMITS", 50)
    async with _Hub(target, tmp) as hub:
        took = []
        for k in range(bookings):
            started = time.perf_counter()
            r = await hub.http.post(f"{hub.url}/api/appointments", headers={"X-CSRF-Token": hub.csrf},
                                    json={**DRAFT, "starts_local": f"2026-06-{1 + k % 28:02d}T{8 + k % 9:02d}:30"})
            took.append((time.perf_counter() - started) * 1000)
            assert r.status == 201, await r.text()
        booking = statistics.median(took)
        advisor = await hub.http.ws_connect(f"{hub.url}/ws/advisor?csrf={hub.csrf}")
        async with aiohttp.ClientSession() as plain:
            booth = await plain.ws_connect(f"{hub.url}/ws/booth", headers={"Authorization": f"Bearer {hub.token}"})
            await booth.send_json({"type": "hello"})
            await _expect(booth, "welcome")
            took = []
            for k in range(admits):
                sid = f"s-{k:04d}benc"
                await booth.send_json({"type": "waiting", "session_id": sid, "language": "de", "kind": "walk_in"})
                await _expect(advisor, "waiting_added")
                started = time.perf_counter()
                await advisor.send_json({"type": "admit", "session_id": sid})
                call_id = (await _expect(booth, "admitted"))["call_id"]
                took.append((time.perf_counter() - started) * 1000)
                await advisor.send_json({"type": "hangup", "call_id": call_id})
                await _expect(booth, "call_ended")
            await booth.close()
        await advisor.close()
    return {"booking": booking, "admit": statistics.median(took)}


def _bulk_expired(db: Database, rows: int, now: datetime) -> None:
    """``rows`` expired call rows in one go: COPY on PostgreSQL, one executemany on SQLite."""
    expired = (now - timedelta(days=1)).isoformat()
    if db.dialect == "postgres":
        with db.transaction(), db.conn.cursor().copy("COPY calls (call_id, expires_at, quality) FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row((f"c-{i:08d}", expired, "good"))
    else:
        with db.transaction():
            db.conn.executemany("INSERT INTO calls (call_id, expires_at, quality) VALUES (?, ?, ?)",
                                ((f"c-{i:08d}", expired, "good") for i in range(rows)))


def purge_run(target: str) -> dict[str, float]:
    """Seconds to load and to purge the expired rows on ``target`` (and to vacuum, on PostgreSQL)."""
    rows, now = _env("VK_BENCH_PURGE_ROWS", 1_000_000), datetime.now(timezone.utc)
    db = open_database(target)
    started = time.perf_counter()
    _bulk_expired(db, rows, now)
    loaded = time.perf_counter()
    gone = purge(db, now)
    purged = time.perf_counter()
    assert gone == rows, (gone, rows)
    figures = {"load_s": loaded - started, "purge_s": purged - loaded}
    if db.dialect == "postgres":
        db.execute("VACUUM calls")
        figures["vacuum_s"] = time.perf_counter() - purged
    db.close()
    return figures


def _row(name: str, value: float, unit: str, baseline: float | None, target: str = "informational") -> dict:
    return {"name": name, "value": value, "unit": unit, "baseline": baseline,
            "ratio": value / baseline if baseline else None, "target": target, "ok": None}


async def _run() -> list[dict]:
    from tests.faults.servers import PostgresServer, RedisServer

    with tempfile.TemporaryDirectory(prefix="bench-storage-") as name, PostgresServer() as pg:
        tmp = Path(name)
        targets = {"sqlite": lambda label: str(tmp / f"{label}.db"), "postgres": lambda label: pg.new_database()}

        async def hub_figures() -> list[dict]:
            by = {b: await booking_and_admit(targets[b](f"hub-{b}"), tmp / b) for b in BACKENDS}
            return [_row(f"storage_{what} (PostgreSQL; baseline SQLite, median of "
                         f"{_env('VK_BENCH_BOOKINGS' if what == 'booking' else 'VK_BENCH_ADMITS', 50)})",
                         by["postgres"][what], "ms", by["sqlite"][what]) for what in ("booking", "admit")]

        async def purge_figures() -> list[dict]:
            by = {b: purge_run(targets[b](f"purge-{b}")) for b in BACKENDS}
            n = _env("VK_BENCH_PURGE_ROWS", 1_000_000)
            return [_row(f"storage_purge_{n}_expired (PostgreSQL; baseline SQLite; loaded in "
                         f"{by['postgres']['load_s']:.0f} s by COPY / {by['sqlite']['load_s']:.0f} s by executemany)",
                         by["postgres"]["purge_s"], "s", by["sqlite"]["purge_s"]),
                    _row("storage_vacuum_after_purge (PostgreSQL; baseline its purge)", by["postgres"]["vacuum_s"], "s",
                         by["postgres"]["purge_s"])]

        async def notify_figures() -> list[dict]:
            by = {}
            with RedisServer(tmp) as redis:
                for b in BACKENDS:
                    by[b] = await notification_bench(tmp, redis.url, database=targets[b](f"notify-{b}"), hubs=3)
            return [{**pg_row, "name": pg_row["name"].replace("notify_redis", "storage_notify_3hubs") + " (PostgreSQL; "
                     "baseline SQLite)", "baseline": sq_row["value"], "ratio": pg_row["value"] / sq_row["value"]}
                    for pg_row, sq_row in zip(by["postgres"], by["sqlite"])]

        return await run_parts("bench_storage", (hub_figures, purge_figures, notify_figures))


def run() -> list[dict]:
    return asyncio.run(_run())


if __name__ == "__main__":
    for row in run():
        print(row)
