"""The shared vocabulary of the signalling messages: limits, field types and the ``Message`` base.

:mod:`rtc.protocol` builds every message from these and re-exports them, so callers keep writing
``p.Id`` or ``p.IceServer``. Like it, this module must not import aiortc: the hub imports it.

Example::

    >>> IceServer(urls=["stun:stun.example.org:3478"]).username is None
    True
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
# No message may exceed this, whatever its type: checked before JSON parsing, so a huge frame
# never costs more than a length check. A full SDP with candidates is a few kB; 64 KiB is ample.
MAX_MESSAGE_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 4 * 1024

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{4,64}$")]
ShortText = Annotated[str, Field(max_length=280)]
Sdp = Annotated[str, Field(min_length=10, max_length=MAX_MESSAGE_BYTES - 1024)]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
Fault = Annotated[str, Field(pattern=r"^[a-z_]{2,32}$")]


class Message(BaseModel):
    """Base of every signalling message."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    max_bytes: ClassVar[int] = DEFAULT_MAX_BYTES


class IceServer(BaseModel):
    """One STUN or TURN server, shaped like the browser's ``RTCIceServer``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    urls: Annotated[list[Annotated[str, Field(pattern=r"^(stun|stuns|turn|turns):\S{3,250}$")]], Field(min_length=1, max_length=8)]
    username: Annotated[str, Field(max_length=256)] | None = None
    credential: Annotated[str, Field(max_length=256)] | None = None


IceServers = Annotated[list[IceServer], Field(max_length=8)]


class WaitingEntry(BaseModel):
    """A customer in the waiting room, as advisors see it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    session_id: Id
    booth_id: Id
    booth_name: Annotated[str, Field(max_length=120)]
    location: Annotated[str, Field(max_length=120)]
    since: Annotated[str, Field(max_length=40)]  # ISO 8601, UTC
    language: Language
    kind: Literal["walk_in", "appointment"]
    name: Annotated[str, Field(max_length=120)] | None = None
    customer_number: Annotated[str, Field(max_length=40)] | None = None
    appointment_at: Annotated[str, Field(max_length=40)] | None = None
    state: Literal["waiting", "reconnecting"] = "waiting"


class BoothInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    booth_id: Id
    name: Annotated[str, Field(max_length=120)]
    location: Annotated[str, Field(max_length=120)]
    state: Literal["online", "waiting", "in_call", "offline", "fault"]
    faults: Annotated[list[Fault], Field(max_length=16)] = []



#: Who someone is in an appointment: the only thing stored (and shown) of a further participant.
Role = Literal["customer", "interpreter", "sign_language_interpreter", "legal_representative", "other"]
