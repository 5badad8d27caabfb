"""Hub at scale, and the cost of a dead STUN server: ``python -m bench bench_hub``.

Rows:

- ``hub_connections`` / ``hub_memory_per_connection``: one hub process (in-process state) holding
  booth and advisor WebSockets with heartbeats (aiohttp ping/pong every ``HEARTBEAT_S``);
  memory is the hub's RSS growth over the connections, from /proc of the hub process alone (the
  client sockets live in this bench process and are not counted). The advisors connect after the
  booths, so each console's snapshot carries every booth, as in an office. Target 10,000
  connections in under 1 GiB. If connecting takes longer than the budget, the rows say how many
  were reached and the memory figure is extrapolated to 10,000 (marked in the name).
- ``notify_median`` / ``notify_p99`` (one hub) and ``notify_redis_*`` (booths on hub A, the
  advisor on hub B, shared state in a real redis-server): with 1,000 customers already waiting,
  the time from a booth sending ``waiting`` to the advisor's socket receiving ``waiting_added``.
  Measured at the advisor's WebSocket (the console renders it within a frame of that). Each probe
  customer joins at the back and leaves again from there, which moves nobody else.
- ``notify_churn_*`` (informational): the same, but before each probe the customer at the front
  leaves and comes back at the back, so 999 booths are told a new place between two probes (a
  busy office). Caveat: those 999 booth sockets are read by this same bench process, whose event
  loop then competes with the advisor's socket; real booths are separate machines.

Every row carries ``load_avg`` (1-minute load average when the part finished): the bench machine
is shared (2 cores), and figures taken at a load far above 2 say more about the neighbours.
- ``admit_first_frames_dead_stun``: admit -> first decoded frames both ways (booth daemon with
  aiortc, aiortc advisor) with a STUN server that never answers in the hub's config; baseline:
  the same without it. Target: within 50 ms of the baseline.

Environment: ``VK_BENCH_CONNECTIONS`` (default 10000), ``VK_BENCH_BUDGET_S`` (default 120),
``VK_BENCH_WAITING`` (default 1000), ``VK_BENCH_SAMPLES`` (default 120), ``VK_BENCH_ICE_RUNS`` (5).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

from hub.app import HubParts
from hub.config import HubConfig
from hub.registry import hash_token, new_token
from hub.storage import is_postgres_url

from .parts import run_parts

HEARTBEAT_S = 10.0
ADVISOR_SHARE = 0.9  # thousands of advisors, hundreds of booths: most sockets are consoles
PASSWORD = "bench-password-1"
GiB = 1024 ** 3


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _seed(db: Path | str, booths: int, advisors: int = 1) -> list[str]:
    """Booths straight into the registry in one transaction (10,000 single upserts take minutes);
    ``db``: a SQLite file or a PostgreSQL URL."""
    store = {"database_url": db} if is_postgres_url(db) else {"path": str(db)}
    parts = HubParts.open(HubConfig.model_validate({"store": store}))
    for i in range(advisors):
        parts.users.add_user(f"adv{i}", PASSWORD)
    tokens = [new_token() for _ in range(booths)]
    now = datetime.now(timezone.utc).isoformat()
    with parts.db.transaction():
        for i, t in enumerate(tokens):
            parts.db["booths"].insert({"booth_id": f"bench-{i:05d}", "name": f"Kiosk {i}", "location": "Bench",
                                       "token_hash": hash_token(t), "created_at": now, "revoked": 0})
    parts.db.close()
    return tokens


async def _drain(ws: aiohttp.ClientWebSocketResponse, on_message=None) -> None:
    """Read everything (aiohttp answers the hub's heartbeat pings while reading)."""
    async for frame in ws:
        if frame.type != aiohttp.WSMsgType.TEXT:
            break
        if on_message is not None:
            on_message(frame.data)


class Clients:
    """Many sockets in this process; every socket has a reader task."""

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                          cookie_jar=aiohttp.DummyCookieJar())
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.tasks: list[asyncio.Task] = []

    async def booth(self, url: str, token: str, on_message=None) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"},
                                        max_msg_size=0, autoping=True)
        await ws.send_str('{"type":"hello"}')
        self._keep(ws, on_message)
        return ws

    async def advisor(self, url: str, cookie: str, csrf: str, on_message=None) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(f"{url}/ws/advisor?csrf={csrf}", headers={"Cookie": f"vk_session={cookie}"},
                                        max_msg_size=0, autoping=True)
        self._keep(ws, on_message)
        return ws

    async def log_in(self, url: str, user: str) -> tuple[str, str]:
        async with aiohttp.ClientSession() as s:
            r = await s.post(f"{url}/api/login", json={"username": user, "password": PASSWORD})
            body = await r.json()
            return r.cookies["vk_session"].value, body["csrf"]

    def _keep(self, ws, on_message) -> None:
        self.sockets.append(ws)
        self.tasks.append(asyncio.ensure_future(_drain(ws, on_message)))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        await self.http.close()


