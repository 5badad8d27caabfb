"""The hub's part in chat and screen sharing: a relay of last resort that keeps nothing.

Chat lines normally travel peer to peer over the call's data channel (rtc/chat.py). While that
channel is not open, booth and advisor send the same :class:`rtc.protocol.Chat` messages to the
hub, which passes them to the other end of the call's route, unread. The advisor's short
``waiting_note`` to a customer still waiting goes to that customer's booth the same way. Nothing
here is stored, and nothing is logged but the call or session id: chat is not among the consented
fields.

Example::

    relay = ChatRelay(hub)     # hub/app.py routes p.Chat etc. to it (Hub.route)
"""

from __future__ import annotations

import logging

from rtc import protocol as p

from .registry import Booth
from .service import Hub, booth_channel

log = logging.getLogger(__name__)


class ChatRelay:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def from_booth(self, booth: Booth, msg: p.Chat) -> p.Error | None:
        route = await self._hub.state.get_route(msg.call_id)
        if route is None or route.booth_id != booth.booth_id or msg.sender != "booth":
            return p.Error(code="unknown_call", message="no such call for this booth", ref=msg.type)
        await self._hub.state.publish(route.advisor_channel, p.encode(msg))
        return None

    async def from_advisor(self, username: str, channel: str, msg: p.Chat | p.ScreenShare) -> p.Error | None:
        route = await self._hub.state.get_route(msg.call_id)
        if route is None or route.advisor_channel != channel or getattr(msg, "sender", "advisor") != "advisor":
            return p.Error(code="unknown_call", message="no such call for this advisor", ref=msg.type)
        await self._hub.state.publish(booth_channel(route.booth_id), p.encode(msg))
        return None

    async def waiting_note(self, username: str, channel: str, msg: p.WaitingNote) -> p.Error | None:
        entry = await self._hub.state.get_waiting(msg.session_id)
        if entry is None:
            return p.Error(code="unknown_session", message="this customer is no longer waiting", ref=msg.type)
        log.info("waiting note to session %s", msg.session_id)
        await self._hub.state.publish(booth_channel(entry.booth_id), p.encode(msg))
        return None

