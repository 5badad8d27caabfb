"""Group-call links when the two participants' calls start on two hubs at the same moment
(hub/groupcall.py with the bookkeeping in one real Redis): each hub writes its party before it
reads the others, and a link is claimed once by its id, so the two are linked exactly once, never
twice and never not at all."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import timedelta

import pytest

from hub.appointments import BERLIN, AppointmentBook, AppointmentDraft
from hub.config import HubConfig
from hub.groupcall import PEERS, GroupCalls, guest_booth_id
from hub.service import Hub, booth_channel
from hub.state import CallRoute
from hub.state_redis import RedisState
from hub.storage import open_database
from videokiosk.clock import FakeClock

ROUNDS = 20  # racing starts: interleavings vary from round to round


@pytest.fixture
async def two_hubs(redis_server):
    """Two hubs' group calls over one Redis, on one appointment book."""
    clock, db, config = FakeClock(), open_database(":memory:"), HubConfig()
    prefix = f"t{secrets.token_hex(4)}:"
    states = [await RedisState.connect(redis_server.url, prefix) for _ in range(2)]
    book = AppointmentBook(db, clock)
    yield [GroupCalls(Hub(config, state, db, clock), book) for state in states], states, book, clock
    for state in states:
        await state.close()


async def test_two_participants_started_at_once_on_two_hubs_are_linked_exactly_once(two_hubs):
    groups, states, book, clock = two_hubs
    start = clock.now().astimezone(BERLIN) + timedelta(minutes=5)
    _, invitations = book.create(AppointmentDraft(
        starts_local=start.replace(tzinfo=None), language="de", customer_email="k@example.org",
        participants=[{"role": "interpreter", "email": "d@example.org"}]), "anna")
    ends = [guest_booth_id(i.participant.participant_id) for i in invitations]  # both at home
    links: list[dict] = []
    marker = asyncio.Event()

    def heard(text: str) -> None:
        links.append(json.loads(text))
        if links[-1] == {}:
            marker.set()

    for booth_id in ends:
        states[0].subscribe(booth_channel(booth_id), heard)
    await states[0].settle()
    for n in range(ROUNDS):
        links.clear()
        marker.clear()
        calls = [f"c-round{n}-{i}" for i in range(2)]
        for call_id, booth_id, state in zip(calls, ends, states):
            await state.put_route(CallRoute(call_id, booth_id, f"s-{n}-{booth_id}", "anna", "advisor:1"))
        for g, call_id in zip(groups, calls):
            g.call_started(call_id, kind="appointment")  # on each hub at the same moment
        await asyncio.gather(*(task for g in groups for task in list(g._tasks)))
        peers = await states[0].records(PEERS)
        assert len(peers) == 1, (n, peers)
        await states[1].publish(booth_channel(ends[0]), "{}")  # a marker behind any link message in flight
        await asyncio.wait_for(marker.wait(), 10)
        assert len([m for m in links if m.get("type") == "admitted"]) == 1, (n, links)
        for g, call_id in zip(groups, calls):
            g.call_ended(call_id)
        await asyncio.gather(*(task for g in groups for task in list(g._tasks)))
        assert await states[1].records(PEERS) == {}