async def _in_batches(factories, budget_s: float, batch: int = 100) -> tuple[int, float]:
    started = time.monotonic()
    done = 0
    for i in range(0, len(factories), batch):
        if time.monotonic() - started > budget_s:
            break
        results = await asyncio.gather(*(f() for f in factories[i:i + batch]), return_exceptions=True)
        done += sum(not isinstance(r, BaseException) for r in results)
    return done, time.monotonic() - started


async def connections_bench(tmp: Path) -> list[dict]:
    from tests.faults.hubproc import HubProcess

    wanted = int(_env("VK_BENCH_CONNECTIONS", 10000))
    budget = _env("VK_BENCH_BUDGET_S", 120)
    advisors = int(wanted * ADVISOR_SHARE)
    booths = wanted - advisors
    db = tmp / "conn.db"
    tokens = _seed(db, booths, advisors=10)
    hub = HubProcess(tmp / "conn", db=db, redis_url=None, heartbeat_s=HEARTBEAT_S,
                     max_connections_per_address=100_000).start()  # every client is this process
    clients = Clients()
    try:
        await asyncio.sleep(1.0)  # let the fresh process settle before the "before" reading
        before = hub.rss_bytes()
        logins = [await clients.log_in(hub.url, f"adv{i}") for i in range(10)]
        n_booths, t1 = await _in_batches([lambda t=t: clients.booth(hub.url, t) for t in tokens], budget / 2)
        n_adv, t2 = await _in_batches([lambda k=k: clients.advisor(hub.url, *logins[k % 10]) for k in range(advisors)],
                                      budget - t1)
        await asyncio.sleep(HEARTBEAT_S * 1.5)  # hold them through a heartbeat round: all must still be open
        alive = sum(not ws.closed for ws in clients.sockets)
        after = hub.rss_bytes()
    finally:
        await clients.close()
        hub.stop()
    per = (after - before) / max(alive, 1)
    reached_all = alive >= wanted
    projected = per * 10_000 + before
    return [
        {"name": f"hub_connections ({n_booths} booths + {n_adv} advisors, {t1 + t2:.0f} s to connect)", "value": alive,
         "unit": "sockets", "baseline": wanted, "ratio": alive / wanted, "target": ">= 10000 held", "ok": reached_all},
        {"name": "hub_memory_per_connection", "value": per / 1024, "unit": "KiB", "baseline": None, "ratio": None,
         "target": "< 105 KiB (1 GiB / 10,000)", "ok": per * 10_000 < GiB},
        {"name": "hub_rss_at_10000" + ("" if reached_all else " (extrapolated)"), "value": projected / 2**20, "unit": "MiB",
         "baseline": before / 2**20, "ratio": projected / before, "target": "< 1024 MiB", "ok": projected < GiB},
    ]


