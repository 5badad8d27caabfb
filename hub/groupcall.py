"""Small group calls: the participants of one appointment (the customer, an interpreter, a legal
representative ...) see and hear each other, a full mesh of up to four parties.

Each participant is admitted by the advisor like anybody else (their own call with the advisor).
When the advisor admits a second participant of the same appointment, this module also links the
participants to each other (only those whose prior agreement the booking recorded): a *peer
link* with its own call id between the two participants' channels. The newcomer gets ``admitted`` for it (with the other's ``role``) and offers; the earlier
one answers. :meth:`GroupCalls.relay` passes the peer link's offer (stamped with the sender's
``role``), answer and candidates between the two and ends it when either hangs up or either one's
call with the advisor ends.

Who is linked: participants at home (``home-*`` virtual booths, hub/guest.py, named after their
participant id, so their appointment and role come from the appointment book) and a customer at a
booth who typed (or showed) the appointment's code there (:meth:`GroupCalls.appointment_checked`;
the booth daemon holds one peer connection per link, appliance/peerlink.py). Only participants of the *same* appointment are ever linked, so nobody
joins who was not agreed with the customer beforehand; a walk-in call has no appointment and no
links. The role is the only thing the hub passes on about a participant: never a name.

**Several hubs.** The booth, the participant at home and the advisor may each be connected to
another hub. So the bookkeeping lives in the hub's shared state (Redis with several hubs,
hub/state_redis.py), in three small tables: the code last accepted at each booth (written on the
booth's hub before the booth hears "accepted", taken by the advisor's hub at the admit), each
participant's call with the advisor, and each peer link with its two ends (read by whichever hub
a participant's message arrives at). Messages go to a participant's ``booth:`` channel, which
reaches the hub it is connected to. A party is written before the others are read, and a link is
claimed once by its id (derived from the two calls), so two participants admitted at the same
moment on two hubs are linked exactly once.

Example::

    >>> GroupCalls.is_guest("home-abc123"), GroupCalls.is_guest("jc-halle-1")
    (True, False)
    >>> guest_booth_id("p-abc123"), participant_id_of("home-abc123")
    ('home-abc123', 'p-abc123')
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from typing import get_args

from rtc import protocol as p

from .appointments import PARTICIPANT_PREFIX, AppointmentBook, AppointmentError
from .service import Hub, booth_channel
from .state import CallRoute

log = logging.getLogger(__name__)
MAX_PARTIES = 4  # the advisor plus three: a full mesh stays small
ROLES = frozenset(get_args(p.Role))
GUEST_PREFIX = "home-"  # a participant at home: the virtual booth home-<participant id without its prefix>
# The shared tables (hub/state.py): booth id -> [appointment id, role] of the code last accepted
# there; advisor call id -> its party; peer link id -> [booth a, booth b].
CHECKED, CALLS, PEERS = "group:checked", "group:calls", "group:peers"


def guest_booth_id(participant_id: str) -> str:
    return GUEST_PREFIX + participant_id.removeprefix(PARTICIPANT_PREFIX)


def participant_id_of(booth_id: str) -> str:
    return PARTICIPANT_PREFIX + booth_id.removeprefix(GUEST_PREFIX)


def peer_id(call_a: str, call_b: str) -> str:
    """The link's call id, the same whichever hub derives it from the two calls (so it is claimed once)."""
    digest = hashlib.sha256("\n".join(sorted((call_a, call_b))).encode()).digest()
    return "c-" + base64.urlsafe_b64encode(digest[:12]).decode()


@dataclass(frozen=True)
class _Party:
    """A participant's call with the advisor, with what links it: appointment and role."""

    route: CallRoute
    appointment_id: str
    role: str | None

    def to_json(self) -> str:
        return json.dumps({"route": asdict(self.route), "appointment_id": self.appointment_id, "role": self.role})

    @classmethod
    def from_json(cls, raw: str) -> "_Party":
        data = json.loads(raw)
        return cls(CallRoute(**data["route"]), data["appointment_id"], data["role"])


