"""The booth's "Ich habe einen Termin" screen, a collaborator of :class:`appliance.session.Session`.

The customer types the appointment code (or holds the invitation's QR code up to the camera,
appliance/qrscan.py), the hub checks it (``appointment_check``), and the answer comes back as
``code_accepted`` or ``code_refused``. :class:`AppointmentCode` holds what the screen shows and
runs the scan; the session's table actions (``open_code``, ``check_code``, ``accept_code``,
``refuse_code``) use it and talk to the hub.

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

import re
from datetime import datetime
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from .errors import Refused
from .qrscan import ScanTask
# Appointment codes are 8 characters (hub/appointments.py); the UI may add a dash or spaces.
CODE = re.compile(r"^[A-Za-z0-9 -]{1,20}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
CODE_REFUSALS = frozenset({"unknown", "too_early", "expired", "cancelled", "rate_limited", "unavailable"})
APPOINTMENT_ZONE = ZoneInfo("Europe/Berlin")  # appointments are booked in the job centre's time


class AppointmentCode:
    """What the code screen shows (``status``) and the QR scan; ``submit(code=...|token=...)`` is
    called with what the camera read (the session feeds it back as ``submit_code``)."""

    def __init__(self, scanner: Any, submit: Callable[..., Awaitable[Any]]) -> None:
        self._scan = ScanTask(scanner)  # the invitation's QR code, held up to the camera
        self._submit = submit
        self.clear()

    def clear(self) -> None:
        self.status: dict[str, Any] = {"checking": False, "error": None, "opens_at": None}

    def open(self) -> None:
        self.clear()
        self._scan.forget()
        self._scan.start(self._submit)

    def forget(self) -> None:
        """Stop scanning and forget the codes seen (a new customer may show the same one)."""
        self._scan.forget()

    def to_check(self, code: Any, token: Any) -> dict[str, str] | None:
        """What to ask the hub (``{"token": ...}`` or ``{"code": ...}``), or None: a typo is
        answered like a wrong code, without asking the hub."""
        if isinstance(token, str) and TOKEN.match(token):  # from the QR code, not typed
            self.status = {"checking": True, "error": None, "opens_at": None}
            return {"token": token}
        if not isinstance(code, str) or not CODE.match(code):
            self.status = {"checking": False, "error": "unknown", "opens_at": None}
            return None
        self.status = {"checking": True, "error": None, "opens_at": None}
        return {"code": code}

    def accepted(self, appointment_at: Any) -> datetime:
        """The appointment's time, in the job centre's zone; the scan stops."""
        try:
            when = datetime.fromisoformat(appointment_at).astimezone(APPOINTMENT_ZONE)
        except (TypeError, ValueError):
            raise Refused("the hub accepted the code without a time") from None
        self._scan.forget()
        return when

    def refused(self, reason: Any, opens_at: Any) -> str:
        """Show why; the scan looks again, for a different QR code. Returns the shown reason."""
        opens = None
        if isinstance(opens_at, str):
            try:
                opens = datetime.fromisoformat(opens_at).astimezone(APPOINTMENT_ZONE).strftime("%H:%M")
            except ValueError:
                pass
        self.status = {"checking": False, "error": reason if reason in CODE_REFUSALS else "unknown", "opens_at": opens}
        self._scan.start(self._submit)
        return self.status["error"]
