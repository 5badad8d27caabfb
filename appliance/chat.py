"""Chat and screen sharing on the booth: between the call (rtc/) and the kiosk page (UI server).

:class:`BoothChat` is a call extension of :class:`appliance.call.BoothCall`: on every peer
connection it opens the chat channel (:class:`rtc.chat.CallChat`) and the receive-only screen
transceiver (:class:`rtc.screenshare.ScreenReceiver`). Lines go to the kiosk page as ``chat``
messages; a link in a line comes with a QR code (segno's module matrix, drawn by the page) so the
customer can open it on their own phone: the booth's browser never opens a link. The customer's
lines arrive from the page as ``{"type": "chat", "text": ...}``. The advisor's note to a waiting
customer (``waiting_note``) is shown in the waiting room.

Nothing of this is stored or logged: the transcript lives in :class:`rtc.chat.CallChat` until the
call ends, then the page is told to clear it (``chat_clear``).

Example::

    chat = BoothChat(link, loopback, broadcast=server.broadcast, waiting_session=lambda: session.session_id)
    call = BoothCall(link, cam, mic, speaker, loopback, extensions=[chat])
    server = UIServer(session, handlers={"chat": chat.from_page})  # the customer's lines
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import segno

from rtc import protocol as p
from rtc.chat import CallChat, ChatLine, ChatRefused
from rtc.screenshare import ScreenReceiver

from .errors import InvalidMessage

log = logging.getLogger("videokiosk.chat")
# http(s) links and bare www. addresses; trailing punctuation belongs to the sentence.
_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"'{}|\\^`]+", re.IGNORECASE)
MAX_LINKS_PER_LINE = 3


def find_links(text: str) -> list[str]:
    """The links in a chat line, in order, at most :data:`MAX_LINKS_PER_LINE`."""
    links = [m.group(0).rstrip(".,;:!?)]") for m in _LINK.finditer(text)]
    return [link for link in links if len(link) > 4][:MAX_LINKS_PER_LINE]


def qr_rows(url: str) -> list[str]:
    """The QR code of ``url`` as rows of "0"/"1" (dark) modules, without the quiet zone."""
    target = url if "://" in url else "https://" + url
    return ["".join("1" if cell else "0" for cell in row) for row in segno.make(target, error="m").matrix]


def line_message(line: ChatLine) -> dict[str, Any]:
    """The kiosk page's ``chat`` message for one line."""
    links = [{"url": url, "qr": qr_rows(url)} for url in find_links(line.text)] if line.sender == "advisor" else []
    return {"type": "chat", "line": {"id": line.id, "sender": line.sender, "text": line.text, "links": links}}


class BoothChat:
    """The booth's chat and screen sharing for the kiosk page: ``broadcast`` sends to it (the UI
    server's), ``waiting_session()`` is the id of the session in the waiting room, if any."""

    def __init__(self, link: Any, loopback: Any, *, broadcast: Callable[[dict[str, Any]], None],
                 waiting_session: Callable[[], str | None]) -> None:
        self._broadcast = broadcast
        self._loopback = loopback
        self._waiting_session = waiting_session
        self.screen = ScreenReceiver(on_track=self._show_screen)
        self.chat = CallChat(link.send, on_line=self._line, on_share=self._share, on_end=self._ended)
        link.on_message(p.Chat, self.chat.receive)
        link.on_message(p.ScreenShare, self.chat.receive)
        link.on_message(p.WaitingNote, self._waiting_note)

    # --- call extension (appliance.call.BoothCall) ---------------------------------------------

    def attach(self, pc, call_id: str) -> None:
        self.chat.attach(pc, call_id)
        self.screen.attach(pc)

    def claims(self, track) -> bool:
        return self.screen.claims(track)

    def detach(self, call_id: str | None) -> None:
        self.screen.detach()
        if call_id is None:
            self.chat.end()
        else:
            self.chat.detach()

    # --- the page --------------------------------------------------------------------------------

    async def from_page(self, text: str) -> None:
        try:
            await self.chat.send(text)
        except ChatRefused as exc:
            raise InvalidMessage(str(exc)) from None

    def _line(self, line: ChatLine) -> None:
        self._broadcast(line_message(line))

    def _share(self, sharing: bool) -> None:
        self.screen.set_sharing(sharing)
        self._broadcast({"type": "screen_share", "sharing": sharing})

    def _show_screen(self, track) -> None:
        if self._loopback is not None:
            self._loopback.set_screen_video(track)

    def _ended(self) -> None:
        self._broadcast({"type": "chat_clear"})

    async def _waiting_note(self, msg: p.WaitingNote) -> None:
        if msg.session_id is not None and msg.session_id == self._waiting_session():
            self._broadcast({"type": "waiting_note", "text": msg.text})
