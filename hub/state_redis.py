"""The hub's shared state in Redis, so several hub processes behind one load balancer act as one.

Same methods as :class:`hub.state.InMemoryState` (the :class:`~hub.state.SharedState` protocol).
Keys, all under one ``prefix`` so hubs of different offices can share a Redis:

- ``<p>presence``: hash booth_id -> BoothInfo JSON;
- ``<p>queue``: hash session_id -> WaitingEntry JSON, ``<p>queue:order``: sorted set of
  session ids scored by ``<p>queue:seq`` (arrival order survives updates and re-enqueues);
- ``<p>informed``: set of session ids whose booth was told "advisor informed";
- ``<p>routes``: hash call_id -> CallRoute JSON;
- ``<p>t:<table>``: hash key -> text, one per shared table (:meth:`put_record` ...);
- pub/sub channel ``<p>ch:<name>`` per :meth:`publish` channel.

Every read-modify-write is one Lua script, so Redis runs it atomically: :meth:`admit` takes the
entry off the queue and writes the route in one step, and of any number of racing hubs exactly one
gets it. A message published here reaches this instance's own subscribers at once (no round trip,
and nothing lost while a fresh SUBSCRIBE is still on its way) and the other instances through
Redis; each instance ignores its own echo.

Example::

    state = await RedisState.connect("redis://127.0.0.1:6379/0", prefix="vk:")
    parts = HubParts.open(config, state=state)
    ...
    await state.close()
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict

import redis.asyncio as aioredis

from rtc.protocol import BoothInfo, WaitingEntry

from .errors import HubError
from .state import CallRoute, Handler, deliver_to

log = logging.getLogger(__name__)

# KEYS: queue, order, seq. ARGV: session_id, entry JSON, booth_id. Returns the entry's place
# (from 1); a re-enqueued entry keeps it. 0 for a session id another booth's customer holds.
_ENQUEUE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw and cjson.decode(raw)['booth_id'] ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return redis.call('ZRANK', KEYS[2], ARGV[1]) + 1
"""
# KEYS: queue. ARGV: session_id, changes JSON.
_UPDATE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
local entry = cjson.decode(raw)
for k, v in pairs(cjson.decode(ARGV[2])) do entry[k] = v end
raw = cjson.encode(entry)
redis.call('HSET', KEYS[1], ARGV[1], raw)
return raw
"""
# KEYS: queue, order, informed. ARGV: session_id.
_REMOVE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return raw
"""
# KEYS: queue, order. The entries in arrival order, read in one consistent step.
_WAITING = """
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[1], unpack(ids))
"""
# KEYS: queue, informed. ARGV: session_id. 1 the first time only, and only while still waiting.
_INFORMED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
return redis.call('SADD', KEYS[2], ARGV[1])
"""
# KEYS: queue, order, informed, routes. ARGV: session_id, call_id, advisor, advisor_channel.
# The one atomic admit: whoever runs this first takes the entry; everyone after finds nothing.
_ADMIT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
local entry = cjson.decode(raw)
local route = cjson.encode({call_id = ARGV[2], booth_id = entry['booth_id'], session_id = ARGV[1],
                            advisor = ARGV[3], advisor_channel = ARGV[4], state = 'active'})
redis.call('HSET', KEYS[4], ARGV[2], route)
return {raw, route}
"""
# KEYS: a hash (routes, a shared table). ARGV: field. Get-and-delete, so only one caller ends a
# call or takes a record.
_DROP = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then redis.call('HDEL', KEYS[1], ARGV[1]) end
return raw
"""


def _route(raw: str | bytes) -> CallRoute:
    return CallRoute(**json.loads(raw))


def _entry(raw: str | bytes) -> WaitingEntry:
    return WaitingEntry.model_validate_json(raw)


class RedisState:
    """:class:`~hub.state.SharedState` in Redis. Build with :meth:`connect`; ``close()`` at the end."""

    def __init__(self, client: aioredis.Redis, prefix: str = "vk:", *, url: str = "redis", timeout_s: float = 5.0) -> None:
        self._r = client
        self._url = url
        self._timeout_s = timeout_s
        self._p = prefix
        self._k = {name: prefix + name for name in ("presence", "queue", "queue:order", "queue:seq", "informed", "routes")}
        self._origin = secrets.token_hex(6)  # this instance: its own echoes are dropped
        self._subscribers: dict[str, list[Handler]] = {}
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pending: set[asyncio.Task] = set()
        self._reader: asyncio.Task | None = None
        self._writer: asyncio.Task | None = None
        self._outgoing: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._closed = False
        self._scripts = {name: client.register_script(src) for name, src in (
            ("enqueue", _ENQUEUE), ("update", _UPDATE), ("remove", _REMOVE), ("waiting", _WAITING),
            ("informed", _INFORMED), ("admit", _ADMIT), ("drop", _DROP))}

    @classmethod
    def from_url(cls, url: str, prefix: str = "vk:", timeout_s: float = 5.0, max_connections: int = 32) -> "RedisState":
        """Nothing is connected yet: :meth:`start` does that (the app calls it at startup)."""
        # A bounded pool that makes callers wait for a free connection: a burst of booths
        # connecting at once must queue, not fail with "Too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(url, decode_responses=True, socket_connect_timeout=timeout_s,
                                                        health_check_interval=30, max_connections=max_connections,
                                                        timeout=timeout_s)
        client = aioredis.Redis(connection_pool=pool)
        return cls(client, prefix, url=url, timeout_s=timeout_s)

    @classmethod
    async def connect(cls, url: str, prefix: str = "vk:", timeout_s: float = 5.0) -> "RedisState":
        state = cls.from_url(url, prefix, timeout_s)
        await state.start()
        return state

    async def start(self) -> None:
        """Check that Redis answers (a wrong URL fails here, at start, with a clear message) and
        start reading the other instances' messages."""
        if self._reader is not None:
            return
        try:
            await asyncio.wait_for(self._r.ping(), self._timeout_s)
            # A channel nobody else uses: the reader's connection is subscribed from the start.
            await self._pubsub.subscribe(self._chan("_hub"))
        except (aioredis.RedisError, OSError, asyncio.TimeoutError) as exc:
            raise HubError(f"cannot reach the shared-state Redis at {self._url}: {exc or type(exc).__name__}") from None
        self._reader = asyncio.create_task(self._read(), name="redis-state-reader")
        self._writer = asyncio.create_task(self._write(), name="redis-state-writer")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in (self._reader, self._writer, *self._pending):
            if task is not None:
                task.cancel()
        try:
            await self._pubsub.aclose()
        finally:
            await self._r.aclose()

    # --- presence -------------------------------------------------------------------------------

    async def put_presence(self, booth: BoothInfo) -> None:
        await self._r.hset(self._k["presence"], booth.booth_id, booth.model_dump_json())

    async def presence(self) -> list[BoothInfo]:
        return [BoothInfo.model_validate_json(raw) for raw in (await self._r.hgetall(self._k["presence"])).values()]

    async def get_presence(self, booth_id: str) -> BoothInfo | None:
        raw = await self._r.hget(self._k["presence"], booth_id)
        return None if raw is None else BoothInfo.model_validate_json(raw)

    # --- the waiting room -------------------------------------------------------------------------

    async def enqueue(self, entry: WaitingEntry) -> int | None:
        k = self._k
        place = await self._scripts["enqueue"](keys=[k["queue"], k["queue:order"], k["queue:seq"]],
                                               args=[entry.session_id, entry.model_dump_json(), entry.booth_id])
        return int(place) or None

    async def update_waiting(self, session_id: str, changes: dict) -> WaitingEntry | None:
        raw = await self._scripts["update"](keys=[self._k["queue"]], args=[session_id, json.dumps(changes)])
        return None if raw is None else _entry(raw)

    async def remove_waiting(self, session_id: str) -> WaitingEntry | None:
        k = self._k
        raw = await self._scripts["remove"](keys=[k["queue"], k["queue:order"], k["informed"]], args=[session_id])
        return None if raw is None else _entry(raw)

    async def waiting(self) -> list[WaitingEntry]:
        raws = await self._scripts["waiting"](keys=[self._k["queue"], self._k["queue:order"]])
        return [_entry(raw) for raw in raws if raw]

    async def get_waiting(self, session_id: str) -> WaitingEntry | None:
        raw = await self._r.hget(self._k["queue"], session_id)
        return None if raw is None else _entry(raw)

    async def waiting_ids(self) -> list[str]:
        return await self._r.zrange(self._k["queue:order"], 0, -1)

    async def mark_informed(self, session_id: str) -> bool:
        return bool(await self._scripts["informed"](keys=[self._k["queue"], self._k["informed"]], args=[session_id]))

    async def admit(self, session_id: str, call_id: str, advisor: str, advisor_channel: str) -> tuple[WaitingEntry, CallRoute] | None:
        k = self._k
        won = await self._scripts["admit"](keys=[k["queue"], k["queue:order"], k["informed"], k["routes"]],
                                           args=[session_id, call_id, advisor, advisor_channel])
        if not won:
            return None
        return _entry(won[0]), _route(won[1])

    # --- call routes ------------------------------------------------------------------------------

    async def get_route(self, call_id: str) -> CallRoute | None:
        raw = await self._r.hget(self._k["routes"], call_id)
        return None if raw is None else _route(raw)

    async def put_route(self, route: CallRoute) -> None:
        await self._r.hset(self._k["routes"], route.call_id, json.dumps(asdict(route)))

    async def drop_route(self, call_id: str) -> CallRoute | None:
        raw = await self._scripts["drop"](keys=[self._k["routes"]], args=[call_id])
        return None if raw is None else _route(raw)

    async def routes(self) -> list[CallRoute]:
        return [_route(raw) for raw in (await self._r.hgetall(self._k["routes"])).values()]

    # --- small shared tables ----------------------------------------------------------------------

    def _table(self, table: str) -> str:
        return f"{self._p}t:{table}"

    async def put_record(self, table: str, key: str, value: str, *, only_new: bool = False) -> bool:
        if only_new:
            return bool(await self._r.hsetnx(self._table(table), key, value))
        await self._r.hset(self._table(table), key, value)
        return True

    async def get_record(self, table: str, key: str) -> str | None:
        return await self._r.hget(self._table(table), key)

    async def take_record(self, table: str, key: str) -> str | None:
        return await self._scripts["drop"](keys=[self._table(table)], args=[key])

    async def records(self, table: str) -> dict[str, str]:
        return await self._r.hgetall(self._table(table))

    # --- messages ---------------------------------------------------------------------------------

    def _chan(self, channel: str) -> str:
        return f"{self._p}ch:{channel}"

    async def publish(self, channel: str, text: str) -> None:
        self.deliver(channel, text)
        data = f"{self._origin}|{text}"
        if self._writer is None:  # not started (a bare instance): one round trip per message
            await self._r.publish(self._chan(channel), data)
        else:
            # One writer sends everything in order, in pipelined batches: a hub that tells 1,000
            # waiting booths their new places must not wait 1,000 round trips (pub/sub is
            # at-most-once anyway, so returning before Redis has it promises nothing less).
            self._outgoing.put_nowait((self._chan(channel), data))

    async def _write(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty() and len(batch) < 1000:
                batch.append(self._outgoing.get_nowait())
            try:
                async with self._r.pipeline(transaction=False) as pipe:
                    for channel, data in batch:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except (aioredis.RedisError, OSError) as exc:
                log.warning("shared state: %d messages to other hubs lost (%s)", len(batch), type(exc).__name__)

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        handlers = self._subscribers.setdefault(channel, [])
        handlers.append(handler)
        if len(handlers) == 1:
            self._in_background(self._pubsub.subscribe(self._chan(channel)))

        def unsubscribe() -> None:
            current = self._subscribers.get(channel, [])
            if handler in current:
                current.remove(handler)
            if not current and self._subscribers.pop(channel, None) is not None:
                self._in_background(self._pubsub.unsubscribe(self._chan(channel)))

        return unsubscribe

    async def settle(self) -> None:
        """Until every SUBSCRIBE/UNSUBSCRIBE asked for so far has reached Redis."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _in_background(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def deliver(self, channel: str, text: str) -> None:
        deliver_to(self._subscribers.get(channel, ()), channel, text)

    async def _read(self) -> None:
        prefix = self._chan("")
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (aioredis.RedisError, OSError) as exc:
                log.warning("shared state: pub/sub connection lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(0.5)  # back-off before the client reconnects
                continue
            if message is None or message.get("type") != "message":
                continue
            origin, _, text = message["data"].partition("|")
            if origin != self._origin:
                self.deliver(message["channel"][len(prefix):], text)

