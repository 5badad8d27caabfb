"""The two seams between the booth's session and the outside world: the hub and the call.

The :class:`~appliance.session.Session` calls a :class:`HubLink` on its transitions (entering and
leaving the waiting room, ending a call) and a :class:`CallHandler` when the call starts and stops.
The real implementations live in ``appliance/hublink.py`` and ``appliance/call.py``; they report
back by calling ``session.handle("advisor_informed")``, ``handle("queue_update", position=...,
estimated_wait_s=...)``, ``handle("admitted", call_id=...)``, ``handle("declined", message=...)``
and ``handle("call_ended")``.

Standalone (no hub configured, tests) the booth uses the null objects here. Example::

    >>> import asyncio
    >>> link = NullHubLink()
    >>> asyncio.run(link.enter_waiting({"session_id": "ab12", "language": "de", "kind": "walk_in"}))
    >>> link.tickets
    [{'session_id': 'ab12', 'language': 'de', 'kind': 'walk_in'}]
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from rtc.protocol import CUSTOMER_FIELDS


@runtime_checkable
class HubLink(Protocol):
    """What the session needs from the hub. Each method must return promptly (queue, don't block)."""

    async def enter_waiting(self, ticket: dict[str, Any]) -> None:
        """Join the virtual waiting room.

        ``ticket`` has ``session_id``, ``language``, ``kind`` (``"walk_in"`` or ``"appointment"``)
        and optionally ``name`` and ``customer_number``.
        """

    async def update_waiting(self, details: dict[str, Any]) -> None:
        """The customer typed name and/or customer number while waiting (keys may be absent)."""

    async def leave_waiting(self, reason: str) -> None:
        """Leave the waiting room: ``"cancel"``, ``"withdraw"``, ``"timeout"`` or ``"reset"``.

        Also sent with ``"withdraw"`` when consent is withdrawn during or after the call (after
        :meth:`end_call`), so the hub deletes what it holds about the session at once.
        """

    async def end_call(self) -> None:
        """The customer hung up (or the booth reset) during a call."""

    async def check_code(self, code: str | None, token: str | None = None) -> None:
        """Ask the hub about an appointment code (or a link's token read from the invitation's QR
        code); the answer comes back as the session event
        ``code_accepted`` (``appointment_at``, ``language``) or ``code_refused`` (``reason``, ``opens_at``)."""


@runtime_checkable
class CallHandler(Protocol):
    """Builds and tears down the booth's one WebRTC call. Started only after the admit."""

    async def start(self, call_id: str) -> None:
        """The advisor admitted the customer: build the peer connection for ``call_id``."""

    async def stop(self) -> None:
        """Tear the call down. Must be safe to call when no call is running."""

    def set_muted(self, muted: bool) -> None:
        """The customer's mute toggle: send silence instead of the microphone while ``muted``."""


class NullHubLink:
    """A hub link that goes nowhere: used when the booth runs standalone and in tests.

    It remembers what it was asked, without the personal fields (a reset must leave no name or
    customer number in memory), so tests and the status page can look.
    """

    def __init__(self) -> None:
        self.tickets: list[dict[str, Any]] = []
        self.updates: list[list[str]] = []
        self.left: list[str] = []
        self.calls_ended = 0
        self.codes_checked = 0

    async def enter_waiting(self, ticket: dict[str, Any]) -> None:
        self.tickets.append({k: v for k, v in ticket.items() if k not in CUSTOMER_FIELDS})

    async def update_waiting(self, details: dict[str, Any]) -> None:
        self.updates.append(sorted(details))

    async def leave_waiting(self, reason: str) -> None:
        self.left.append(reason)

    async def end_call(self) -> None:
        self.calls_ended += 1

    async def check_code(self, code: str | None, token: str | None = None) -> None:
        self.codes_checked += 1  # not the code itself: it lets a person in


class NullCallHandler:
    """A call handler that does nothing, for a booth without a hub."""

    def __init__(self) -> None:
        self.running: str | None = None
        self.muted = False

    async def start(self, call_id: str) -> None:
        self.running = call_id

    async def stop(self) -> None:
        self.running = None

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
