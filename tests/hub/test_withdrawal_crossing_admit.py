"""A customer who withdraws consent as the advisor admits them: the hub keeps nothing, and nobody
waits for a call that is over.

The admit sends its messages (the booth's ``admitted`` first) before it writes the call's rows. A
withdrawal handled in between (by this process, or at the same moment by the hub process the booth
is connected to) ended the call and deleted the session's rows before they were written: the rows
then stayed for 14 days with the customer's name, number and IP address, the advisor's console was
told "ended" before it heard "admitted" and waited for an offer forever, and the booth showed as
in a call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.state import InMemoryState
from videokiosk.clock import FakeClock

from .conftest import PASSWORD, RunningHub, stored_bytes

SESSION = "s-0001abcd"
NAME, NUMBER = "Erika Mustermann", "123A456"


class AdmitCrossedByWithdrawal(InMemoryState):
    """The hub's shared state, with one moment held open: while the admit's first message (the
    booth's ``admitted``) goes out, ``on_admitted`` runs to its end, as a second hub process would
    run the booth's withdrawal at that moment."""

    def __init__(self) -> None:
        super().__init__()
        self.on_admitted: Callable[[], Awaitable[None]] | None = None
        self.booth_told_ended = asyncio.Event()

    async def publish(self, channel: str, text: str) -> None:
        await super().publish(channel, text)
        kind = json.loads(text).get("type") if text.startswith("{") else None  # not every channel carries messages
        if kind == "call_ended":
            self.booth_told_ended.set()
        if kind == "admitted" and self.on_admitted is not None:
            hook, self.on_admitted = self.on_admitted, None
            await hook()


@asynccontextmanager
async def hub_on(hub_config, state):
    parts = HubParts.open(hub_config, clock=FakeClock(), state=state)
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield RunningHub(str(server.make_url("")).rstrip("/"), parts, token, http)
    finally:
        await server.close()
        parts.db.close()


async def test_a_withdrawal_crossing_the_admit_leaves_no_row_and_no_waiting_console(hub_config):
    state = AdmitCrossedByWithdrawal()
    async with hub_on(hub_config, state) as hub:
        anna, booth = await hub.advisor(), await hub.booth()
        await booth.send({"type": "waiting", "session_id": SESSION, "language": "de", "kind": "walk_in",
                          "name": NAME, "customer_number": NUMBER})
        await anna.expect("waiting_added")

        async def withdraw() -> None:
            await booth.send({"type": "leave_waiting", "session_id": SESSION, "reason": "withdraw"})
            await asyncio.wait_for(state.booth_told_ended.wait(), 5)

        state.on_admitted = withdraw
        await anna.send({"type": "admit", "session_id": SESSION})
        call_id = (await anna.expect("admit_result", ok=True))["call_id"]
        # The console hears the end after the start (Socket.expect passes over an earlier one).
        await anna.expect("call_state", call_id=call_id, state="ended")
        assert state.on_admitted is None, "the withdrawal never crossed the admit"
        db = hub.parts.db
        assert db["calls"].count == 0 and db["call_sessions"].count == 0
        stored = stored_bytes(hub_config, db)
        assert NAME.encode() not in stored and NUMBER.encode() not in stored
        assert [b.state for b in await state.presence()] == ["online"]
        for sock in (anna, booth):
            await sock.close()
