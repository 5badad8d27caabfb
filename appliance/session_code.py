"""The booth session's "Ich habe einen Termin" actions, named in the journey table (appliance/journey.py).

A mixin of :class:`appliance.session.Session`: the customer types the appointment code (or holds
the invitation's QR code up to the camera, appliance/qrscan.py), the hub checks it
(``appointment_check``), and the answer comes back as ``code_accepted`` or ``code_refused``.

Example::

    >>> import asyncio
    >>> from appliance.session import Session
    >>> async def demo():
    ...     session = Session()
    ...     await session.handle("have_appointment")
    ...     await session.handle("code_refused", reason="too_early", opens_at="2026-01-05T09:30:00+00:00")
    ...     return session.snapshot()["appointment"]
    >>> asyncio.run(demo())
    {'checking': False, 'error': 'too_early', 'opens_at': '10:30'}
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .errors import Refused
from .journey import State

log = logging.getLogger("videokiosk.session")
# Appointment codes are 8 characters (hub/appointments.py); the UI may add a dash or spaces.
CODE = re.compile(r"^[A-Za-z0-9 -]{1,20}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
CODE_REFUSALS = frozenset({"unknown", "too_early", "expired", "cancelled", "rate_limited", "unavailable"})
APPOINTMENT_ZONE = ZoneInfo("Europe/Berlin")  # appointments are booked in the job centre's time


class AppointmentCodeActions:
    """``_do_*`` actions of the appointment state; state lives on the Session (``_code_status``,
    ``_appointment_at``, ``_appointment_time``, ``_scan``, ``_outbox``, ``hub``)."""

    async def _do_open_code(self, target: State, **_: Any) -> None:
        await self._do_open(target, kind="appointment")
        self._code_status = {"checking": False, "error": None, "opens_at": None}
        self._scan.forget()
        self._scan.start(self._scanned)

    async def _scanned(self, **check: str) -> None:
        await self.handle("submit_code", **check)

    async def _do_check_code(self, target: State, code: Any = None, token: Any = None, **_: Any) -> None:
        if isinstance(token, str) and TOKEN.match(token):  # from the QR code, not typed
            self._code_status = {"checking": True, "error": None, "opens_at": None}
            self._outbox.put(lambda: self.hub.check_code(None, token=token))
            return
        if not isinstance(code, str) or not CODE.match(code):
            self._code_status = {"checking": False, "error": "unknown", "opens_at": None}
            return  # a typo is answered like a wrong code, without asking the hub
        self._code_status = {"checking": True, "error": None, "opens_at": None}
        self._outbox.put(lambda: self.hub.check_code(code))

    async def _do_accept_code(self, target: State, appointment_at: Any = None, **_: Any) -> None:
        try:
            when = datetime.fromisoformat(appointment_at).astimezone(APPOINTMENT_ZONE)
        except (TypeError, ValueError):
            raise Refused("the hub accepted the code without a time") from None
        self._scan.forget()
        self._appointment_at = when.isoformat()
        self._appointment_time = when.strftime("%H:%M")
        log.info("session %s: appointment code accepted", self._sid())

    async def _do_refuse_code(self, target: State, reason: Any = None, opens_at: Any = None, **_: Any) -> None:
        opens = None
        if isinstance(opens_at, str):
            try:
                opens = datetime.fromisoformat(opens_at).astimezone(APPOINTMENT_ZONE).strftime("%H:%M")
            except ValueError:
                pass
        self._code_status = {"checking": False, "error": reason if reason in CODE_REFUSALS else "unknown", "opens_at": opens}
        self._scan.start(self._scanned)  # look again, for a different QR code
        log.info("session %s: appointment code refused (%s)", self._sid(), self._code_status["error"])

