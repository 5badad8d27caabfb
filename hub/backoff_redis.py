"""The back-offs' failures in Redis, shared by every hub of an office (hub/backoff.py).

A guesser behind a load balancer reaches every hub in turn; with each hub counting alone, three
hubs would give three times the tries. Here each key is one Redis hash ``<p>backoff:<name>:<h>``
(``h``: the SHA-256 of the key, so neither client addresses nor user names are stored as such)
with the number of failures and the time of the last, both written by one script. Times are
Redis's own clock (``TIME``), so hubs on machines whose clocks differ still agree how long ago a
failure was. The key expires ``forget_s`` after its last failure, as in memory; Redis's memory
bounds the number of keys (``maxmemory``), not ``max_keys``.

The calls are synchronous, like the hub's database calls: one round trip on the loop per code
check or log-in (a fraction of a millisecond to a Redis nearby), where a password check alone
takes tens of milliseconds. If Redis cannot be reached, each hub counts in its own memory for
``retry_after_s`` before asking Redis again: slower back-offs across hubs for a while, never a
refused log-in because Redis is down, and never a request waiting on a dead Redis each time.

Example::

    failures = RedisFailures.from_url("redis://127.0.0.1:6379/0", "vk:", SystemClock())
    guesses = Backoff.for_guesses(failures, "appointment")
"""

from __future__ import annotations

import hashlib
import logging

import redis

from videokiosk.clock import Clock

from .backoff import FailureTable, MemoryFailures

log = logging.getLogger(__name__)

# Milliseconds by Redis's clock, inside a script (Redis 7 replicates a script's effects, so TIME is allowed).
_NOW = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
# KEYS: the key's hash. ARGV: forget after (ms).
_ADD = _NOW + """
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', now)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
"""
# KEYS: the key's hash. Returns {failures, ms since the last} or nothing.
_GET = _NOW + """
local v = redis.call('HMGET', KEYS[1], 'n', 'last')
if not v[1] then return false end
return {tonumber(v[1]), now - tonumber(v[2])}
"""
# KEYS: the key's hash. One failure less; none left: gone.
_TAKE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HINCRBY', KEYS[1], 'n', -1) <= 0 then
  redis.call('DEL', KEYS[1])
end
"""


class _RedisTable:
    def __init__(self, owner: "RedisFailures", name: str, forget_s: float, local: FailureTable) -> None:
        self._owner = owner
        self._name = name
        self._forget_ms = int(forget_s * 1000)
        self._local = local  # while Redis cannot be reached

    def _key(self, key: str) -> str:
        return self._owner.key(self._name, key)

    def get(self, key: str) -> tuple[int, float] | None:
        def shared() -> tuple[int, float] | None:
            found = self._owner.script("get")(keys=[self._key(key)])
            return None if found is None else (int(found[0]), max(0, int(found[1])) / 1000)

        return self._owner.run(shared, lambda: self._local.get(key))

    def add(self, key: str) -> None:
        self._owner.run(lambda: self._owner.script("add")(keys=[self._key(key)], args=[self._forget_ms]),
                        lambda: self._local.add(key))

    def take_back(self, key: str) -> None:
        self._owner.run(lambda: self._owner.script("take_back")(keys=[self._key(key)]),
                        lambda: self._local.take_back(key))

    def clear(self, key: str) -> None:
        self._owner.run(lambda: self._owner.client.delete(self._key(key)), lambda: self._local.clear(key))


class RedisFailures:
    """:class:`~hub.backoff.Failures` in Redis. ``close()`` at the end."""

    def __init__(self, client: redis.Redis, prefix: str, clock: Clock, *, retry_after_s: float = 5.0) -> None:
        self.client = client
        self._prefix = prefix
        self._clock = clock
        self._local = MemoryFailures(clock)
        self._retry_after_s = retry_after_s
        self._down_since: float | None = None
        self._scripts = {name: client.register_script(src)
                         for name, src in (("add", _ADD), ("get", _GET), ("take_back", _TAKE_BACK))}

    @classmethod
    def from_url(cls, url: str, prefix: str, clock: Clock, timeout_s: float = 0.5) -> "RedisFailures":
        """Nothing is connected yet (the first failure or check does that). ``timeout_s``: how long a
        request may wait on Redis before this hub counts alone for a while."""
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_timeout=timeout_s,
                                        socket_connect_timeout=timeout_s), prefix, clock)

    def table(self, name: str, *, forget_s: float, max_keys: int) -> FailureTable:
        return _RedisTable(self, name, forget_s, self._local.table(name, forget_s=forget_s, max_keys=max_keys))

    def key(self, name: str, key: str) -> str:
        return f"{self._prefix}backoff:{name}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"

    def script(self, name: str):
        return self._scripts[name]

    def run(self, shared, local):
        """``shared()`` against Redis; ``local()`` while Redis is down (and for ``retry_after_s`` after
        it failed, so requests do not each wait for its timeout)."""
        now = self._clock.monotonic()
        if self._down_since is not None and now - self._down_since < self._retry_after_s:
            return local()
        try:
            result = shared()
        except (redis.RedisError, OSError) as exc:
            if self._down_since is None:
                log.warning("back-off: Redis unreachable (%s); each hub counts wrong attempts alone meanwhile",
                            type(exc).__name__)
            self._down_since = now
            return local()
        if self._down_since is not None:
            log.info("back-off: Redis reachable again; wrong attempts are counted across hubs")
            self._down_since = None
        return result

    def close(self) -> None:
        self.client.close()
