"""In-call chat, screen sharing and the waiting-room note: the messages of issue 9.

Re-exported by :mod:`rtc.protocol` (``p.Chat``, ``p.CHAT_CHANNEL_ID`` ...), which registers them
with the other messages and says who may send which.

Example::

    >>> Chat(call_id="c-1234", id="m-1234", sender="advisor", text="Guten Tag").text
    'Guten Tag'
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from .protocol_types import Id, Message, without_bidi_controls

# --- in-call chat and screen sharing (issue 9) ----------------------------------------------------
# Peers send these over the call's WebRTC data channel (label "chat", negotiated id CHAT_CHANNEL_ID);
# the hub relays them only as a fallback while that channel is not open, and never stores or logs
# their text. ``waiting_note`` is the advisor's short message to a customer still waiting.

CHAT_CHANNEL_ID = 7
CHAT_MAX_CHARS = 500
WAITING_NOTE_MAX_CHARS = 200


def _clean_text(text: str) -> str:
    text = without_bidi_controls(text)
    # Control characters (other than line breaks and tabs) have no business in a chat line: they
    # could reorder or hide text on the other screen.
    if any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0 for c in text):
        raise ValueError("text contains control characters")
    if not text.strip():
        raise ValueError("text is empty")
    return text


ChatText = Annotated[str, Field(min_length=1, max_length=CHAT_MAX_CHARS), AfterValidator(_clean_text)]


class Chat(Message):
    """One chat line during a call; ``id`` is the sender's random id (duplicates are dropped)."""

    type: Literal["chat"] = "chat"
    call_id: Id
    id: Id
    sender: Literal["advisor", "booth"]
    text: ChatText
    max_bytes: ClassVar[int] = 4096  # 500 characters even as \uXXXX escapes, plus the envelope


class ScreenShare(Message):
    """The advisor started or stopped sharing a screen (the picture itself is a video track)."""

    type: Literal["screen_share"] = "screen_share"
    call_id: Id
    sharing: bool
    max_bytes: ClassVar[int] = 256


class WaitingNote(Message):
    """The advisor's short message to a customer still in the waiting room (shown there)."""

    type: Literal["waiting_note"] = "waiting_note"
    session_id: Id
    text: Annotated[str, Field(min_length=1, max_length=WAITING_NOTE_MAX_CHARS), AfterValidator(_clean_text)]
    max_bytes: ClassVar[int] = 2048


#: What may travel over the call's data channel.
DATA_CHANNEL = frozenset({"chat", "screen_share"})
