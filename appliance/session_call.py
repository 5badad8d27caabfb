"""The booth session's in-call controls and its view of the hub link, named in the journey table.

A mixin of :class:`appliance.session.Session`. ``set_muted`` is the customer's mute toggle on the
call screen (the call handler then sends silence instead of the microphone); ``hub_link`` is the
hub connection going down or coming back (``HubConnection.when_changed``), which the kiosk shows
as "Die Verbindung wird wiederhergestellt …" without leaving the state the customer is in.

Example::

    >>> import asyncio
    >>> from appliance.session import Session
    >>> async def demo():
    ...     session = Session()
    ...     await session.handle("hub_link", up=False)
    ...     return session.snapshot()["hub_connected"]
    >>> asyncio.run(demo())
    False
"""

from __future__ import annotations

import logging
from typing import Any

from .errors import Refused
from .journey import State

log = logging.getLogger("videokiosk.session")


class CallControlActions:
    """``_do_*`` actions for mute and the hub link; state lives on the Session (``_muted``,
    ``hub_connected``, ``calls``)."""

    async def _do_set_muted(self, target: State, muted: Any = None, **_: Any) -> None:
        if not isinstance(muted, bool):
            raise Refused("set_muted needs muted: true or false")
        self._muted = muted
        self.calls.set_muted(muted)
        log.info("session %s: microphone %s", self._sid(), "muted" if muted else "on")

    async def _do_note_hub_link(self, target: State, up: Any = None, **_: Any) -> None:
        # Not a customer's doing: the session stays where it is, only the page learns of it.
        self.hub_connected = bool(up)
        log.info("session %s: hub link %s", self._sid(), "up" if up else "down")
