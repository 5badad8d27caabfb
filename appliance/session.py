"""The booth's one state machine: a readable table of (state, event) -> (next state, action).

Everything the customer sees follows from :class:`Session`. The kiosk UI sends intents ("start",
"accept", ...), the hub link reports what the hub decided ("admitted", ...), and the timers report
inactivity; each becomes ``await session.handle(event, **data)``. The session moves, runs the
table's action, logs the change with its random id only, and tells its subscribers the new
:meth:`Session.snapshot`, which is all the UI renders.

Example::

    >>> import asyncio
    >>> async def demo():
    ...     session = Session()
    ...     await session.handle("start")
    ...     await session.handle("accept")
    ...     return session.state
    >>> asyncio.run(demo())
    <State.DEVICE_CHECK: 'device_check'>
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import Callable
from typing import Any

from videokiosk.clock import Clock, SystemClock

from .config import UISection
from .errors import ApplianceError, Refused, UnknownEvent
from .hublink_base import CallHandler, HubLink, NullCallHandler, NullHubLink
from .journey import EVENTS, TABLE, TOUCH_EVENTS, State
from .session_checks import CheckRunner, DeviceCheckStep
from .session_code import AppointmentCode
from .session_parts import Details, Errands, parse_survey
from .access import EASY_LANGUAGE, Access

log = logging.getLogger("videokiosk.session")
S = State
#: Why a booth is out of service: a technician said so, or a device has been missing too long.
OUT_OF_SERVICE_REASONS = ("technician", "device_missing")
__all__ = ["EVENTS", "TABLE", "CheckRunner", "Refused", "Session", "State"]


class Session:
    """The customer's journey through the booth. One instance lives as long as the daemon.

    ``store`` is an :class:`appliance.store.BoothStore` (or None for a booth that keeps nothing),
    ``consent_hash(language)`` gives the version hash of the consent text shown in that language.
    """

    def __init__(
        self,
        ui: UISection | None = None,
        *,
        clock: Clock | None = None,
        store: Any = None,
        hub: HubLink | None = None,
        calls: CallHandler | None = None,
        checks: CheckRunner | None = None,
        consent_hash: Callable[[str], str] = lambda language: "",
        technical_info: dict[str, str] | None = None,
        scanner: Any = None,
        hub_connected: bool | None = None,
        on_survey: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.ui = ui or UISection()
        self.clock = clock or SystemClock()
        self.store = store
        self.hub = hub or NullHubLink()
        self.calls = calls or NullCallHandler()
        self.checks = checks
        self.consent_hash = consent_hash
        self.technical_info = dict(technical_info or {})
        self.state = State.IDLE
        self.language = self.ui.default_language
        #: None without a hub link, else whether it is up ("hub_link" event; False until the welcome).
        self.hub_connected = hub_connected
        self._on_survey = on_survey  # the booth forwards the answers to the hub's anonymous statistics
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []
        self._lock = asyncio.Lock()
        self._service_notice: dict[str, str] | None = None  # set while out of service; survives wipes
        self._errands = Errands(log)
        self._device_check = DeviceCheckStep(
            checks, report=lambda name, result: self.handle("check_result", name=name, result=result),
            done=lambda: self.handle("checks_done"), log=log)
        self._code = AppointmentCode(scanner, lambda **check: self.handle("submit_code", **check))
        self._clear()

    # -- public API ---------------------------------------------------------------------------

    async def handle(self, event: str, **data: Any) -> bool:
        """Feed one event. Returns True if the table accepted it, False if it was ignored.

        Unknown events raise :class:`UnknownEvent`; known events that do not fit the current state
        (a late hub message, a double tap) are ignored and logged, never fatal.
        """
        if event not in EVENTS:
            raise UnknownEvent(f"unknown event {event!r}; known: {', '.join(sorted(EVENTS))}")
        async with self._lock:
            if event in TOUCH_EVENTS:
                self._last_touch = self.clock.monotonic()
                self._still_there_until = None  # any touch answers "Sind Sie noch da?"
            row = TABLE.get((self.state, event))
            if row is None:
                log.info("session %s: %s ignored in state %s", self._sid(), event, self.state)
                return False
            target, action = row
            before, sid = self.state, self._sid()
            if action is not None:
                try:
                    await getattr(self, f"_do_{action}")(target=target, **data)
                except Refused as why:
                    log.info("session %s: %s refused in %s (%s)", sid, event, before, why)
                    return False
            if target is not before:
                self.state = target
                self._entered = self.clock.monotonic()
                self._last_touch = self._entered
                self._still_there_until = None
                if before is not S.SURVEY:  # no line marks the survey's moment or whether it was answered
                    log.info("session %s: %s --%s--> %s", sid, before, event, target)
            if target is S.DEVICE_CHECK and before is not S.DEVICE_CHECK:
                self._device_check.start()
            self._publish()
            return True

    def snapshot(self) -> dict[str, Any]:
        """Everything the kiosk page shows, as plain JSON-able data. Nothing else leaves."""
        snap: dict[str, Any] = {
            "state": str(self.state),
            "language": self.language,
            "languages": list(self.ui.languages),
            "self_view": self.state in (S.DEVICE_CHECK, S.CALL),
            "still_there": None,
            "hub_connected": self.hub_connected,
            "access": self.access.as_dict(),
        }
        if self._still_there_until is not None:
            left = max(0.0, self._still_there_until - self.clock.monotonic())
            snap["still_there"] = {"seconds_left": math.ceil(left)}
        if self.state is S.DEVICE_CHECK:
            snap["checks"] = self._device_check.snapshot()
        if self.state is S.APPOINTMENT:
            snap["appointment"] = dict(self._code.status)
        if self.state is S.CONSENT:
            snap["consent"] = {"headset": self.ui.headset}
        if self.state is S.WAITING:
            snap["waiting"] = {
                "advisor_informed": self._advisor_informed,
                "position": self._position,
                "estimated_wait_s": self._estimated_wait_s,
                "appointment_time": self._appointment_time,
                "appointment_date": self._appointment_at[:10] if self._appointment_at else None,  # Berlin date
                "details": self._details.as_dict(),
            }
        if self.state is S.CALL:
            snap["call"] = {"call_id": self._call_id, "muted": self._muted}
        if self.state is S.GOODBYE:
            snap["goodbye"] = {"declined": self._declined, "message": self._declined_message}
        if self.state is S.OUT_OF_SERVICE and self._service_notice:
            snap["out_of_service"] = dict(self._service_notice)
        if self._error:
            snap["error"] = self._error
        return snap

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """Call ``callback(snapshot)`` after every accepted event. Returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    @property
    def session_id(self) -> str | None:
        """The random id of the current customer's session (None when idle). Safe to log."""
        return self._session_id

    async def tick(self) -> None:
        """Fire whatever timer is due by the injected clock. The daemon calls this a few times a
        second; tests move a FakeClock and call it, so nobody sleeps."""
        now = self.clock.monotonic()
        # Goodbye counts from the last touch: a customer reading the withdrawal's "Einwilligung
        # widerrufen?" keeps the screen (and the withdrawal) until they answer or leave it alone.
        if self.state is S.GOODBYE and now - self._last_touch >= self.ui.goodbye_s * self.access.time_factor:
            await self.handle("goodbye_done")
        elif self._still_there_until is not None:
            if now >= self._still_there_until:
                await self.handle("reset", reason="timeout")
            else:
                self._publish_countdown()
        else:
            limit = self._inactivity_limit()
            if limit is not None and now - self._last_touch >= limit:
                await self.handle("inactivity")

    async def run_timers(self, interval_s: float = 0.25) -> None:
        """Tick forever (the daemon runs this as a task)."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.tick()
            except Exception:  # a timer must never die silently and leave a customer stuck
                log.exception("session %s: timer tick failed", self._sid())

    async def drain(self) -> None:
        """Wait until every queued hub / call message has been delivered (tests, shutdown)."""
        await self._errands.drain()

    async def close(self) -> None:
        self._device_check.cancel()
        self._code.forget()
        await self._errands.close()

    # -- actions (named in TABLE) -------------------------------------------------------------

    async def _do_open(self, target: State, kind: str = "walk_in", **_: Any) -> None:
        self._clear(keep_language=True)  # chosen on the idle screen, before the start
        self._session_id = secrets.token_hex(8)
        self._kind = "appointment" if kind == "appointment" else "walk_in"
        self._bump(sessions_started=1)

    async def _do_record_consent(self, target: State, **_: Any) -> None:
        # The consent record is written before anything else about this session is stored.
        if self.store is not None:
            try:
                text = self.text_language()  # "de-LS" when the customer read it in Leichte Sprache
                self.store.record_consent(self._session_id, text, self.consent_hash(text))
            except ApplianceError as exc:
                self._error = "store_error"
                raise Refused(str(exc)) from None
        self._bump(consents_given=1)

    async def _do_enter_waiting(self, target: State, **_: Any) -> None:
        if not self._device_check.passed:
            raise Refused("the device check has not passed")
        self._device_check.cancel()
        self._waiting_since = self.clock.monotonic()
        ticket = {"session_id": self._session_id, "language": self.language, "kind": self._kind}
        if self._appointment_at:
            ticket["appointment_at"] = self._appointment_at
        self._errands.put(lambda: self.hub.enter_waiting(ticket))
        self._bump(waiting_entered=1)

    async def _do_run_checks(self, target: State, **_: Any) -> None:
        self._device_check.start()

    async def _do_note_check(self, target: State, name: str = "", result: Any = None, **_: Any) -> None:
        self._device_check.note(name, result)  # raises Refused
        level = logging.WARNING if result.get("status") == "fail" else logging.INFO
        log.log(level, "session %s: check %s: %s %s %s", self._sid(), name, result.get("status"),
                result.get("hint") or "", result.get("detail") or "")

    async def _do_finish_checks(self, target: State, **_: Any) -> None:
        if not self._device_check.finish():
            self._bump(checks_failed=1)
        if self.store is not None:
            self._store_quietly(self.store.record_technical, self._session_id, **self._device_check.rates(),
                                **self.technical_info)

    async def _do_open_code(self, target: State, **_: Any) -> None:
        await self._do_open(target, kind="appointment")
        self._code.open()

    async def _do_check_code(self, target: State, code: Any = None, token: Any = None, **_: Any) -> None:
        ask = self._code.to_check(code, token)
        if ask is not None and "token" in ask:
            self._errands.put(lambda: self.hub.check_code(None, token=ask["token"]))
        elif ask is not None:
            self._errands.put(lambda: self.hub.check_code(ask["code"]))

    async def _do_accept_code(self, target: State, appointment_at: Any = None, **_: Any) -> None:
        when = self._code.accepted(appointment_at)  # raises Refused
        self._appointment_at = when.isoformat()
        self._appointment_time = when.strftime("%H:%M")
        log.info("session %s: appointment code accepted", self._sid())

    async def _do_refuse_code(self, target: State, reason: Any = None, opens_at: Any = None, **_: Any) -> None:
        log.info("session %s: appointment code refused (%s)", self._sid(), self._code.refused(reason, opens_at))

    async def _do_mark_informed(self, target: State, **_: Any) -> None:
        self._advisor_informed = True

    async def _do_update_queue(self, target: State, position: Any = None, estimated_wait_s: Any = None,
                               appointment_time: Any = None, **_: Any) -> None:
        self._position = position if isinstance(position, int) and position >= 1 else None
        ok = isinstance(estimated_wait_s, (int, float)) and estimated_wait_s >= 0
        self._estimated_wait_s = int(estimated_wait_s) if ok else None
        if isinstance(appointment_time, str):
            self._appointment_time = appointment_time[:32]

    async def _do_update_details(self, target: State, **data: Any) -> None:
        changed = self._details.update(data)  # raises InvalidMessage on bad input
        if not changed:
            return
        if self.store is not None:
            self._store_quietly(self.store.record_customer, self._session_id,
                                name=self._details.name, customer_number=self._details.customer_number)
        details = changed
        self._errands.put(lambda: self.hub.update_waiting(details))

    async def _do_start_call(self, target: State, call_id: Any = None, **_: Any) -> None:
        if not isinstance(call_id, str) or not call_id:
            raise Refused("admitted without a call id")
        self._call_id = call_id
        self._call_since = self.clock.monotonic()
        self._bump(calls=1, wait_s_total=self._since(self._waiting_since))
        self._waiting_since = None
        self._errands.put(lambda: self.calls.start(call_id))

    async def _do_declined(self, target: State, message: Any = None, **_: Any) -> None:
        self._declined = True
        self._declined_message = message[:500] if isinstance(message, str) else None
        self._bump(declined=1, wait_s_total=self._since(self._waiting_since))
        self._waiting_since = None

    async def _do_call_over(self, target: State, **_: Any) -> None:
        self._errands.put(self.calls.stop)
        self._bump(call_s_total=self._since(self._call_since))
        self._call_since = None

    async def _do_hang_up(self, target: State, **_: Any) -> None:
        self._errands.put(self.hub.end_call)
        await self._do_call_over(target)

    async def _do_store_survey(self, target: State, **answers: Any) -> None:
        survey = parse_survey(answers)  # raises InvalidMessage
        if self.store is not None:
            # Only the day, no session id: the answers cannot be joined to a call or a person.
            day = self.clock.now().date()
            self._store_unsaid(self.store.record_survey, day, **survey)
            self._store_unsaid(self.store.bump_stats, day, surveys=1)
        if self._on_survey is not None:
            self._on_survey(survey)

    async def _do_withdraw(self, target: State, **_: Any) -> None:
        sid = self._session_id
        if self.store is not None and sid:
            try:
                self.store.withdraw(sid)  # at once, before anything else happens
            except ApplianceError as exc:
                # A disk that takes no write must not keep her in the call, nor her rows at the hub:
                # both go now; the store deletes its own with the first write its disk takes.
                log.error("session %s: withdrawal: the booth's rows could not be deleted yet: %s", sid, exc)
        self._bump(withdrawn=1)
        # First, before the call is torn down: the hub ends the call and deletes what it holds
        # about this session (in the waiting room, the call or after it) within the second.
        self._errands.put(lambda: self.hub.leave_waiting("withdraw"))
        await self._do_wipe(target, reason="withdraw")

    async def _do_wipe(self, target: State, reason: str = "cancel", **_: Any) -> None:
        """Leave the hub / call cleanly, then forget everything about this customer."""
        reason = reason if reason in ("cancel", "withdraw", "timeout", "reset") else "reset"
        if self.state is S.WAITING:
            self._errands.put(lambda: self.hub.leave_waiting(reason))
            self._bump(wait_s_total=self._since(self._waiting_since))
        elif self.state is S.CALL:
            self._errands.put(self.hub.end_call)
            self._errands.put(self.calls.stop)
            self._bump(call_s_total=self._since(self._call_since))
        if self.state is not S.GOODBYE:
            self._bump(**{"timeouts" if reason == "timeout" else "cancelled": 1})
        self._device_check.cancel()
        self._code.forget()
        self._clear()

    async def _do_ask_still_there(self, target: State, **_: Any) -> None:
        countdown = self.ui.still_there_countdown_s * self.access.time_factor
        self._still_there_until = self.clock.monotonic() + countdown
        self._countdown_shown = math.ceil(countdown)

    async def _do_dismiss_still_there(self, target: State, more_time: Any = False, **_: Any) -> None:
        self._still_there_until = None
        if more_time is True:  # "Mehr Zeit": every limit doubles for the rest of this session
            self.access.ask_more_time()

    async def _do_set_access(self, target: State, **settings: Any) -> None:
        self.access.update(settings)  # raises InvalidMessage
        if not settings.get("speech", True):
            self.access.more_time = 0  # the doubled limits were for listening

    def text_language(self) -> str:
        """The language of the texts on screen: "de-LS" for Leichte Sprache, else the language."""
        return EASY_LANGUAGE if self.access.easy and self.language == "de" else self.language

    async def _do_set_muted(self, target: State, muted: Any = None, **_: Any) -> None:
        """The customer's mute toggle on the call screen: the call handler then sends silence."""
        if not isinstance(muted, bool):
            raise Refused("set_muted needs muted: true or false")
        self._muted = muted
        self.calls.set_muted(muted)
        log.info("session %s: microphone %s", self._sid(), "muted" if muted else "on")

    async def _do_note_hub_link(self, target: State, up: Any = None, **_: Any) -> None:
        # The hub connection went down or came back: not a customer's doing, the session stays
        # where it is and only the page learns of it ("Die Verbindung wird wiederhergestellt …").
        self.hub_connected = bool(up)
        log.info("session %s: hub link %s", self._sid(), "up" if up else "down")

    async def _do_go_out_of_service(self, target: State, reason: Any = None, notice: Any = None, **_: Any) -> None:
        # Out of service the kiosk shows a calm notice (opening hours or the nearest other booth from
        # the config). Whether a customer may be wiped for it is decided before the event is sent
        # (appliance/service_mode.py), not here.
        if self.state is not S.OUT_OF_SERVICE and self.state is not S.IDLE:
            await self._do_wipe(target, reason="reset")
        notice = notice if isinstance(notice, dict) else {}
        self._service_notice = {
            "reason": reason if reason in OUT_OF_SERVICE_REASONS else "technician",
            "opening_hours": str(notice.get("opening_hours") or "")[:200],
            "nearest_booth": str(notice.get("nearest_booth") or "")[:200],
        }

    async def _do_back_in_service(self, target: State, **_: Any) -> None:
        self._service_notice = None

    async def _do_set_language(self, target: State, language: Any = None, **_: Any) -> None:
        if language not in self.ui.languages:
            raise Refused(f"language {language!r} is not offered here")
        self.language = language

    # -- helpers ------------------------------------------------------------------------------

    def _clear(self, keep_language: bool = False) -> None:
        """Forget the customer: every per-session field back to its empty value."""
        self._session_id: str | None = None
        self._kind = "walk_in"
        self._device_check.clear()
        self._advisor_informed = False
        self._position: int | None = None
        self._estimated_wait_s: int | None = None
        self._appointment_time: str | None = None
        self._appointment_at: str | None = None
        self._code.clear()
        self._details = Details()
        self._call_id: str | None = None
        self._muted = False
        self._declined = False
        self._declined_message: str | None = None
        self._error: str | None = None
        self._waiting_since: float | None = None
        self._call_since: float | None = None
        self._still_there_until: float | None = None
        self._countdown_shown: int | None = None
        self._entered = self._last_touch = self.clock.monotonic()
        if not keep_language:  # language and accessibility settings are chosen before the start
            self.language = self.ui.default_language
            self.access = Access()

    def _inactivity_limit(self) -> float | None:
        if self.state in (S.IDLE, S.CALL, S.GOODBYE, S.OUT_OF_SERVICE):
            return None
        limit = self.ui.waiting_timeout_s if self.state is S.WAITING else self.ui.idle_timeout_s
        return limit * self.access.time_factor

    def _since(self, start: float | None) -> int:
        return 0 if start is None else max(0, round(self.clock.monotonic() - start))

    def _bump(self, **counts: int) -> None:
        if self.store is not None:
            self._store_quietly(self.store.bump_stats, self.clock.now().date(), **counts)

    def _store_quietly(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # A full disk must not strand a customer mid-journey; the health check reports it.
        try:
            write(*args, **kwargs)
        except ApplianceError as exc:
            log.error("session %s: store write failed: %s", self._sid(), exc)

    @staticmethod
    def _store_unsaid(write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # The survey's writes: a failure goes unlogged, as a line then would say that this session
        # answered it (videokiosk/surveypool.py). The health check still reports the disk.
        with contextlib.suppress(ApplianceError):
            write(*args, **kwargs)

    def _publish_countdown(self) -> None:
        """Tell the page each new whole second of the "Sind Sie noch da?" countdown, once."""
        left = self.snapshot()["still_there"]["seconds_left"]
        if left != self._countdown_shown:
            self._countdown_shown = left
            self._publish()

    def _sid(self) -> str:
        return self._session_id or "-"

    def _publish(self) -> None:
        snap = self.snapshot()
        for callback in list(self._subscribers):
            try:
                callback(snap)
            except Exception:
                log.exception("session %s: subscriber failed", self._sid())
