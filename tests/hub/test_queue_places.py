"""Queue places: each booth hears its own place, and only when it changes, across hub instances.

Two :class:`~hub.service.Hub` instances share one state (in-process: the same object; Redis: two
connections to a real redis-server), booths 1 and 2 on instance A, 3 and 4 on instance B. No
sockets: each booth channel is read by a collector, as a booth's socket would be.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from hub.config import HubConfig
from hub.storage import open_database
from hub.registry import Booth
from hub.service import ADVISORS, Hub, booth_channel
from rtc import protocol as p
from tests.hub.test_state_redis import pair  # noqa: F401  (fixture: both backends; redis_server is in conftest)
from videokiosk.clock import SystemClock

PER_CALL_S = 300


class Heard:
    """What each booth channel (and the advisors) received, with a way to wait for a condition."""

    def __init__(self) -> None:
        self.places: dict[str, list[int]] = {}
        self.removed: list[tuple[str, str]] = []
        self._changed = asyncio.Event()

    def booth(self, booth_id: str):
        self.places[booth_id] = []

        def on_text(text: str) -> None:
            msg = p.parse(text, p.HUB_TO_BOOTH)
            if isinstance(msg, p.QueueUpdate):
                assert msg.estimated_wait_s == (msg.position - 1) * PER_CALL_S
                self.places[booth_id].append(msg.position)
                self._changed.set()
        return on_text

    def advisors(self, text: str) -> None:
        msg = p.parse(text, p.HUB_TO_ADVISOR)
        if isinstance(msg, p.WaitingRemoved):
            self.removed.append((msg.session_id, msg.reason))
            self._changed.set()

    async def until(self, condition, timeout: float = 10.0) -> None:
        async def wait() -> None:
            while not condition():
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(wait(), timeout)


@asynccontextmanager
async def two_hubs(pair, per_hub: int = 2):
    """Yields (heard, hubs, booths); the first ``per_hub`` booths are on hub A, the rest on hub B."""
    heard = Heard()
    config = HubConfig.model_validate({"calls": {"average_call_s": PER_CALL_S}})
    hubs = [Hub(config, state, open_database(":memory:"), SystemClock()) for state in (pair.a, pair.b)]
    booths = [Booth(f"booth-{n}", f"Halle {n}", "X") for n in range(1, 2 * per_hub + 1)]
    for n, booth in enumerate(booths):
        state = (pair.a, pair.b)[n // per_hub]
        state.subscribe(booth_channel(booth.booth_id), heard.booth(booth.booth_id))
    pair.a.subscribe(ADVISORS, heard.advisors)
    await pair.settle()  # Redis: every SUBSCRIBE is in place before anything is published
    for n, booth in enumerate(booths):
        await hubs[n // per_hub].booth_connected(booth, "127.0.0.1", p.Hello(), conn_id=n)
    try:
        yield heard, hubs, booths
    finally:
        for hub in hubs:
            await hub.close()


async def test_each_arrival_hears_its_place_and_a_leave_moves_only_those_behind(pair):
    async with two_hubs(pair) as (heard, hubs, booths):
        for n, booth in enumerate(booths):
            await hubs[n // 2].booth_message(booth, p.Waiting(session_id=f"s-{n + 1:04d}", language="de"))
        await heard.until(lambda: all(heard.places[b.booth_id] for b in booths))
        assert heard.places == {"booth-1": [1], "booth-2": [2], "booth-3": [3], "booth-4": [4]}

        # The last one leaves: nobody moves. Then the first: everyone behind moves up one place,
        # on both instances, each told once.
        await hubs[1].booth_message(booths[3], p.LeaveWaiting(session_id="s-0004"))
        await hubs[0].booth_message(booths[0], p.LeaveWaiting(session_id="s-0001"))
        await heard.until(lambda: heard.places["booth-3"][-1] == 2 and heard.places["booth-2"][-1] == 1)
        assert heard.places == {"booth-1": [1], "booth-2": [2, 1], "booth-3": [3, 2], "booth-4": [4]}


async def test_an_admit_on_the_other_instance_moves_the_queue_here(pair):
    async with two_hubs(pair) as (heard, hubs, booths):
        await hubs[1].booth_message(booths[2], p.Waiting(session_id="s-0003", language="de"))
        await hubs[1].booth_message(booths[3], p.Waiting(session_id="s-0004", language="tr"))
        await hubs[0].booth_message(booths[0], p.Waiting(session_id="s-0001", language="de"))
        await heard.until(lambda: heard.places["booth-1"] == [3])
        await hubs[0].advisor_message("anna", "advisor:a1", p.Admit(session_id="s-0003"))  # instance A admits B's booth
        await heard.until(lambda: heard.places["booth-1"][-1] == 2 and heard.places["booth-4"][-1] == 1)
        assert heard.places["booth-3"] == [1]  # admitted: no place after that
        assert heard.places["booth-4"] == [2, 1] and heard.places["booth-1"] == [3, 2]


async def test_a_rejoining_customer_keeps_the_place_and_hears_it_again(pair):
    async with two_hubs(pair) as (heard, hubs, booths):
        for n in (0, 1):
            await hubs[0].booth_message(booths[n], p.Waiting(session_id=f"s-{n + 1:04d}", language="de"))
        await hubs[0].booth_message(booths[0], p.Waiting(session_id="s-0001", language="de", name="Erika"))
        await heard.until(lambda: heard.places["booth-1"] == [1, 1])
        assert heard.places["booth-2"] == [2]


async def test_many_booths_dropping_at_once_leave_an_empty_waiting_room(pair):
    async with two_hubs(pair, per_hub=40) as (heard, hubs, booths):
        for n, booth in enumerate(booths):
            await hubs[n // 40].booth_message(booth, p.Waiting(session_id=f"s-{n + 1:04d}", language="de"))
        await asyncio.gather(*(hubs[n // 40].booth_disconnected(b, conn_id=n) for n, b in enumerate(booths)))
        await heard.until(lambda: len(heard.removed) == len(booths))
        assert {reason for _, reason in heard.removed} == {"offline"}
        assert await pair.a.waiting() == [] and await pair.b.waiting_ids() == []
