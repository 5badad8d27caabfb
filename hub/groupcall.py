"""Small group calls: extra participants of an appointment (interpreter, legal representative ...)
joining from home, a full mesh of up to four parties.

Each participant is admitted by the advisor like anybody else (their own call with the advisor).
When the advisor admits a second participant of the same appointment, this module also links the
participants to each other: a *peer link* with its own call id between the two guests' channels.
The newcomer gets ``admitted`` for it and offers; the earlier one answers. :meth:`GroupCalls.relay` passes the peer link's offer/answer/candidates
between the two and ends it when either hangs up or either one's call with the advisor ends.

Only participants in their own browsers (``home-*`` virtual booths, hub/guest.py) are linked: the
booth daemon holds exactly one peer connection, so a booth customer talks to the advisor only.

Example::

    >>> GroupCalls.is_guest("home-abc123"), GroupCalls.is_guest("jc-halle-1")
    (True, False)
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from rtc import protocol as p

from .service import Hub, booth_channel
from .state import CallRoute

log = logging.getLogger(__name__)
MAX_PARTIES = 4  # the advisor plus three: a full mesh stays small


class GroupCalls:
    """A listener on the hub (``call_started`` / ``call_ended``) that meshes one appointment's guests."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._appointment_of: dict[str, str] = {}  # guest booth id -> appointment id (while connected)
        self._calls: dict[str, CallRoute] = {}  # advisor call id -> its route (guests only)
        self._peers: dict[str, tuple[str, str]] = {}  # peer call id -> (booth a, booth b)
        self._tasks: set[asyncio.Task] = set()

    @staticmethod
    def is_guest(booth_id: str) -> bool:
        return booth_id.startswith("home-")

    def guest_joined(self, booth_id: str, appointment_id: str) -> None:
        self._appointment_of[booth_id] = appointment_id

    # --- hub listener ----------------------------------------------------------------------------

    def call_started(self, call_id: str, **_: object) -> None:
        self._spawn(self._link(call_id))

    def call_ended(self, call_id: str, **_: object) -> None:
        self._spawn(self._unlink(call_id))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _link(self, call_id: str) -> None:
        route = await self._hub.state.get_route(call_id)
        if route is None or not self.is_guest(route.booth_id) or route.booth_id not in self._appointment_of:
            return
        appointment = self._appointment_of[route.booth_id]
        others = [r for r in self._calls.values()
                  if r.advisor_channel == route.advisor_channel and self._appointment_of.get(r.booth_id) == appointment
                  and r.booth_id != route.booth_id]
        self._calls[call_id] = route
        for other in others[:MAX_PARTIES - 2]:
            peer_id = "c-" + secrets.token_urlsafe(12)
            self._peers[peer_id] = (other.booth_id, route.booth_id)
            log.info("call %s: peer link between two participants of one appointment", peer_id)
            await self._hub.state.publish(booth_channel(route.booth_id), p.encode(
                p.Admitted(session_id=route.session_id, call_id=peer_id, ice_servers=self._hub.ice_servers(route.booth_id))))

    async def _unlink(self, call_id: str) -> None:
        """A participant's call with the advisor ended: so do their links to the others."""
        route = self._calls.pop(call_id, None)
        if route is None:
            return
        for peer_id, ends in list(self._peers.items()):
            if route.booth_id in ends:
                await self._end_peer(peer_id)

    async def _end_peer(self, peer_id: str) -> None:
        # Not Hub.end_call: a peer link is no call of its own for statistics and metrics.
        ends = self._peers.pop(peer_id, None)
        for booth_id in ends or ():
            await self._hub.state.publish(booth_channel(booth_id), p.encode(p.CallEnded(call_id=peer_id)))

    # --- what a guest sends on a peer route ---------------------------------------------------

    async def relay(self, booth_id: str, msg: p.Message) -> bool:
        """Relay a message on a peer link to its other end; True if it was one (the hub skips it)."""
        call_id = getattr(msg, "call_id", None)
        ends = self._peers.get(call_id) if isinstance(call_id, str) else None
        if ends is None or booth_id not in ends or not isinstance(msg, (p.Offer, p.Answer, p.Candidate, p.Hangup)):
            return False
        if isinstance(msg, p.Hangup):
            await self._end_peer(call_id)
        else:
            other = ends[0] if ends[1] == booth_id else ends[1]
            await self._hub.state.publish(booth_channel(other), p.encode(msg))
        return True
