"""The booth's one outbound WebSocket to the hub (booths sit behind NAT: the hub never connects in).

:class:`HubConnection` implements :class:`~appliance.hublink_base.HubLink` for the session and
carries the call's signalling for :class:`~appliance.call.BoothCall`. It authenticates with the
booth's device token, verifies the hub's certificate against the CA from enrolment, sends
heartbeats, and reconnects with back-off. Every message from the hub is validated with
:func:`rtc.protocol.parse`; a bad one is logged and dropped, never fatal.

Example::

    link = HubConnection("https://hub.example.org", token, ca_file=Path("/etc/videokiosk/hub-ca.pem"))
    session = Session(hub=link, calls=BoothCall(link, camera, microphone, speaker))
    link.attach(session.handle)
    await link.start()          # runs until close(), reconnecting as needed

The booth's composition root (appliance/daemon.py) builds it and registers who hears what.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from rtc import protocol as p
from rtc.errors import ProtocolError

from .errors import StoreError

log = logging.getLogger("videokiosk.hublink")
BACKOFF_S = (0.2, 10.0)  # first and longest wait between reconnect attempts

EventSink = Callable[..., Awaitable[Any]]
CallListener = Callable[[p.Message], Awaitable[None]]


def hub_socket_url(base: str) -> str:
    """``http(s)://host[:port][/prefix]`` -> ``ws(s)://host[:port][/prefix]/ws/booth``."""
    scheme, rest = base.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest.rstrip('/')}/ws/booth"


def tls_for(ca_file: Path | None) -> ssl.SSLContext | bool:
    """Trust exactly the CA this booth got at enrolment; without one, the system's CAs."""
    if ca_file is None:
        return True
    return ssl.create_default_context(cafile=str(ca_file))


class WithdrawalOutbox(Protocol):
    """Withdrawals the hub has not had yet. The booth's store keeps them on its disk
    (:class:`appliance.store.BoothStore`), so that a restart does not lose one made offline."""

    def add_withdrawal(self, session_id: str) -> None: ...
    def pending_withdrawals(self) -> list[str]: ...
    def withdrawal_delivered(self, session_id: str) -> None: ...


class MemoryWithdrawals:
    """The outbox of a link built without a store (tools, tests): a restart empties it."""

    def __init__(self) -> None:
        self._ids: list[str] = []

    def add_withdrawal(self, session_id: str) -> None:
        if session_id not in self._ids:
            self._ids.append(session_id)

    def pending_withdrawals(self) -> list[str]:
        return list(self._ids)

    def withdrawal_delivered(self, session_id: str) -> None:
        if session_id in self._ids:
            self._ids.remove(session_id)


