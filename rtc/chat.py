"""The booth's end of the in-call chat: one WebRTC data channel, the hub as fallback, memory only.

Both peers create the channel themselves (``negotiated``, id :data:`rtc.protocol.CHAT_CHANNEL_ID`),
so it does not matter who offers: the booth adds it before its offer, the advisor's Chromium when
the offer arrives. Every line is a :class:`rtc.protocol.Chat` message, validated where it enters;
while the channel is not open (yet, or ever) lines go through the hub instead. The same channel
carries the advisor's :class:`rtc.protocol.ScreenShare` on/off signal.

The transcript lives in this object only: it is never written, never logged (not even its length
per line) and dropped when the call ends. Log lines name the call id, nothing else.

Example::

    chat = CallChat(link.send, on_line=show, on_share=lambda sharing: ...)
    chat.attach(pc, "c-1234abcd")          # before the offer (appliance.call does this)
    await chat.send("Guten Tag")            # the customer typed it
    chat.end()                              # the call is over: the transcript is gone
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError

from . import protocol as p
from .errors import ProtocolError

log = logging.getLogger("videokiosk.chat")
# Remember this many line ids per call: a line relayed twice (channel and hub) shows once.
_SEEN_LIMIT = 1000


@dataclass(frozen=True)
class ChatLine:
    id: str
    sender: str  # "advisor" | "booth"
    text: str


class ChatRefused(ValueError):
    """A line the customer typed cannot be sent (empty, too long, no call); says why."""


class CallChat:
    """Chat for one call at a time; ``on_line`` hears every new line, ``on_share`` the share flag."""

    def __init__(
        self,
        send_via_hub: Callable[[p.Message], Awaitable[None]],
        *,
        on_line: Callable[[ChatLine], None] = lambda line: None,
        on_share: Callable[[bool], None] = lambda sharing: None,
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        self._send_via_hub = send_via_hub
        self._on_line = on_line
        self._on_share = on_share
        self._on_end = on_end
        self._channel = None
        self._seen: set[str] = set()
        self.call_id: str | None = None
        self.lines: list[ChatLine] = []
        self.sharing = False

    def attach(self, pc, call_id: str) -> None:
        """Open the chat channel on a new peer connection (a rejoin keeps the transcript)."""
        if call_id != self.call_id:
            self.end()
            self.call_id = call_id
        channel = pc.createDataChannel("chat", negotiated=True, id=p.CHAT_CHANNEL_ID)
        self._channel = channel
        channel.on("message", lambda data: self._from_channel(channel, data))

    def detach(self) -> None:
        """The peer connection is going away (maybe to be rebuilt): lines go via the hub meanwhile."""
        self._channel = None

    def end(self) -> None:
        """The call is over: forget every line and the share state."""
        had_call = self.call_id is not None
        self._channel = None
        self.call_id = None
        self.lines = []
        self._seen = set()
        if self.sharing:
            self.sharing = False
            self._on_share(False)
        if had_call:
            self._on_end()

    @property
    def direct(self) -> bool:
        """True while lines go peer to peer (the data channel is open)."""
        return self._channel is not None and self._channel.readyState == "open"

    async def send(self, text: str) -> ChatLine:
        """Send the customer's line to the advisor; raises :class:`ChatRefused` with the reason."""
        if self.call_id is None:
            raise ChatRefused("there is no call to chat in")
        try:
            msg = p.Chat(call_id=self.call_id, id="m-" + secrets.token_urlsafe(9), sender="booth", text=text)
        except ValidationError as err:
            raise ChatRefused(f"text: {err.errors()[0]['msg']}") from None
        line = self._add(msg)
        if self.direct:
            self._channel.send(p.encode(msg))
        else:
            await self._send_via_hub(msg)
        return line

    async def receive(self, msg: p.Message) -> None:
        """A validated message from the hub (the fallback path) or from the data channel."""
        if getattr(msg, "call_id", None) != self.call_id or self.call_id is None:
            return
        if isinstance(msg, p.Chat) and msg.sender == "advisor":
            self._add(msg)
        elif isinstance(msg, p.ScreenShare) and msg.sharing != self.sharing:
            self.sharing = msg.sharing
            log.info("call %s: screen sharing %s", self.call_id, "started" if msg.sharing else "stopped")
            self._on_share(msg.sharing)

    def _from_channel(self, channel, data) -> None:
        if channel is not self._channel:
            return
        try:
            msg = p.parse(data, p.DATA_CHANNEL)
        except ProtocolError as exc:
            log.warning("call %s: dropped a bad data channel message (%s)", self.call_id, exc.code)
            return
        asyncio.ensure_future(self.receive(msg))

    def _add(self, msg: p.Chat) -> ChatLine | None:
        if msg.id in self._seen:
            return None
        if len(self._seen) >= _SEEN_LIMIT:
            self._seen.clear()
        self._seen.add(msg.id)
        line = ChatLine(msg.id, msg.sender, msg.text)
        self.lines.append(line)
        self._on_line(line)
        return line