async def notification_bench(tmp: Path, redis_url: str | None, churn: bool = False, database: str | None = None,
                             hubs: int = 2) -> list[dict]:
    """``database``: a PostgreSQL URL or SQLite file the hubs share (default: a SQLite file of its
    own); with Redis, ``hubs`` processes: the booths on all but the last, the advisor on the last."""
    from tests.faults.hubproc import HubProcess

    waiting = int(_env("VK_BENCH_WAITING", 1000))
    samples = int(_env("VK_BENCH_SAMPLES", 120))
    tag = ("redis" if redis_url else "one") + ("-churn" if churn else "") + (f"-{hubs}" if redis_url else "")
    tag += "-pg" if database and is_postgres_url(database) else ""
    db = database or tmp / f"notify-{tag}.db"
    tokens = _seed(db, waiting + 1)
    processes = [HubProcess(tmp / f"notify-{tag}-{n}", db=db, redis_url=redis_url, heartbeat_s=HEARTBEAT_S,
                            prefix=f"b{tag}:", max_connections_per_address=100_000).start()
                 for n in ("abcdefgh"[:hubs] if redis_url else "a")]
    booth_hubs, advisor_hub = processes[:-1] or processes, processes[-1]
    clients = Clients()
    seen: dict[str, float] = {}
    arrived = asyncio.Event()

    def on_advisor(text: str) -> None:
        if '"waiting_added"' in text:
            seen[json.loads(text)["entry"]["session_id"]] = time.perf_counter()
            arrived.set()

    async def until_seen(count: int) -> None:
        while len(seen) < count:
            arrived.clear()
            await arrived.wait()

    try:
        cookie, csrf = await clients.log_in(advisor_hub.url, "adv0")
        await clients.advisor(advisor_hub.url, cookie, csrf, on_advisor)
        sockets = []
        for i in range(0, waiting + 1, 100):
            sockets += await asyncio.gather(*(clients.booth(booth_hubs[(i // 100) % len(booth_hubs)].url, t)
                                              for t in tokens[i:i + 100]))
        # Customers arrive a few at a time, as in a real office. (All 1,000 in one burst make the
        # hub close sockets as "slow": each arrival sends every waiting booth its new place.)
        for i, ws in enumerate(sockets[:waiting]):
            await ws.send_str(json.dumps({"type": "waiting", "session_id": f"s-fill-{i:05d}", "language": "de"}))
            await asyncio.wait_for(until_seen(i + 1 - 10), 60)
        await asyncio.wait_for(until_seen(waiting), 60)
        probe = sockets[waiting]
        latencies = []
        current = [f"s-fill-{i:05d}" for i in range(waiting)]  # each filler's session, front first
        for k in range(samples):
            if churn:  # the customer at the front leaves and a new one comes in at the back
                front = k % waiting
                await sockets[front].send_str(json.dumps({"type": "leave_waiting", "session_id": current[front]}))
                current[front] = f"s-again-{k:05d}"
                await sockets[front].send_str(json.dumps({"type": "waiting", "session_id": current[front], "language": "de"}))
            sid = f"s-probe-{k:05d}"
            sent = time.perf_counter()
            await probe.send_str(json.dumps({"type": "waiting", "session_id": sid, "language": "de"}))
            while sid not in seen:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 30)
            latencies.append((seen[sid] - sent) * 1000)
            await probe.send_str(json.dumps({"type": "leave_waiting", "session_id": sid}))
    finally:
        await clients.close()
        for hub in processes:
            hub.stop()
    latencies.sort()
    median = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    prefix = ("notify_churn" if churn else "notify") + ("_redis" if redis_url else "")
    where = "one hub" if not redis_url else (
        f"booths on hub{'s' if len(booth_hubs) > 1 else ''} {'+'.join('ABCDEFGH'[:len(booth_hubs)])}, advisor on hub {'ABCDEFGH'[len(processes) - 1]}, Redis")
    target, ok = ("informational", lambda v: None) if churn else ("< 50 ms", lambda v: v < 50)
    return [
        {"name": f"{prefix}_median ({waiting} waiting, {where})", "value": median, "unit": "ms", "baseline": None,
         "ratio": None, "target": target, "ok": ok(median)},
        {"name": f"{prefix}_p99 ({waiting} waiting, {where}, n={len(latencies)})", "value": p99, "unit": "ms",
         "baseline": None, "ratio": None, "target": target, "ok": ok(p99)},
    ]


async def _admit_once(hub_url: str, parts, booth, advisor) -> float:
    """One customer from the waiting room to first frames both ways; returns ms after the admit."""
    from tests.appliance.helpers import until
    from tests.faults.booth import into_waiting_room

    session_id = await into_waiting_room(booth)
    while (await advisor.next_waiting(30))["session_id"] != session_id:
        pass
    frames_before = advisor.frames
    advisor.first_frame_at = None
    admitted = time.time()
    await advisor.admit(session_id)
    await until(booth.session, lambda s: s["state"] == "call", 30)
    stats = booth.session.calls.stats
    await asyncio.wait_for(stats.first_frame.wait(), 30)
    while advisor.frames <= frames_before:
        advisor.frame_arrived.clear()
        await asyncio.wait_for(advisor.frame_arrived.wait(), 30)
    both = max(stats.first_remote_frame_at, advisor.first_frame_at)
    await advisor.hang_up()
    await until(booth.session, lambda s: s["state"] == "survey", 30)
    await booth.session.handle("cancel")
    return (both - admitted) * 1000


async def ice_bench(tmp: Path) -> list[dict]:
    from aiohttp.test_utils import TestServer

    from hub.app import make_app
    from tests.faults.advisor import AdvisorPeer
    from tests.faults.booth import start_booth

    runs = int(_env("VK_BENCH_ICE_RUNS", 5))
    blackhole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blackhole.bind(("127.0.0.1", 0))
    figures: dict[str, list[float]] = {}
    try:
        for label, servers in (("none", []), ("dead", [{"urls": [f"stun:127.0.0.1:{blackhole.getsockname()[1]}"]}])):
            parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp / f"ice-{label}.db")},
                                                            "ice_servers": servers}))
            parts.users.add_user("anna", PASSWORD)
            token = parts.registry.create_booth("booth-1", "Kiosk 1", "Bench")
            server = TestServer(make_app(parts), host="127.0.0.1")
            await server.start_server()
            url = str(server.make_url("")).rstrip("/")
            advisor = await AdvisorPeer.log_in(url, "anna", PASSWORD, ice_servers=[])  # a browser trickles
            booth = await start_booth(url, token, tmp / f"ice-{label}")
            try:
                figures[label] = [await _admit_once(url, parts, booth, advisor) for _ in range(runs)]
                if label == "dead":  # once, for scale: what aiortc alone would have cost
                    booth.session.calls._ice = None
                    figures["unprobed"] = [await _admit_once(url, parts, booth, advisor)]
            finally:
                await booth.stop()
                await advisor.close()
                await server.close()
    finally:
        blackhole.close()
    base, dead = statistics.median(figures["none"]), statistics.median(figures["dead"])
    return [
        {"name": f"admit_first_frames_dead_stun (median of {runs})", "value": dead, "unit": "ms", "baseline": base,
         "ratio": dead / base, "target": "<= baseline + 50 ms", "ok": dead <= base + 50},
        {"name": "admit_first_frames_dead_stun_unprobed (aiortc alone, 1 run)", "value": figures["unprobed"][0],
         "unit": "ms", "baseline": base, "ratio": figures["unprobed"][0] / base, "target": "informational", "ok": None},
    ]


async def _run() -> list[dict]:
    from tests.faults.servers import RedisServer

    _raise_fd_limit()
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as name:
        tmp = Path(name)

        async def on_redis() -> list[dict]:  # both Redis figures against one redis-server
            with RedisServer(tmp) as redis:
                return await notification_bench(tmp, redis.url) + await notification_bench(tmp, redis.url, churn=True)

        return await run_parts("bench_hub", (lambda: ice_bench(tmp), lambda: notification_bench(tmp, None), on_redis,
                                             lambda: notification_bench(tmp, None, churn=True),
                                             lambda: connections_bench(tmp)))


def run() -> list[dict]:
    return asyncio.run(_run())


if __name__ == "__main__":
    for row in run():
        print(row)
