"""The messages between the kiosk page and the daemon over ``/ws`` (see docs/kiosk-ui-protocol.md).

Page -> daemon: ``{"type": "intent", "event": <intent>, "data": {...}}``, for the self-view
``{"type": "offer", "sdp": <sdp>}``, and during a call ``{"type": "chat", "text": <line>}`` (the
chat checks the text itself: rtc/protocol.py ``Chat``). Each is validated here, where it enters the process; anything
else gets an ``error`` reply and changes nothing.

Example::

    >>> parse_message('{"type": "intent", "event": "set_language", "data": {"language": "ar"}}')
    ('intent', 'set_language', {'language': 'ar'})
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .access import VOLUME_STEPS
from .config import SUPPORTED_LANGUAGES
from .errors import InvalidMessage
from .journey import TOUCH_EVENTS
from .session_parts import MAX_CUSTOMER_NUMBER, MAX_NAME

MAX_MESSAGE_BYTES = 64 * 1024
MAX_SDP = 32 * 1024
MAX_CHAT_TEXT = 2000  # a first cut only: the chat's own limit is rtc.protocol.CHAT_MAX_CHARS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NoData(_Strict):
    pass


class LanguageData(_Strict):
    language: Literal[SUPPORTED_LANGUAGES]  # type: ignore[valid-type]


class DetailsData(_Strict):
    name: Annotated[str, Field(max_length=MAX_NAME)] | None = None
    customer_number: Annotated[str, Field(max_length=MAX_CUSTOMER_NUMBER)] | None = None


class CodeData(_Strict):
    code: Annotated[str, Field(min_length=1, max_length=20)]


class MuteData(_Strict):
    muted: bool


class AccessData(_Strict):
    speech: bool | None = None
    volume: Annotated[int, Field(ge=VOLUME_STEPS[0], le=VOLUME_STEPS[-1])] | None = None
    contrast: bool | None = None
    large_text: bool | None = None
    easy: bool | None = None


class StillHereData(_Strict):
    more_time: bool | None = None  # "Mehr Zeit" on "Sind Sie noch da?"


class SurveyData(_Strict):
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    easy: bool | None = None
    again: bool | None = None


# The intents a page may send are the journey's touch events (appliance/journey.py, named once
# there), each with the shape of its data; those not listed here carry none. Hub events are not among them.
_DATA: dict[str, type[_Strict]] = {
    "set_language": LanguageData, "set_details": DetailsData, "survey_submit": SurveyData,
    "submit_code": CodeData, "set_muted": MuteData, "still_here": StillHereData, "set_access": AccessData,
}
INTENTS: dict[str, type[_Strict]] = {event: _DATA.get(event, NoData) for event in sorted(TOUCH_EVENTS)}


def parse_message(raw: str | bytes) -> tuple[str, str, dict[str, Any]]:
    """Return ``("intent", event, data)``, ``("offer", sdp, {})`` or ``("chat", text, {})``; raise InvalidMessage."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidMessage("message is not valid JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise InvalidMessage("message must be an object with a 'type'")
    kind = msg["type"]
    if kind == "offer":
        sdp = msg.get("sdp")
        if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP:
            raise InvalidMessage("offer needs an 'sdp' session description")
        return "offer", sdp, {}
    if kind == "chat":
        text = msg.get("text")
        if not isinstance(text, str) or len(text) > MAX_CHAT_TEXT:
            raise InvalidMessage(f"chat needs a 'text' of at most {MAX_CHAT_TEXT} characters")
        return "chat", text, {}
    if kind != "intent":
        raise InvalidMessage(f"unknown message type {kind!r}")
    event = msg.get("event")
    if not isinstance(event, str) or event not in INTENTS:  # a list here is unhashable: TypeError
        raise InvalidMessage(f"unknown intent {event!r}; allowed: {', '.join(sorted(INTENTS))}")
    data = msg.get("data", {})
    if data is None:
        data = {}
    try:
        parsed = INTENTS[event].model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "data"
        raise InvalidMessage(f"{event}: {where}: {first['msg']}") from None
    return "intent", event, parsed.model_dump(exclude_unset=True)