class HubConnection:
    """One booth's link to the hub. ``faults()`` names the current hardware faults (for ``hello``)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        ca_file: Path | None = None,
        faults: Callable[[], list[str]] = list,
        backoff_s: tuple[float, float] = BACKOFF_S,
        when_changed: Callable[[bool], None] | None = None,
        withdrawals: WithdrawalOutbox | None = None,
    ) -> None:
        self._url = hub_socket_url(url)
        self._token = token
        self._ssl = tls_for(ca_file)
        self._faults = faults
        self.backoff_s = backoff_s
        self._events: EventSink | None = None
        self._call_listener: CallListener | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task | None = None
        self._call_timer: asyncio.Task | None = None
        self._ticket: p.Waiting | None = None  # re-sent after a reconnect: the hub forgets on disconnect
        # The session the hub knows (kept past the admit: a withdrawal in the call or the survey
        # must still reach the hub), and withdrawals the hub has not confirmed (sent until it does).
        self._session_id: str | None = None
        self._withdrawals = withdrawals if withdrawals is not None else MemoryWithdrawals()
        self.call_id: str | None = None
        self.ice_servers: list[p.IceServer] = []
        self.reconnect_timeout_s = 60.0
        self.heartbeat_s = 10.0
        self.connected = asyncio.Event()
        #: Called with True/False when the link comes up or goes down (the kiosk can say so).
        self.when_changed = when_changed
        #: Hub messages handled elsewhere, by message class (chat, screen_share, waiting_note: appliance/chat.py).
        self.handlers: dict[type[p.Message], Callable[[Any], Awaitable[None]]] = {}
        #: Asked first about every hub message; True: it concerned a link to another participant
        #: of the appointment, not this booth's call (appliance/peerlink.py).
        self._peer_router: Callable[[p.Message], Awaitable[bool]] | None = None

    # --- wiring -------------------------------------------------------------------------------

    def attach(self, events: EventSink) -> None:
        """Where hub decisions go: ``session.handle``."""
        self._events = events

    def on_call_message(self, listener: CallListener | None) -> None:
        """The call handler hears ``admitted`` (to start at once), offer/answer/candidate,
        ``welcome`` after a rejoin, and ``call_ended`` when the session refused the admit."""
        self._call_listener = listener

    def on_peer_message(self, router: Callable[[p.Message], Awaitable[bool]] | None) -> None:
        """Asked first about every hub message (the group call's peer links)."""
        self._peer_router = router

    def on_message(self, kind: type[p.Message], handler: Callable[[Any], Awaitable[None]]) -> None:
        """Hub messages of ``kind`` go to ``handler`` (chat, screen_share, waiting_note)."""
        self.handlers[kind] = handler

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="hublink")

    async def close(self) -> None:
        for task in (self._task, self._call_timer):
            if task is not None:
                task.cancel()
        if self._ws is not None:
            await self._ws.close()
        self._task = self._call_timer = None

    async def drop(self) -> None:
        """Close the current socket as a network failure would (the link reconnects by itself)."""
        if self._ws is not None:
            await self._ws.close()

    # --- HubLink ------------------------------------------------------------------------------

    async def enter_waiting(self, ticket: dict[str, Any]) -> None:
        fields = {k: ticket.get(k) for k in p.Waiting.model_fields if k != "type"}
        self._ticket = p.Waiting(**{k: v for k, v in fields.items() if v is not None})
        self._session_id = self._ticket.session_id
        await self.send(self._ticket)

    async def update_waiting(self, details: dict[str, Any]) -> None:
        changes = {k: details[k] or None for k in p.CUSTOMER_FIELDS if k in details}
        if self._ticket is not None:
            self._ticket = self._ticket.model_copy(update=changes)
        # Typed in the waiting room and already confirmed to the customer: sent even if the admit
        # overtook them (the ticket is gone then), and the hub gives them to the call.
        if self._session_id is not None:
            await self.send(p.WaitingUpdate(session_id=self._session_id, **changes))

    async def leave_waiting(self, reason: str) -> None:
        ticket, self._ticket = self._ticket, None
        if reason == "withdraw":
            session_id, self._session_id = self._session_id, None
            if session_id is not None:
                try:
                    self._withdrawals.add_withdrawal(session_id)
                except StoreError as exc:  # a failing disk: this link's memory is all that is left
                    log.warning("hub link: a withdrawal is not kept on disk (%s): sent now only", exc)
                    await self.send(p.LeaveWaiting(session_id=session_id, reason="withdraw"))
            await self._send_withdrawals()
        elif ticket is not None:
            await self.send(p.LeaveWaiting(session_id=ticket.session_id, reason=reason))

    async def _send_withdrawals(self) -> None:
        """Each withdrawal reaches the hub, even if the link was down when it was made, the booth
        restarted since (the store keeps them) or the hub's database could not take it: sent at
        once, at every connection and every heartbeat until the hub says ``withdrawn`` (a second
        delivery deletes nothing more)."""
        try:
            pending = self._withdrawals.pending_withdrawals()
        except StoreError as exc:
            log.warning("hub link: withdrawals on disk not read (%s): again at the next heartbeat", exc)
            return
        for session_id in pending:
            if not await self.send(p.LeaveWaiting(session_id=session_id, reason="withdraw")):
                return

    def _withdrawn(self, session_id: str) -> None:
        try:
            self._withdrawals.withdrawal_delivered(session_id)
        except StoreError as exc:
            log.warning("hub link: a delivered withdrawal not marked (%s): sent again, harmlessly", exc)

    async def end_call(self) -> None:
        call_id, self.call_id = self.call_id, None
        self._cancel_call_timer()
        if call_id is not None:
            await self.send(p.Hangup(call_id=call_id, reason="ended"))

    async def check_code(self, code: str | None, token: str | None = None) -> None:
        if not await self.send(p.AppointmentCheck(code=code, token=token)):
            await self._event("code_refused", reason="unavailable")  # hub unreachable: say so, not hang

    # --- sending ------------------------------------------------------------------------------

    async def send(self, message: p.Message) -> bool:
        """Send now if connected; otherwise drop it (waiting and calls are restored on reconnect)."""
        ws = self._ws
        if ws is None or ws.closed:
            if not isinstance(message, p.Survey):  # no line marks the survey's moment (videokiosk/surveypool.py)
                log.info("hub link down: %s not sent", message.type)
            return False
        try:
            await ws.send_str(p.encode(message))
            return True
        except (ConnectionError, RuntimeError):
            return False

    # --- the connection loop ------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.backoff_s[0]
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    await self._connect_once(http)
                    delay = self.backoff_s[0]
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                    log.warning("hub link: cannot connect (%s); retrying in %.1f s", type(exc).__name__, delay)
                if self.connected.is_set():
                    self.connected.clear()
                    self._changed(False)
                self._ws = None
                if self.call_id is not None and self._call_timer is None:
                    self._call_timer = asyncio.create_task(self._give_up_call(self.call_id))
                await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))  # back-off, not a wait-for
                delay = min(delay * 2, self.backoff_s[1])

    async def _connect_once(self, http: aiohttp.ClientSession) -> None:
        async with http.ws_connect(
            self._url, headers={"Authorization": f"Bearer {self._token}"}, ssl=self._ssl,
            heartbeat=self.heartbeat_s, max_msg_size=4 * p.MAX_MESSAGE_BYTES, timeout=aiohttp.ClientWSTimeout(ws_close=5),
        ) as ws:
            self._ws = ws
            session_id = self._ticket.session_id if self._ticket else None
            await ws.send_str(p.encode(p.Hello(session_id=session_id, call_id=self.call_id, faults=self._faults())))
            beat = asyncio.create_task(self._heartbeat(ws))
            try:
                async for frame in ws:
                    if frame.type != aiohttp.WSMsgType.TEXT:
                        break
                    try:
                        message = p.parse(frame.data, p.HUB_TO_BOOTH)
                    except ProtocolError as exc:
                        log.warning("hub link: dropped a bad message (%s)", exc.code)
                        continue
                    await self._dispatch(message)
            finally:
                beat.cancel()
        log.info("hub link: disconnected")

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await asyncio.sleep(self.heartbeat_s)
            await self.send(p.Heartbeat())
            await self._send_withdrawals()  # any the hub has not confirmed yet

    async def report_faults(self, faults: list[str]) -> None:
        await self.send(p.Status(faults=faults))

    # --- what the hub says --------------------------------------------------------------------

    async def _dispatch(self, msg: p.Message) -> None:
        if self._peer_router is not None and await self._peer_router(msg):
            return
        match msg:
            case p.Welcome():
                self.ice_servers = list(msg.ice_servers)
                self.reconnect_timeout_s = msg.reconnect_timeout_s
                self.heartbeat_s = msg.heartbeat_s
                self.connected.set()
                self._changed(True)
                log.info("hub link: connected as %s", msg.booth_id)
                await self._send_withdrawals()
                if self._ticket is not None:
                    await self.send(self._ticket)
                if self.call_id is not None:
                    self._cancel_call_timer()
                    await self._to_call(msg)
            case p.Withdrawn(session_id=session_id):
                self._withdrawn(session_id)
            case p.AdvisorInformed():
                await self._event("advisor_informed")
            case p.QueueUpdate(position=position, estimated_wait_s=wait):
                await self._event("queue_update", position=position, estimated_wait_s=wait)
            case p.Admitted(call_id=call_id):
                self._ticket = None
                self.call_id = call_id
                self.ice_servers = list(msg.ice_servers)
                # The call handler starts its offer now, while the session moves to `call` (it
                # calls start() too, which then finds the call under way): first frames sooner.
                await self._to_call(msg)
                if await self._event("admitted", call_id=call_id) is False:
                    log.info("call %s: the session refused the admit, hanging up", call_id)
                    await self._to_call(p.CallEnded(call_id=call_id))
                    await self.end_call()
            case p.Declined(message=text):
                self._ticket = None
                await self._event("declined", message=text)
            case p.CallEnded(call_id=call_id):
                if call_id == self.call_id:
                    self.call_id = None
                    self._cancel_call_timer()
                    await self._event("call_ended")
            case p.Offer() | p.Answer() | p.Candidate() | p.RestartCall():
                await self._to_call(msg)
            case p.AppointmentResult(ok=True):
                await self._event("code_accepted", appointment_at=msg.appointment_at, language=msg.language)
            case p.AppointmentResult():
                await self._event("code_refused", reason=msg.reason, opens_at=msg.opens_at)
            case p.Error(code=code, ref=ref) if ref == "appointment_check":
                await self._event("code_refused", reason="unknown")
            case p.Error(code=code, ref=ref):
                log.warning("hub refused our %s (%s)", ref or "message", code)
            case _ if type(msg) in self.handlers:
                await self.handlers[type(msg)](msg)

    async def _to_call(self, msg: p.Message) -> None:
        if self._call_listener is not None:
            try:
                await self._call_listener(msg)
            except Exception:  # a broken offer must not take the hub link down
                log.exception("call handler failed on %s", msg.type)

    def _changed(self, up: bool) -> None:
        if self.when_changed is not None:
            try:
                self.when_changed(up)
            except Exception:  # a display problem must not take the link down
                log.exception("hub link listener failed")

    async def _event(self, event: str, **data: Any) -> Any:
        if self._events is not None:
            return await self._events(event, **data)
        return None

    async def _give_up_call(self, call_id: str) -> None:
        """The call could not be restored in time: end it cleanly, the booth goes to the survey."""
        await asyncio.sleep(self.reconnect_timeout_s)
        self._call_timer = None
        if self.call_id == call_id:
            log.info("call %s: hub unreachable for %.0f s, ending it", call_id, self.reconnect_timeout_s)
            self.call_id = None
            await self._event("call_ended")

    def _cancel_call_timer(self) -> None:
        timer, self._call_timer = self._call_timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