class GroupCalls:
    """A listener on the hub (``call_started`` / ``call_ended``) that meshes the participants of
    one appointment; :meth:`appointment_checked` is awaited by the code check at a booth."""

    def __init__(self, hub: Hub, book: AppointmentBook) -> None:
        self._hub = hub
        self._state = hub.state  # the bookkeeping: shared by every hub of the office
        self._book = book  # whose joining the customer agreed to beforehand
        self._tasks: set[asyncio.Task] = set()

    @staticmethod
    def is_guest(booth_id: str) -> bool:
        return booth_id.startswith(GUEST_PREFIX)

    async def appointment_checked(self, booth_id: str, appointment_id: str, role: str | None = None) -> None:
        """A booth's customer was let in by an appointment's code (hub/appointments_web.py): for
        that booth's next appointment call only (a walk-in after it, or that call, forgets it)."""
        if not self.is_guest(booth_id):
            await self._state.put_record(CHECKED, booth_id, json.dumps([appointment_id, role if role in ROLES else None]))

    # --- hub listener ----------------------------------------------------------------------------

    def call_started(self, call_id: str, kind: str | None = None, **_: object) -> None:
        self._spawn(self._link(call_id, kind))

    def call_ended(self, call_id: str, **_: object) -> None:
        self._spawn(self._unlink(call_id))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _party(self, route: CallRoute, kind: str | None) -> _Party | None:
        """Who this call's participant is in an appointment, or None (a walk-in: never linked)."""
        if self.is_guest(route.booth_id):
            participant = self._book.participant(participant_id_of(route.booth_id))
            if participant is None:
                return None
            return _Party(route, participant.appointment_id, participant.role if participant.role in ROLES else None)
        checked = await self._state.take_record(CHECKED, route.booth_id)
        if checked is None or kind != "appointment":
            return None
        return _Party(route, *json.loads(checked))

    async def _parties(self) -> dict[str, _Party]:
        return {call_id: _Party.from_json(raw) for call_id, raw in (await self._state.records(CALLS)).items()}

    async def _link(self, call_id: str, kind: str | None) -> None:
        route = await self._state.get_route(call_id)
        if route is None:
            return
        party = await self._party(route, kind)
        if party is None:
            return
        # Written before the others are read: of two parties starting at once, at least one sees the other.
        await self._state.put_record(CALLS, call_id, party.to_json())
        agreed = self._agreed_roles(party.appointment_id)
        if party.role not in agreed:
            log.warning("call %s: no recorded agreement to this participant, not linked", call_id)
            return
        others = [(other_id, o) for other_id, o in (await self._parties()).items()
                  if other_id != call_id and o.route.advisor_channel == route.advisor_channel
                  and o.appointment_id == party.appointment_id and o.route.booth_id != route.booth_id
                  and o.role in agreed]
        for other_id, other in others[:MAX_PARTIES - 2]:
            link_id = peer_id(other_id, call_id)
            if not await self._state.put_record(PEERS, link_id, json.dumps([other.route.booth_id, route.booth_id]),
                                                only_new=True):
                continue  # the other's hub linked the two already
            log.info("call %s: peer link between two participants of one appointment", link_id)
            await self._state.publish(booth_channel(route.booth_id), p.encode(p.Admitted(
                session_id=route.session_id, call_id=link_id, ice_servers=self._hub.ice_servers(),
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
        raw = await self._state.take_record(CALLS, call_id)
        if raw is None:
            return
        booth_id = _Party.from_json(raw).route.booth_id
        for link_id, ends in (await self._state.records(PEERS)).items():
            if booth_id in json.loads(ends):
                await self._end_peer(link_id)

    async def _end_peer(self, link_id: str) -> None:
        # Not Hub.end_call: a peer link is no call of its own for statistics and metrics.
        ends = await self._state.take_record(PEERS, link_id)
        for booth_id in json.loads(ends) if ends else ():
            await self._state.publish(booth_channel(booth_id), p.encode(p.CallEnded(call_id=link_id)))

    async def _role_of(self, booth_id: str) -> str | None:
        return next((party.role for party in (await self._parties()).values() if party.route.booth_id == booth_id), None)

    # --- what a participant sends on a peer link ---------------------------------------------

    async def from_booth(self, booth, msg: p.Message) -> bool:
        """Asked first about every message on /ws/booth (``Hub.route(booth_first=...)``): a peer
        link's is relayed here, and the hub skips it. (Participants at home come through
        hub/guest.py, which asks :meth:`relay` itself.)"""
        return not self.is_guest(booth.booth_id) and await self.relay(booth.booth_id, msg)

    async def relay(self, booth_id: str, msg: p.Message) -> bool:
        """Relay a message on a peer link to its other end; True if it was one (the hub skips it)."""
        call_id = getattr(msg, "call_id", None)
        if not isinstance(call_id, str) or not isinstance(msg, (p.Offer, p.Answer, p.Candidate, p.Hangup)):
            return False
        raw = await self._state.get_record(PEERS, call_id)
        ends = json.loads(raw) if raw else None
        if ends is None or booth_id not in ends:
            return False
        if isinstance(msg, p.Hangup):
            await self._end_peer(call_id)
            return True
        if isinstance(msg, p.Offer):  # the hub says who offers, not the sender
            msg = msg.model_copy(update={"role": await self._role_of(booth_id)})
        other = ends[0] if ends[1] == booth_id else ends[1]
        await self._state.publish(booth_channel(other), p.encode(msg))
        return True
