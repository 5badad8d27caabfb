"""The shared-state contract, run against both backends: in-process and a real redis-server.

Presence, queue order, exactly-once admit under racing callers (within one instance and across
two instances sharing one Redis), routes, the small shared tables, and messages crossing instances over pub/sub.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hub.state import CallRoute, InMemoryState
from hub.state_redis import RedisState
from rtc.protocol import BoothInfo, WaitingEntry


class Pair:
    """Two instances of one backend that share state (in-process: literally the same object)."""

    def __init__(self, a, b, closers=()) -> None:
        self.a, self.b = a, b
        self._closers = closers

    async def settle(self) -> None:
        for s in (self.a, self.b):
            if hasattr(s, "settle"):
                await s.settle()

    async def close(self) -> None:
        for close in self._closers:
            await close()


@pytest.fixture(params=["memory", "redis"])
async def pair(request):
    if request.param == "memory":
        state = InMemoryState()
        yield Pair(state, state)
        return
    server = request.getfixturevalue("redis_server")
    prefix = f"t{secrets.token_hex(4)}:"  # each test its own key space in the module's Redis
    a = await RedisState.connect(server.url, prefix)
    b = await RedisState.connect(server.url, prefix)
    p = Pair(a, b, (a.close, b.close))
    yield p
    await p.close()


def entry(n: int, booth: str = "booth-1", **extra) -> WaitingEntry:
    return WaitingEntry(session_id=f"s-{n:04d}", booth_id=booth, booth_name="Halle", location="Musterstadt",
                        since="2026-01-01T08:00:00+00:00", language="de", kind="walk_in", **extra)


async def test_presence_is_shared(pair):
    info = BoothInfo(booth_id="booth-1", name="Halle 1", location="X", state="online")
    await pair.a.put_presence(info)
    await pair.a.put_presence(info.model_copy(update={"state": "fault", "faults": ["camera_fault"]}))
    assert (await pair.b.get_presence("booth-1")).faults == ["camera_fault"]
    assert [b.booth_id for b in await pair.b.presence()] == ["booth-1"]
    assert await pair.b.get_presence("nobody") is None


async def test_queue_keeps_arrival_order_through_updates_and_reenqueue(pair):
    for n in (1, 2, 3):
        await pair.a.enqueue(entry(n))
    updated = await pair.b.update_waiting("s-0002", {"name": "Erika", "customer_number": None})
    assert updated.name == "Erika" and updated.customer_number is None
    await pair.b.enqueue(entry(1, state="reconnecting"))  # a booth that comes back keeps its place
    waiting = await pair.a.waiting()
    assert [e.session_id for e in waiting] == ["s-0001", "s-0002", "s-0003"]
    assert waiting[0].state == "reconnecting" and waiting[1].name == "Erika"
    assert (await pair.a.remove_waiting("s-0002")).session_id == "s-0002"
    assert await pair.b.remove_waiting("s-0002") is None
    assert await pair.b.update_waiting("s-0002", {"name": "x"}) is None
    await pair.a.enqueue(entry(4))
    assert [e.session_id for e in await pair.b.waiting()] == ["s-0001", "s-0003", "s-0004"]


async def test_enqueue_tells_the_place_and_refuses_another_booths_session(pair):
    assert [await pair.a.enqueue(entry(n)) for n in (1, 2, 3)] == [1, 2, 3]
    assert await pair.b.enqueue(entry(2, name="Erika")) == 2  # a rejoin keeps its place
    assert await pair.b.enqueue(entry(1, booth="booth-2")) is None  # not that booth's customer
    assert (await pair.a.get_waiting("s-0001")).booth_id == "booth-1"
    assert (await pair.a.get_waiting("s-0002")).name == "Erika" and await pair.b.get_waiting("s-0099") is None
    await pair.a.remove_waiting("s-0001")
    assert await pair.b.waiting_ids() == ["s-0002", "s-0003"]


async def test_advisor_informed_is_said_once_and_only_while_waiting(pair):
    await pair.a.enqueue(entry(1))
    assert await pair.a.mark_informed("s-0001") is True
    assert await pair.b.mark_informed("s-0001") is False
    assert await pair.b.mark_informed("s-0099") is False
    await pair.b.remove_waiting("s-0001")
    await pair.a.enqueue(entry(1))
    assert await pair.a.mark_informed("s-0001") is True  # a new wait, a new announcement


async def test_admit_exactly_once_under_many_racers_on_both_instances(pair):
    await pair.a.enqueue(entry(1, name="Erika"))
    racers = [(pair.a if i % 2 else pair.b).admit("s-0001", f"c-{i:04d}", f"adv{i}", f"advisor:{i}") for i in range(60)]
    results = await asyncio.gather(*racers)
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    won_entry, route = winners[0]
    assert won_entry.name == "Erika" and route.booth_id == "booth-1" and route.state == "active"
    assert await pair.a.waiting() == [] and await pair.b.mark_informed("s-0001") is False
    assert [r.call_id for r in await pair.b.routes()] == [route.call_id]
    assert await pair.a.get_route(route.call_id) == route


async def test_routes_change_state_and_drop_once(pair):
    route = CallRoute("c-0001", "booth-1", "s-0001", "anna", "advisor:1")
    await pair.a.put_route(route)
    await pair.b.put_route(route.with_state("reconnecting"))
    assert (await pair.a.get_route("c-0001")).state == "reconnecting"
    dropped = await asyncio.gather(*(s.drop_route("c-0001") for s in (pair.a, pair.b, pair.a)))
    assert [d is not None for d in dropped].count(True) == 1
    assert await pair.b.get_route("c-0001") is None and await pair.a.routes() == []


async def test_records_are_shared_claimed_once_and_taken_once(pair):
    """The small tables (the group-call bookkeeping): what one instance writes the other reads; a
    key claimed with ``only_new`` by racing instances goes to exactly one; a take returns it once."""
    await pair.a.put_record("t", "k1", "one")
    await pair.b.put_record("t", "k1", "uno")
    assert await pair.a.get_record("t", "k1") == "uno" and await pair.b.get_record("other", "k1") is None
    claims = await asyncio.gather(*((pair.a if i % 2 else pair.b).put_record("t", "k2", f"v{i}", only_new=True)
                                    for i in range(20)))
    assert claims.count(True) == 1
    assert await pair.b.records("t") == {"k1": "uno", "k2": f"v{claims.index(True)}"}
    taken = await asyncio.gather(*(s.take_record("t", "k2") for s in (pair.a, pair.b, pair.a)))
    assert [t is not None for t in taken].count(True) == 1
    assert await pair.a.records("t") == {"k1": "uno"} and await pair.b.take_record("t", "k2") is None


async def test_messages_reach_subscribers_on_every_instance_once(pair):
    got_a: list[str] = []
    got_b: list[str] = []
    arrived = asyncio.Event()

    def on_b(text: str) -> None:
        got_b.append(text)
        if len(got_b) == 3:
            arrived.set()

    unsub_a = pair.a.subscribe("booth:booth-1", got_a.append)
    unsub_b = pair.b.subscribe("booth:booth-1", on_b)
    await pair.settle()
    for text in ("one", "two", "three"):
        await pair.a.publish("booth:booth-1", text)
    await asyncio.wait_for(arrived.wait(), 5)
    assert got_b == ["one", "two", "three"]
    assert got_a == ["one", "two", "three"]  # local delivery, and no second copy from Redis' echo
    unsub_b()
    await pair.settle()
    await pair.b.publish("booth:booth-1", "four")
    await pair.a.publish("advisors", "nobody listens")  # no subscriber: no error
    unsub_a()
    assert got_b == ["one", "two", "three"]


async def test_a_failing_subscriber_does_not_stop_the_others(pair):
    got: list[str] = []

    def broken(text: str) -> None:
        raise RuntimeError("socket gone")

    pair.a.subscribe("advisors", broken)
    pair.a.subscribe("advisors", got.append)
    await pair.a.publish("advisors", "hello")
    assert got == ["hello"]


async def test_unreachable_redis_is_a_clear_error_at_start():
    from hub.errors import HubError

    from tests.faults.servers import free_port

    with pytest.raises(HubError, match="cannot reach the shared-state Redis"):
        await RedisState.connect(f"redis://127.0.0.1:{free_port()}/0", timeout_s=1.0)
