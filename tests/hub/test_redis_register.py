"""What several hubs keep in the shared Redis is what the register of processing declares
(videokiosk/register.py, database "redis"), and a waiting customer's name and number leave Redis
the moment she is admitted: Redis is live state, never a second store beside the purge."""

from __future__ import annotations

import fnmatch
import secrets

from hub.backoff import Backoff
from hub.backoff_redis import RedisFailures
from hub.state import CallRoute
from hub.state_redis import RedisState
from rtc.protocol import BoothInfo, WaitingEntry
from videokiosk.clock import FakeClock
from videokiosk.register import REGISTER

NAME, NUMBER, ADDRESS = "Erika Mustermann", "K-4711-0815", "203.0.113.7"


def declared_families() -> list[str]:
    return [table.name for table in REGISTER if table.database == "redis"]


def everything_in(server, prefix: str) -> dict[str, str]:
    """Every key under ``prefix`` with all it holds, as text."""
    import redis

    client = redis.Redis.from_url(server.url, decode_responses=True)
    found = {}
    for key in client.scan_iter(f"{prefix}*"):
        kind = client.type(key)
        value = {"string": lambda: client.get(key), "hash": lambda: client.hgetall(key),
                 "zset": lambda: client.zrange(key, 0, -1, withscores=True), "set": lambda: client.smembers(key),
                 "list": lambda: client.lrange(key, 0, -1)}[kind]()
        found[key[len(prefix):]] = repr(value)
    client.close()
    return found


async def test_redis_holds_only_declared_families_and_no_name_after_admit(redis_server):
    prefix = f"reg{secrets.token_hex(3)}:"
    state = RedisState.from_url(redis_server.url, prefix)
    await state.start()
    failures = RedisFailures.from_url(redis_server.url, prefix, FakeClock())
    try:
        await state.put_presence(BoothInfo(booth_id="booth-1", name="Halle", location="Halle (Saale)", state="waiting"))
        await state.enqueue(WaitingEntry(session_id="s-0001", booth_id="booth-1", booth_name="Halle", location="X",
                                         since="2026-01-01T08:00:00+00:00", language="de", kind="appointment",
                                         name=NAME, customer_number=NUMBER))
        await state.mark_informed("s-0001")
        Backoff.for_guesses(failures, "appointment").failed(ADDRESS)
        await state.put_record("group:calls", "c-0009", '{"role": "interpreter"}')

        waiting = everything_in(redis_server, prefix)
        families = declared_families()
        undeclared = [key for key in waiting if not any(fnmatch.fnmatchcase(key, f) for f in families)]
        assert undeclared == [], f"Redis holds what the register does not declare: {undeclared}"
        assert [key for key, value in waiting.items() if NAME in value] == ["queue"]  # while she waits
        assert not any(ADDRESS in key or ADDRESS in value for key, value in waiting.items())  # hashed

        admitted = await state.admit("s-0001", "c-0001", "anna", "advisor:1")
        assert admitted is not None and isinstance(admitted[1], CallRoute)
        after = everything_in(redis_server, prefix)
        assert not any(NAME in value or NUMBER in value for value in after.values()), after
    finally:
        failures.close()
        await state.close()
