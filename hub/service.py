"""The hub's logic: what happens when a booth or an advisor says something.

:class:`Hub` is transport-free: the socket handlers in ``hub/sockets.py`` parse messages with
:func:`rtc.protocol.parse` and call ``booth_*`` / ``advisor_*`` here; everything that goes out is
published on a channel of the :class:`~hub.state.SharedState`. The hub relays the call's
offer/answer/candidates between the two ends of a route without reading them.

Example (no sockets needed)::

    >>> import asyncio
    >>> from hub.config import HubConfig
    >>> from hub.storage import open_database
    >>> from hub.state import InMemoryState
    >>> from videokiosk.clock import SystemClock
    >>> hub = Hub(HubConfig(), InMemoryState(), open_database(":memory:"), SystemClock())
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .storage import Database

from rtc import protocol as p
from videokiosk.clock import Clock
from videokiosk.retention import expiry

from .config import HubConfig
from .db import amend_customer, call_customer, forget_session, link_call, name_call, record_call_fields
from .errors import DATABASE_UNAVAILABLE
from .places import QueuePlaces
from .registry import Booth
from .state import CallRoute, SharedState, booth_channel  # booth_channel: others import it from here
from .turn import turn_ice_servers

log = logging.getLogger(__name__)
ADVISORS = "advisors"


@dataclass
class _BoothLink:
    """What this hub instance knows about a booth connected to it."""

    booth: Booth
    ip: str
    conn_id: int
    faults: list[str] = field(default_factory=list)
    activity: str = "online"  # online | waiting | in_call


# Events whose failure no log line tells: a line at that moment would mark when a survey was
# answered, and after which call (videokiosk/surveypool.py). A lost count goes unsaid, as a
# remainder below five does.
UNLOGGED_EVENTS = frozenset({"survey"})


class Hub:
    def __init__(self, config: HubConfig, state: SharedState, db: Database, clock: Clock,
                 listeners: list[Any] | None = None) -> None:
        self.config = config
        # Statistics and metrics listen here (hub/stats.py, hub/metrics.py): call_started, quality,
        # call_ended, survey, signalling_error. Counted once, on the instance that handled the event.
        self.listeners = list(listeners or [])
        self.state = state
        self._db = db
        self._clock = clock
        self._booths: dict[str, _BoothLink] = {}
        # The routing table for messages other modules handle, declared once by hub/app.py (route()).
        self._booth_first: tuple[Callable[[Booth, p.Message], Awaitable[bool]], ...] = ()
        self.booth_handlers: dict[type[p.Message], Callable[[Booth, Any], Awaitable[p.Error | None]]] = {}
        self.advisor_handlers: dict[type[p.Message], Callable[[str, str, Any], Awaitable[p.Error | None]]] = {}
        self._end_timers: dict[str, asyncio.Task] = {}
        self.places = QueuePlaces(state, config.calls.average_call_s)

    def route(
        self,
        *,
        booth_first: tuple[Callable[[Booth, p.Message], Awaitable[bool]], ...] = (),
        booth: dict[type[p.Message], Callable[[Booth, Any], Awaitable[p.Error | None]]] | None = None,
        advisor: dict[type[p.Message], Callable[[str, str, Any], Awaitable[p.Error | None]]] | None = None,
        listeners: tuple[Any, ...] = (),
    ) -> None:
        """The parts built after the hub (they send through it) and what they handle, in one table.

        ``booth_first`` is asked about every booth message before the hub's own handling (True:
        taken; a group call's peer links); ``booth`` and ``advisor`` handle message classes the
        hub does not (called ``(booth, msg)`` and ``(username, channel, msg)``); ``listeners`` hear
        the hub's events like those given to the constructor.
        """
        self._booth_first = tuple(booth_first)
        self.booth_handlers = dict(booth or {})
        self.advisor_handlers = dict(advisor or {})
        self.listeners.extend(listeners)

    def ice_servers(self) -> list[p.IceServer]:
        """The configured STUN/TURN servers, plus fresh short-lived TURN credentials (hub/turn.py)."""
        servers = list(self.config.ice_servers)
        if self.config.turn is not None:
            servers += turn_ice_servers(self.config.turn, now=self._clock.now().timestamp())
        return servers

    async def _send(self, channel: str, message: p.Message) -> None:
        await self.state.publish(channel, p.encode(message))

    # --- booths -------------------------------------------------------------------------------

    async def booth_connected(self, booth: Booth, ip: str, hello: p.Hello, conn_id: int) -> None:
        """A booth said hello on connection ``conn_id`` (a newer connection replaces an older one)."""
        link = self._booths[booth.booth_id] = _BoothLink(booth, ip, conn_id, list(hello.faults))
        calls = self.config.calls
        await self._send(
            booth_channel(booth.booth_id),
            p.Welcome(booth_id=booth.booth_id, ice_servers=self.ice_servers(), heartbeat_s=calls.heartbeat_s,
                      reconnect_timeout_s=calls.reconnect_timeout_s),
        )
        if hello.call_id:
            route = await self.state.get_route(hello.call_id)
            if route is None or route.booth_id != booth.booth_id:
                await self._send(booth_channel(booth.booth_id), p.CallEnded(call_id=hello.call_id, reason="timeout"))
            else:
                if route.state == "reconnecting":  # an advisor who is gone too keeps the clock running
                    self._cancel_end_timer(route.call_id)
                    await self.state.put_route(route.with_state("active"))
                link.activity = "in_call"
                log.info("call %s: booth rejoined", route.call_id)
                await self._send(route.advisor_channel, p.CallState(call_id=route.call_id, state="resumed"))
        await self._publish_presence(link)

    async def booth_disconnected(self, booth: Booth, conn_id: int, *, grant_ended: bool = False) -> None:
        """``grant_ended``: the connection was closed because its token (a guest's pass) no longer
        holds: its calls end at once instead of waiting for it to come back."""
        link = self._booths.get(booth.booth_id)
        if link is None or link.conn_id != conn_id:
            return  # an old connection of a booth that has already reconnected
        del self._booths[booth.booth_id]
        # Its customers, as this instance tracked them (a thousand booths dropping at once must
        # not each read the whole queue).
        for session_id in self.places.forget_booth(booth.booth_id):
            await self._remove_waiting(session_id, "offline")
        for route in await self.state.routes():
            if route.booth_id == booth.booth_id and grant_ended:
                log.info("call %s: the booth's credential ended, and the call with it", route.call_id)
                await self.end_call(route.call_id, "ended", notify_booth=False)
            elif route.booth_id == booth.booth_id and route.state == "active":
                await self.state.put_route(route.with_state("reconnecting"))
                log.info("call %s: booth lost, waiting %.0f s for it", route.call_id, self.config.calls.reconnect_timeout_s)
                await self._send(route.advisor_channel, p.CallState(call_id=route.call_id, state="reconnecting"))
                self._end_later(route.call_id)
        if link is not None:
            await self._send(ADVISORS, p.BoothStatus(booth=self._info(link, connected=False)))
            await self.state.put_presence(self._info(link, connected=False))

    async def booth_message(self, booth: Booth, msg: p.Message) -> p.Error | None:
        """Handle one validated message from a booth; returns an error reply, if any."""
        for first in self._booth_first:
            if await first(booth, msg):
                return None
        link = self._booths.get(booth.booth_id)
        if link is None:
            return p.Error(code="not_ready", message="send 'hello' first")
        if isinstance(msg, (p.WaitingUpdate, p.LeaveWaiting)):
            # A booth names its session ids itself: never let it touch another booth's customer
            # (`waiting` is checked by the enqueue itself, in the same step).
            other = await self.state.get_waiting(msg.session_id)
            if other is not None and other.booth_id != booth.booth_id:
                return self._not_yours(booth, msg)
        match msg:
            case p.Heartbeat():
                return None
            case p.Status(faults=faults):
                link.faults = list(faults)
                await self._publish_presence(link)
            case p.Waiting():
                entry = p.WaitingEntry(
                    session_id=msg.session_id, booth_id=booth.booth_id, booth_name=booth.name, location=booth.location,
                    since=self._clock.now().isoformat(timespec="seconds"), language=msg.language, kind=msg.kind,
                    name=msg.name, customer_number=msg.customer_number, appointment_at=msg.appointment_at,
                )
                place = await self.state.enqueue(entry)
                if place is None:
                    return self._not_yours(booth, msg)
                await self._send(ADVISORS, p.WaitingAdded(entry=entry))
                # An arrival (or a rejoin, which keeps its place) moves nobody else: only this
                # booth hears its place, and no other hub instance needs to look.
                self.places.arrived(msg.session_id, booth.booth_id, place)
                link.activity = "waiting"
                await self._publish_presence(link)
            case p.WaitingUpdate(session_id=sid):
                changes = {k: getattr(msg, k) for k in p.CUSTOMER_FIELDS if k in msg.model_fields_set}
                entry = await self.state.update_waiting(sid, changes)
                if entry is not None:
                    await self._send(ADVISORS, p.WaitingUpdated(entry=entry))
                elif not await self._amend_call(booth, sid, changes):
                    return p.Error(code="unknown_session", message="no such waiting customer", ref=msg.type)
            case p.LeaveWaiting(session_id=sid, reason="withdraw"):
                await self.withdraw(booth, sid)
                # Only now: a withdrawal the database could not take (unavailable) comes again.
                await self._send(booth_channel(booth.booth_id), p.Withdrawn(session_id=sid))
            case p.LeaveWaiting(session_id=sid, reason=reason):
                entry = await self.state.remove_waiting(sid)
                self.places.forget(sid)
                if entry is not None:
                    await self._send(ADVISORS, p.WaitingRemoved(session_id=sid, reason=reason))
                    await self.places.changed()
                link.activity = "online"
                await self._publish_presence(link)
            case p.Offer() | p.Answer() | p.Candidate():
                route = await self.state.get_route(msg.call_id)
                if route is None or route.booth_id != booth.booth_id:
                    return p.Error(code="unknown_call", message="no such call for this booth", ref=msg.type)
                await self._send(route.advisor_channel, msg)
            case p.Hangup(call_id=call_id, reason=reason):
                route = await self.state.get_route(call_id)
                if route is not None and route.booth_id == booth.booth_id:
                    await self.end_call(call_id, reason, notify_booth=False)
            case p.Quality(call_id=call_id):
                route = await self.state.get_route(call_id)
                if route is None or route.booth_id != booth.booth_id:
                    return p.Error(code="unknown_call", message="no such call for this booth", ref=msg.type)
                await self._send(route.advisor_channel, msg)  # the advisor sees it live
                record_call_fields(self._db, call_id, {"quality": msg.grade, "upload_kbps": msg.send_kbps,
                                                       "download_kbps": msg.recv_kbps}, self._expiry())
                self.emit("quality", call_id=call_id, grade=msg.grade)
            case p.Survey():
                self.emit("survey", location=booth.location, answers=msg.answers())
            case p.CallInfo():
                route = await self.state.get_route(msg.call_id)
                if route is None or route.booth_id != booth.booth_id:
                    return p.Error(code="unknown_call", message="no such call for this booth", ref=msg.type)
                fields = msg.model_dump(exclude={"type", "call_id"})
                record_call_fields(self._db, msg.call_id, fields, self._expiry())
            case _ if type(msg) in self.booth_handlers:
                return await self.booth_handlers[type(msg)](booth, msg)
        return None

    # --- advisors -----------------------------------------------------------------------------

    async def advisor_connected(self, username: str, channel: str) -> None:
        self.emit("advisor_connected")
        await self._send(channel, p.Snapshot(advisor=username, waiting=await self.state.waiting(),
                                             booths=await self.state.presence(), ice_servers=self.ice_servers()))
        # Back after a lost connection (or a reload): the advisor's call is theirs again.
        for route in await self.state.routes():
            if route.advisor == username and route.state == "advisor_lost":
                self._cancel_end_timer(route.call_id)
                await self.state.put_route(replace(route, advisor_channel=channel, state="active"))
                log.info("call %s: advisor rejoined", route.call_id)
                await self._send(channel, p.AdmitResult(session_id=route.session_id, ok=True, call_id=route.call_id,
                                                        ice_servers=self.ice_servers()))
                await self._send(channel, p.CallCustomer(call_id=route.call_id, **call_customer(self._db, route.call_id)))
                await self._send(booth_channel(route.booth_id), p.RestartCall(call_id=route.call_id))

    async def advisor_disconnected(self, channel: str, *, session_ended: bool = False) -> None:
        """The advisor's console on ``channel`` is gone. ``session_ended``: because her session
        ended (removed, password or role changed, logged out elsewhere), not the network."""
        self.emit("advisor_disconnected")
        for route in await self.state.routes():
            if route.advisor_channel != channel:
                continue
            if session_ended:
                # Her browser holds the call's media path: it would go on showing her the customer
                # for the whole grace period below, after she lost the right to see them.
                log.info("call %s: the advisor's session ended, and the call with it", route.call_id)
                await self.end_call(route.call_id, "ended", notify_advisor=False)
            else:
                # The customer keeps the call for a while: the advisor's network may blip, or the page reload.
                await self.state.put_route(route.with_state("advisor_lost"))
                log.info("call %s: advisor lost, waiting %.0f s", route.call_id, self.config.calls.reconnect_timeout_s)
                self._end_later(route.call_id)

    async def advisor_message(self, username: str, channel: str, msg: p.Message) -> p.Error | None:
        match msg:
            case p.Heartbeat():
                return None
            case p.Admit(session_id=sid):
                await self._admit(username, channel, sid)
            case p.Decline(session_id=sid, message=text):
                entry = await self._remove_waiting(sid, "declined")
                if entry is None:
                    return p.Error(code="unknown_session", message="this customer is no longer waiting", ref=msg.type)
                await self._send(booth_channel(entry.booth_id), p.Declined(session_id=sid, message=text))
            case p.Seen(session_id=sid):
                if await self.state.mark_informed(sid):
                    entry = await self.state.get_waiting(sid)
                    if entry is not None:
                        await self._send(booth_channel(entry.booth_id), p.AdvisorInformed(session_id=sid))
            case p.Offer() | p.Answer() | p.Candidate():
                route = await self.state.get_route(msg.call_id)
                if route is None or route.advisor_channel != channel:
                    return p.Error(code="unknown_call", message="no such call for this advisor", ref=msg.type)
                await self._send(booth_channel(route.booth_id), msg)
            case p.Hangup(call_id=call_id, reason=reason):
                route = await self.state.get_route(call_id)
                if route is None or route.advisor_channel != channel:
                    return p.Error(code="unknown_call", message="no such call for this advisor", ref=msg.type)
                await self.end_call(call_id, reason)
            case _ if type(msg) in self.advisor_handlers:
                return await self.advisor_handlers[type(msg)](username, channel, msg)
        return None

    async def _admit(self, username: str, channel: str, session_id: str) -> None:
        call_id = "c-" + secrets.token_urlsafe(12)
        won = await self.state.admit(session_id, call_id, username, channel)
        if won is None:
            taken = any(r.session_id == session_id for r in await self.state.routes())
            await self._send(channel, p.AdmitResult(session_id=session_id, ok=False, reason="taken" if taken else "gone"))
            return
        entry, _route = won
        self.places.forget(session_id)
        waited_s = (self._clock.now() - datetime.fromisoformat(entry.since)).total_seconds()
        # The booth's offer is the critical path to first frames: it goes out before anything else,
        # and the socket writers get to run before the bookkeeping below (SQLite) does.
        await self._send(booth_channel(entry.booth_id), p.Admitted(session_id=session_id, call_id=call_id, ice_servers=self.ice_servers()))
        await self._send(channel, p.AdmitResult(session_id=session_id, ok=True, call_id=call_id, ice_servers=self.ice_servers()))
        await asyncio.sleep(0)
        await self._send(ADVISORS, p.WaitingRemoved(session_id=session_id, reason="admitted"))
        # Never with the session id: a log line pairing the two would tie the booth's log of the
        # session (and its survey) to the call's row.
        log.info("call %s: admitted", call_id)
        self.emit("call_started", call_id=call_id, location=entry.location, kind=entry.kind, waited_s=waited_s)
        link = self._booths.get(entry.booth_id)
        link_call(self._db, call_id, entry.booth_id, session_id, self._expiry())
        customer = name_call(self._db, call_id, {k: getattr(entry, k) for k in p.CUSTOMER_FIELDS}, self._expiry())
        record_call_fields(self._db, call_id, {"ip_address": link.ip if link else None}, self._expiry())
        if await self.state.get_route(call_id) is None:
            # Ended while the messages above went out: a withdrawal that crossed the admit (on
            # this process or, at the same moment, on the one the booth is connected to) found
            # no rows yet, so they go now; the console heard "ended" before "admitted": again.
            forget_session(self._db, entry.booth_id, session_id)
            log.info("call %s: ended as it was admitted, its rows deleted", call_id)
            await self._send(channel, p.CallState(call_id=call_id, state="ended", reason="ended"))
        else:
            await self._send(channel, p.CallCustomer(call_id=call_id, **customer))
            if link is not None:
                link.activity = "in_call"
                await self._publish_presence(link)
        await self.places.changed()

    async def _amend_call(self, booth: Booth, session_id: str, changes: dict) -> bool:
        """Details the customer sent as the advisor admitted them reach the hub after the admit:
        the booth has told the customer they were sent, so they go to the call (its row and the
        advisor's call view) instead of being refused. Only ``booth``'s own session's call."""
        for route in await self._calls_of(booth, session_id):
            now = amend_customer(self._db, route.call_id, changes, self._expiry())
            await self._send(route.advisor_channel, p.CallCustomer(call_id=route.call_id, **now))
            return True
        return False

    async def _calls_of(self, booth: Booth, session_id: str) -> list[CallRoute]:
        """The running calls of ``booth``'s own session (never another booth's, whatever it names)."""
        return [r for r in await self.state.routes() if r.session_id == session_id and r.booth_id == booth.booth_id]

    async def withdraw(self, booth: Booth, session_id: str) -> None:
        """Consent withdrawn (in the waiting room, in the call or after it): the session leaves the
        queue, its call ends, and every row the hub holds about it goes at once, from the disk too.
        Only ``booth``'s own session: another booth (or participant) is never touched."""
        waiting = await self.state.get_waiting(session_id)
        if waiting is not None and waiting.booth_id == booth.booth_id:
            await self._remove_waiting(session_id, "withdraw")
        for route in await self._calls_of(booth, session_id):
            await self.end_call(route.call_id, "ended")
        forget_session(self._db, booth.booth_id, session_id)
        log.info("booth %s: a consent was withdrawn, its rows deleted", booth.booth_id)

    # --- calls ----------------------------------------------------------------------------------

    async def end_call(self, call_id: str, reason: str = "ended", *, notify_booth: bool = True, notify_advisor: bool = True) -> None:
        self._cancel_end_timer(call_id)
        route = await self.state.drop_route(call_id)
        if route is None:
            return
        log.info("call %s: ended (%s)", call_id, reason)
        self.emit("call_ended", call_id=call_id, reason=reason)
        if notify_booth:
            await self._send(booth_channel(route.booth_id), p.CallEnded(call_id=call_id, reason=reason))
        if notify_advisor:
            await self._send(route.advisor_channel, p.CallState(call_id=call_id, state="ended", reason=reason))
        link = self._booths.get(route.booth_id)
        if link is not None:
            link.activity = "online"
            await self._publish_presence(link)

    def _end_later(self, call_id: str) -> None:
        async def wait_then_end() -> None:
            await asyncio.sleep(self.config.calls.reconnect_timeout_s)
            self._end_timers.pop(call_id, None)
            await self.end_call(call_id, "timeout")

        self._cancel_end_timer(call_id)
        self._end_timers[call_id] = asyncio.create_task(wait_then_end())

    def _cancel_end_timer(self, call_id: str) -> None:
        task = self._end_timers.pop(call_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def close(self) -> None:
        await self.places.close()
        for task in self._end_timers.values():
            task.cancel()
        self._end_timers.clear()

    # --- helpers --------------------------------------------------------------------------------

    def emit(self, event: str, **data: Any) -> None:
        """Tell the listeners; a failing listener (a full disk, say) must not break a call."""
        for listener in self.listeners:
            handler = getattr(listener, event, None)
            if handler is not None:
                try:
                    handler(**data)
                except DATABASE_UNAVAILABLE as exc:  # locked, or PostgreSQL away: this count is lost, not the call
                    if event not in UNLOGGED_EVENTS:
                        log.warning("%s listener skipped %s, the hub database is unavailable: %s", type(listener).__name__, event, exc)
                except Exception:
                    if event not in UNLOGGED_EVENTS:
                        log.exception("%s listener failed on %s", type(listener).__name__, event)

    @staticmethod
    def _not_yours(booth: Booth, msg: p.Message) -> p.Error:
        log.warning("booth %s sent %s for another booth's session", booth.booth_id, msg.type)
        return p.Error(code="unknown_session", message="no such waiting customer", ref=msg.type)

    def _expiry(self) -> datetime:
        return expiry(self._clock.now(), self.config.store.retention_days)

    async def _remove_waiting(self, session_id: str, reason: str) -> p.WaitingEntry | None:
        entry = await self.state.remove_waiting(session_id)
        self.places.forget(session_id)
        if entry is not None:
            await self._send(ADVISORS, p.WaitingRemoved(session_id=session_id, reason=reason))
            link = self._booths.get(entry.booth_id)
            if link is not None and link.activity == "waiting":
                link.activity = "online"
                await self._publish_presence(link)
            await self.places.changed()
        return entry

    def _info(self, link: _BoothLink, connected: bool = True) -> p.BoothInfo:
        if not connected:
            state = "offline"
        elif link.activity != "online":
            state = link.activity
        else:
            state = "fault" if link.faults else "online"
        b = link.booth
        return p.BoothInfo(booth_id=b.booth_id, name=b.name, location=b.location, state=state, faults=link.faults)

    async def _publish_presence(self, link: _BoothLink) -> None:
        info = self._info(link)
        await self.state.put_presence(info)
        await self._send(ADVISORS, p.BoothStatus(booth=info))
