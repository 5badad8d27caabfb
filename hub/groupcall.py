"""Small group calls: the participants of one appointment (the customer, an interpreter, a legal
representative ...) see and hear each other, a full mesh of up to four parties.

Each participant is admitted by the advisor like anybody else (their own call with the advisor).
When the advisor admits a second participant of the same appointment, this module also links the
participants to each other (only those whose prior agreement the booking recorded): a *peer
link* with its own call id between the two participants' channels. The newcomer gets ``admitted`` for it (with the other's ``role``) and offers; the earlier
one answers. :meth:`GroupCalls.relay` passes the peer link's offer (stamped with the sender's
``role``), answer and candidates between the two and ends it when either hangs up or either one's
call with the advisor ends.

Who is linked: participants at home (``home-*`` virtual booths, hub/guest.py, known by their
personal link) and a customer at a booth who typed (or showed) the appointment's code there
(:meth:`GroupCalls.appointment_checked`; the booth daemon holds one peer connection per link,
appliance/peerlink.py). Only participants of the *same* appointment are ever linked, so nobody
joins who was not agreed with the customer beforehand; a walk-in call has no appointment and no
links. The role is the only thing the hub passes on about a participant: never a name.

Example::

    >>> GroupCalls.is_guest("home-abc123"), GroupCalls.is_guest("jc-halle-1")
    (True, False)
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import get_args

from rtc import protocol as p

from .appointments import AppointmentBook, AppointmentError
from .service import Hub, booth_channel
from .state import CallRoute

log = logging.getLogger(__name__)
MAX_PARTIES = 4  # the advisor plus three: a full mesh stays small
ROLES = frozenset(get_args(p.Role))


@dataclass(frozen=True)
class _Party:
    """A participant's call with the advisor, with what links it: appointment and role."""

    route: CallRoute
    appointment_id: str
    role: str | None


class GroupCalls:
    """A listener on the hub (``call_started`` / ``call_ended`` / ``appointment_checked``) that
    meshes the participants of one appointment."""

    def __init__(self, hub: Hub, book: AppointmentBook) -> None:
        self._hub = hub
        self._book = book  # whose joining the customer agreed to beforehand
        self._appointment_of: dict[str, str] = {}  # guest booth id -> appointment id (while connected)
        # booth id -> (appointment id, role) of the code last accepted there; for that booth's next
        # appointment call only (a walk-in after it, or the end of that call, forgets it).
        self._checked_at_booth: dict[str, tuple[str, str | None]] = {}
        self._calls: dict[str, _Party] = {}  # advisor call id -> its party
        self._peers: dict[str, tuple[str, str]] = {}  # peer call id -> (booth a, booth b)
        self._tasks: set[asyncio.Task] = set()

    @staticmethod
    def is_guest(booth_id: str) -> bool:
        return booth_id.startswith("home-")

    def guest_joined(self, booth_id: str, appointment_id: str) -> None:
        self._appointment_of[booth_id] = appointment_id

    # --- hub listener ----------------------------------------------------------------------------

    def appointment_checked(self, booth_id: str, appointment_id: str, role: str | None = None, **_: object) -> None:
        """A booth's customer was let in by an appointment's code (hub/appointments_web.py)."""
        if not self.is_guest(booth_id):
            self._checked_at_booth[booth_id] = (appointment_id, role if role in ROLES else None)

    def call_started(self, call_id: str, kind: str | None = None, **_: object) -> None:
        self._spawn(self._link(call_id, kind))

    def call_ended(self, call_id: str, **_: object) -> None:
        self._spawn(self._unlink(call_id))

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _party(self, route: CallRoute, kind: str | None) -> _Party | None:
        """Who this call's participant is in an appointment, or None (a walk-in: never linked)."""
        if self.is_guest(route.booth_id):
            appointment = self._appointment_of.get(route.booth_id)
            if appointment is None:
                return None
            # A participant at home is a virtual booth named after their role (hub/guest.py).
            names = {info.booth_id: info.name for info in await self._hub.state.presence()}
            role = names.get(route.booth_id)
            return _Party(route, appointment, role if role in ROLES else None)
        checked = self._checked_at_booth.pop(route.booth_id, None)
        if checked is None or kind != "appointment":
            return None
        return _Party(route, *checked)

    async def _link(self, call_id: str, kind: str | None) -> None:
        route = await self._hub.state.get_route(call_id)
        if route is None:
            return
        party = await self._party(route, kind)
        if party is None:
            return
        others = [o for o in self._calls.values()
                  if o.route.advisor_channel == route.advisor_channel and o.appointment_id == party.appointment_id
                  and o.route.booth_id != route.booth_id]
        self._calls[call_id] = party
        agreed = self._agreed_roles(party.appointment_id)
        if party.role not in agreed:
            log.warning("call %s: no recorded agreement to this participant, not linked", call_id)
            return
        others = [o for o in others if o.role in agreed]
        for other in others[:MAX_PARTIES - 2]:
            peer_id = "c-" + secrets.token_urlsafe(12)
            self._peers[peer_id] = (other.route.booth_id, route.booth_id)
            log.info("call %s: peer link between two participants of one appointment", peer_id)
            await self._hub.state.publish(booth_channel(route.booth_id), p.encode(p.Admitted(
                session_id=route.session_id, call_id=peer_id, ice_servers=self._hub.ice_servers(route.booth_id),
                role=other.role)))

    def _agreed_roles(self, appointment_id: str) -> set[str]:
        """The customer, and every further participant whose prior agreement is recorded."""
        try:
            people = self._book.get(appointment_id).participants
        except AppointmentError:
            return set()
        return {p.role for p in people if p.role == "customer" or p.agreed_at}

    async def _unlink(self, call_id: str) -> None:
        """A participant's call with the advisor ended: so do their links to the others."""
        party = self._calls.pop(call_id, None)
        if party is None:
            return
        for peer_id, ends in list(self._peers.items()):
            if party.route.booth_id in ends:
                await self._end_peer(peer_id)

    async def _end_peer(self, peer_id: str) -> None:
        # Not Hub.end_call: a peer link is no call of its own for statistics and metrics.
        ends = self._peers.pop(peer_id, None)
        for booth_id in ends or ():
            await self._hub.state.publish(booth_channel(booth_id), p.encode(p.CallEnded(call_id=peer_id)))

    def _role_of(self, booth_id: str) -> str | None:
        return next((party.role for party in self._calls.values() if party.route.booth_id == booth_id), None)

    # --- what a participant sends on a peer link ---------------------------------------------

    async def from_booth(self, booth, msg: p.Message) -> bool:
        """Asked first about every message on /ws/booth (``Hub.route(booth_first=...)``): a peer
        link's is relayed here, and the hub skips it. (Participants at home come through
        hub/guest.py, which asks :meth:`relay` itself.)"""
        return not self.is_guest(booth.booth_id) and await self.relay(booth.booth_id, msg)

    async def relay(self, booth_id: str, msg: p.Message) -> bool:
        """Relay a message on a peer link to its other end; True if it was one (the hub skips it)."""
        call_id = getattr(msg, "call_id", None)
        ends = self._peers.get(call_id) if isinstance(call_id, str) else None
        if ends is None or booth_id not in ends or not isinstance(msg, (p.Offer, p.Answer, p.Candidate, p.Hangup)):
            return False
        if isinstance(msg, p.Hangup):
            await self._end_peer(call_id)
            return True
        if isinstance(msg, p.Offer):  # the hub says who offers, not the sender
            msg = msg.model_copy(update={"role": self._role_of(booth_id)})
        other = ends[0] if ends[1] == booth_id else ends[1]
        await self._hub.state.publish(booth_channel(other), p.encode(msg))
        return True
