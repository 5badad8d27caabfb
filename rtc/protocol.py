"""The signalling messages between booth, hub and advisor console: one module both sides import.

Every message is a small JSON object with a ``type``. Each type has a schema (a pydantic model
that forbids unknown keys) and a size limit; :func:`parse` validates a message where it enters a
process and raises :class:`~rtc.errors.ProtocolError` (with a ``code`` for the ``error`` reply)
instead of crashing. ``docs/protocol.md`` documents the same set in prose.

This module must not import aiortc: the hub imports it.

Example::

    >>> msg = parse('{"type": "admit", "session_id": "s-1234abcd"}', ADVISOR_TO_HUB)
    >>> msg.session_id
    's-1234abcd'
    >>> encode(Error(code="invalid", message="bad"))
    '{"type":"error","code":"invalid","message":"bad","ref":null}'
"""

from __future__ import annotations

import json
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ProtocolError

# --- the shared vocabulary: limits, field types and the ``Message`` base --------------------------

PROTOCOL_VERSION = 1
# No message may exceed this, whatever its type: checked before JSON parsing, so a huge frame
# never costs more than a length check. A full SDP with candidates is a few kB; 64 KiB is ample.
MAX_MESSAGE_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 4 * 1024

# Bidirectional controls (embeddings, overrides, isolates, marks) make a name or a line read on
# the advisor's screen otherwise than it was typed ("Trojan source"): they are dropped wherever a
# person's text enters, which leaves every letter of every script as it was.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"))


def without_bidi_controls(text: str) -> str:
    """``text`` without bidirectional control characters.

    >>> without_bidi_controls("Erika\u202eharmless")
    'Erikaharmless'
    """
    return text.translate(_BIDI_CONTROLS)


Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{4,64}$")]
# A booth's id: its config's ``[booth] id``, what ``videokiosk hub add-booth`` registers, and an Id on
# the link, so it keeps to both (and to a host name's rules: lower case, no dot).
BOOTH_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{3,62}$"
BOOTH_ID_RULE = "4 to 63 characters: lower-case letters a-z, digits and dashes, not starting with a dash"
BOOTH_TEXT_MAX = 120  # a booth's name and location, as the config, the registry and the link take them
BoothText = Annotated[str, Field(max_length=BOOTH_TEXT_MAX)]
ShortText = Annotated[str, Field(max_length=280), AfterValidator(without_bidi_controls)]
PersonName = Annotated[str, Field(max_length=120), AfterValidator(without_bidi_controls)]
CustomerNumber = Annotated[str, Field(max_length=40), AfterValidator(without_bidi_controls)]
Sdp = Annotated[str, Field(min_length=10, max_length=MAX_MESSAGE_BYTES - 1024)]
# The languages the booth's pages, the home page, the mails and the voice speak (one i18n file each).
LANGUAGES = ("de", "en", "tr", "ar", "uk", "ru")
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
    booth_name: BoothText
    location: BoothText
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
    name: BoothText
    location: BoothText
    state: Literal["online", "waiting", "in_call", "offline", "fault"]
    faults: Annotated[list[Fault], Field(max_length=16)] = []



#: Who someone is in an appointment: the only thing stored (and shown) of a further participant.
Role = Literal["customer", "interpreter", "sign_language_interpreter", "legal_representative", "other"]


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


# --- fleet: health reports and technicians' actions on the booth's hub link (issue 17) ------------
# The fleet messages on the booth's existing hub link: health reports and technicians' actions.
# A booth reports its health every few seconds (and at once when it changes); the hub keeps the
# latest per booth for the fleet page and Prometheus (hub/fleet.py). A technician's action travels
# hub -> booth as :class:`FleetAction`, its outcome booth -> hub as :class:`ActionResult`. Nothing
# here can carry a person's data: the fields are numbers, fixed words and short technical texts
# (the self-test table, a journal excerpt that is itself free of personal data by construction).

#: The devices a booth reports on, in the order the fleet page shows them.
FLEET_DEVICES = ("camera", "microphone", "speaker", "button", "led")
DeviceState = Literal["ok", "fault", "absent"]
Activity = Literal["idle", "in_use", "out_of_service"]
ActionName = Literal["selftest", "restart", "reboot", "out_of_service", "back_in_service", "fetch_logs",
                     "install_update"]
# A journal excerpt must fit one message with room for the envelope.
ACTION_DETAIL_MAX = MAX_MESSAGE_BYTES - 2048
Word = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+:~ -]{0,80}$")]


class SelfTestSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ok: bool
    at: Annotated[str, Field(max_length=40)]  # ISO 8601, UTC
    failed: Annotated[list[Annotated[str, Field(pattern=r"^[a-z_]{2,32}$")]], Field(max_length=16)] = []


class UpdateState(BaseModel):
    """Where the booth stands with a software update (RAUC slots, appliance/update.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    state: Literal["none", "installing", "installed", "failed", "rolled_back", "good"] = "none"
    booted_slot: Word | None = None
    target_version: Word | None = None
    detail: Annotated[str, Field(max_length=200)] = ""


class Health(Message):
    """booth -> hub: the booth's figures for technicians. ``seq`` is echoed by ``health_ack``
    so the booth can measure the link's round trip itself."""

    type: Literal["health"] = "health"
    seq: Annotated[int, Field(ge=0)]
    version: Word
    os: Annotated[str, Field(max_length=80)]
    uptime_s: Annotated[float, Field(ge=0)]
    link_rtt_ms: Annotated[float, Field(ge=0, le=600_000)] | None = None
    watchdog_restarts: Annotated[int, Field(ge=0)] = 0
    devices: dict[Literal["camera", "microphone", "speaker", "button", "led"], DeviceState] = {}
    selftest: SelfTestSummary | None = None
    disk_free_bytes: Annotated[int, Field(ge=0)] | None = None
    cpu_temp_c: Annotated[float, Field(ge=-50, le=150)] | None = None
    activity: Activity
    out_of_service_reason: Literal["technician", "device_missing"] | None = None
    update: UpdateState = UpdateState()
    max_bytes: ClassVar[int] = 2048


class HealthAck(Message):
    """hub -> booth: the health report ``seq`` arrived."""

    type: Literal["health_ack"] = "health_ack"
    seq: Annotated[int, Field(ge=0)]


class FleetAction(Message):
    """hub -> booth: a technician's action. ``force`` is set only after the technician saw the
    warning that a customer is waiting or in a call."""

    type: Literal["fleet_action"] = "fleet_action"
    action_id: Id
    action: ActionName
    force: bool = False
    hours: Annotated[int, Field(ge=1, le=168)] | None = None  # fetch_logs
    bundle_url: Annotated[str, Field(pattern=r"^https?://\S{3,500}$")] | None = None  # install_update
    version: Word | None = None  # install_update: the version the bundle brings


class ActionResult(Message):
    """booth -> hub: how the action went; ``detail`` is the self-test table, the journal, or why not."""

    type: Literal["action_result"] = "action_result"
    action_id: Id
    ok: bool
    refused: Literal["busy", "unsupported", "failed"] | None = None
    detail: Annotated[str, Field(max_length=ACTION_DETAIL_MAX)] = ""
    max_bytes: ClassVar[int] = MAX_MESSAGE_BYTES


FLEET_BOOTH_TO_HUB = (Health, ActionResult)
FLEET_HUB_TO_BOOTH = (HealthAck, FleetAction)


# --- the call: relayed between booth and advisor, never interpreted by the hub ------------------


class Offer(Message):
    type: Literal["offer"] = "offer"
    call_id: Id
    sdp: Sdp
    # On a peer link between two participants of one appointment (hub/groupcall.py): the sender's
    # role, set by the hub (whatever the sender wrote), so the other end can label the picture.
    role: Role | None = None
    max_bytes: ClassVar[int] = MAX_MESSAGE_BYTES


class Answer(Message):
    type: Literal["answer"] = "answer"
    call_id: Id
    sdp: Sdp
    max_bytes: ClassVar[int] = MAX_MESSAGE_BYTES


class Candidate(Message):
    """One trickled ICE candidate; ``candidate == ""`` means end-of-candidates."""

    type: Literal["candidate"] = "candidate"
    call_id: Id
    candidate: Annotated[str, Field(max_length=1024)]
    sdp_mid: Annotated[str, Field(max_length=32)] | None = None
    sdp_mline_index: Annotated[int, Field(ge=0, le=64)] | None = None


class Hangup(Message):
    type: Literal["hangup"] = "hangup"
    call_id: Id
    reason: Literal["ended", "timeout", "error"] = "ended"


class Error(Message):
    type: Literal["error"] = "error"
    code: Annotated[str, Field(max_length=40)]
    message: Annotated[str, Field(max_length=400)]
    ref: Annotated[str, Field(max_length=40)] | None = None


# --- booth -> hub ---------------------------------------------------------------------------


class Hello(Message):
    """First message on a booth socket; ``call_id`` set means: I am rejoining this call."""

    type: Literal["hello"] = "hello"
    version: Literal[1] = PROTOCOL_VERSION
    session_id: Id | None = None
    call_id: Id | None = None
    faults: Annotated[list[Fault], Field(max_length=16)] = []


class Heartbeat(Message):
    type: Literal["heartbeat"] = "heartbeat"


class Status(Message):
    """The booth's hardware faults changed (empty list: all well)."""

    type: Literal["status"] = "status"
    faults: Annotated[list[Fault], Field(max_length=16)] = []


class Waiting(Message):
    type: Literal["waiting"] = "waiting"
    session_id: Id
    language: Language
    kind: Literal["walk_in", "appointment"] = "walk_in"
    name: PersonName | None = None
    customer_number: CustomerNumber | None = None
    appointment_at: Annotated[str, Field(max_length=40)] | None = None


class WaitingUpdate(Message):
    type: Literal["waiting_update"] = "waiting_update"
    session_id: Id
    name: PersonName | None = None
    customer_number: CustomerNumber | None = None


# What customers give about themselves (never further participants): what a WaitingUpdate
# changes. The hub writes them to the call's row; a booth without a hub remembers none of them.
CUSTOMER_FIELDS: tuple[str, ...] = tuple(k for k in WaitingUpdate.model_fields if k not in ("type", "session_id"))


class LeaveWaiting(Message):
    type: Literal["leave_waiting"] = "leave_waiting"
    session_id: Id
    reason: Literal["cancel", "withdraw", "timeout", "reset"] = "cancel"


class CallInfo(Message):
    """The consented technical fields of the booth side of a call (the hub adds the IP address)."""

    type: Literal["call_info"] = "call_info"
    call_id: Id
    os: Annotated[str, Field(max_length=80)] | None = None
    device: Annotated[str, Field(max_length=80)] | None = None
    browser: Annotated[str, Field(max_length=80)] | None = None
    upload_kbps: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    download_kbps: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    quality: Annotated[str, Field(max_length=40)] | None = None


Kbps = Annotated[float, Field(ge=0, le=10_000_000)]


class Quality(Message):
    """The booth's measurement of the call, every few seconds (rtc/quality.py); relayed to the advisor.

    ``grade`` is good / fair / poor by the thresholds in :mod:`rtc.quality`; rates in kbit/s, loss
    in percent. The hub keeps the rates and the grade as the call's consented technical fields.
    """

    type: Literal["quality"] = "quality"
    call_id: Id
    grade: Literal["good", "fair", "poor"] | None = None
    send_kbps: Kbps = 0.0
    recv_kbps: Kbps = 0.0
    rtt_ms: Annotated[float, Field(ge=0, le=600_000)] | None = None
    jitter_ms: Annotated[float, Field(ge=0, le=600_000)] | None = None
    send_loss_pct: Annotated[float, Field(ge=0, le=100)] = 0.0
    recv_loss_pct: Annotated[float, Field(ge=0, le=100)] = 0.0
    fps: Annotated[float, Field(ge=0, le=240)] | None = None
    width: Annotated[int, Field(ge=0, le=8192)] | None = None
    height: Annotated[int, Field(ge=0, le=8192)] | None = None
    level: Annotated[int, Field(ge=0, le=16)] = 0
    max_bytes: ClassVar[int] = 1024


class Survey(Message):
    """The anonymous survey answers: deliberately no session id, no call id and no time.

    The hub only adds them to per-day, per-location counts (hub/stats.py).
    """

    type: Literal["survey"] = "survey"
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    easy: bool | None = None
    again: bool | None = None
    max_bytes: ClassVar[int] = 256

    def answers(self) -> dict[str, Any]:
        return {"rating": self.rating, "easy": self.easy, "again": self.again}


# --- hub -> booth ---------------------------------------------------------------------------


class Welcome(Message):
    type: Literal["welcome"] = "welcome"
    booth_id: Id
    ice_servers: IceServers = []
    heartbeat_s: float = 10.0
    reconnect_timeout_s: float = 60.0


class AdvisorInformed(Message):
    type: Literal["advisor_informed"] = "advisor_informed"
    session_id: Id


class QueueUpdate(Message):
    type: Literal["queue_update"] = "queue_update"
    session_id: Id
    position: Annotated[int, Field(ge=1)]
    estimated_wait_s: Annotated[float, Field(ge=0)]


class Admitted(Message):
    type: Literal["admitted"] = "admitted"
    session_id: Id
    call_id: Id
    ice_servers: IceServers = []
    # Set on a peer link only (hub/groupcall.py): the role of the participant to offer to.
    role: Role | None = None


class Declined(Message):
    type: Literal["declined"] = "declined"
    session_id: Id
    message: ShortText = ""


class CallEnded(Message):
    type: Literal["call_ended"] = "call_ended"
    call_id: Id
    reason: Literal["ended", "timeout", "error"] = "ended"


class Withdrawn(Message):
    """A booth's withdrawal (``leave_waiting``, ``withdraw``) is done: the session's call ended and
    its rows deleted. Until this arrives the booth sends it again (appliance/hublink.py)."""

    type: Literal["withdrawn"] = "withdrawn"
    session_id: Id


class RestartCall(Message):
    """The advisor's console came back after losing its connection: offer a fresh peer connection."""

    type: Literal["restart_call"] = "restart_call"
    call_id: Id


# --- advisor -> hub -------------------------------------------------------------------------


class Admit(Message):
    type: Literal["admit"] = "admit"
    session_id: Id


class Decline(Message):
    type: Literal["decline"] = "decline"
    session_id: Id
    message: ShortText = ""


class Seen(Message):
    """The console has shown and announced this waiting customer: the booth may say so."""

    type: Literal["seen"] = "seen"
    session_id: Id


# --- hub -> advisor -------------------------------------------------------------------------


class Snapshot(Message):
    type: Literal["snapshot"] = "snapshot"
    advisor: Annotated[str, Field(max_length=64)]
    waiting: list[WaitingEntry]
    booths: list[BoothInfo]
    ice_servers: IceServers = []
    max_bytes: ClassVar[int] = 4 * MAX_MESSAGE_BYTES


class WaitingAdded(Message):
    type: Literal["waiting_added"] = "waiting_added"
    entry: WaitingEntry


class WaitingUpdated(Message):
    type: Literal["waiting_updated"] = "waiting_updated"
    entry: WaitingEntry


class WaitingRemoved(Message):
    type: Literal["waiting_removed"] = "waiting_removed"
    session_id: Id
    reason: Literal["cancel", "withdraw", "timeout", "reset", "admitted", "declined", "offline"]


class BoothStatus(Message):
    type: Literal["booth_status"] = "booth_status"
    booth: BoothInfo


class CallCustomer(Message):
    """Whom the advisor's call is with, as the customer gave it (customers only; both may be
    empty): after the admit, again when details typed as the advisor admitted arrive late, and
    after the console reconnects."""

    type: Literal["call_customer"] = "call_customer"
    call_id: Id
    name: PersonName | None = None
    customer_number: CustomerNumber | None = None


class AdmitResult(Message):
    """Answer to ``admit``: exactly one advisor gets ``ok``; the others learn who was faster."""

    type: Literal["admit_result"] = "admit_result"
    session_id: Id
    ok: bool
    call_id: Id | None = None
    ice_servers: IceServers = []
    reason: Literal["taken", "gone"] | None = None


class CallState(Message):
    type: Literal["call_state"] = "call_state"
    call_id: Id
    state: Literal["connecting", "reconnecting", "resumed", "ended"]
    reason: Literal["ended", "timeout", "error"] | None = None


# --- appointments: a code typed at the booth, checked by the hub (hub/appointments.py) ----------


class AppointmentCheck(Message):
    """The customer typed (or showed) an appointment code at the booth; the hub checks it."""

    type: Literal["appointment_check"] = "appointment_check"
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9 -]{1,20}$")] | None = None
    # Or the personal link's token, read from the invitation's QR code by the booth camera.
    token: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{20,100}$")] | None = None
    max_bytes: ClassVar[int] = 256

    @model_validator(mode="after")
    def _one_of_them(self) -> "AppointmentCheck":
        if (self.code is None) == (self.token is None):
            raise ValueError("give either 'code' or 'token'")
        return self


class AppointmentResult(Message):
    """The hub's verdict on a code: ``ok`` with the appointment's time (ISO 8601, UTC), or why not.

    ``opens_at`` comes with ``too_early``. Never a name, e-mail address or customer number.
    """

    type: Literal["appointment_result"] = "appointment_result"
    ok: bool
    reason: Literal["unknown", "too_early", "expired", "cancelled", "rate_limited", "unavailable"] | None = None
    appointment_at: Annotated[str, Field(max_length=40)] | None = None
    opens_at: Annotated[str, Field(max_length=40)] | None = None
    language: Language | None = None
    role: Role | None = None
    max_bytes: ClassVar[int] = 512


_CALL = (Offer, Answer, Candidate, Hangup)
MESSAGES: dict[str, type[Message]] = {
    m.model_fields["type"].default: m
    for m in (
        *_CALL, Error, Hello, Heartbeat, Status, Waiting, WaitingUpdate, LeaveWaiting, CallInfo, Quality, Survey,
        Welcome, AdvisorInformed, QueueUpdate, Admitted, Declined, CallEnded, Withdrawn, RestartCall,
        Admit, Decline, Seen, Snapshot, WaitingAdded, WaitingUpdated, WaitingRemoved, BoothStatus,
        AdmitResult, CallCustomer, CallState, AppointmentCheck, AppointmentResult, Chat, ScreenShare, WaitingNote,
        *FLEET_BOOTH_TO_HUB, *FLEET_HUB_TO_BOOTH,  # health and technicians' actions (rtc/protocol.py, fleet section)
    )
}


def _types(*models: type[Message]) -> frozenset[str]:
    return frozenset(m.model_fields["type"].default for m in models)


# What each side accepts: a booth cannot send ``admit``, an advisor cannot send ``waiting``.
BOOTH_TO_HUB = _types(*_CALL, Hello, Heartbeat, Status, Waiting, WaitingUpdate, LeaveWaiting, CallInfo, Quality, Survey,
                      AppointmentCheck, Chat, *FLEET_BOOTH_TO_HUB)
# A customer's (or interpreter's) own browser at home speaks the booth protocol as a "virtual
# booth" (hub/guest.py), but only a person's part of it: no device faults, no code check at a
# booth, no fleet health or technicians' actions (those would write rows the purge never takes).
GUEST_TO_HUB = _types(*_CALL, Hello, Heartbeat, Waiting, WaitingUpdate, LeaveWaiting, CallInfo, Quality, Survey, Chat)
HUB_TO_BOOTH = _types(*_CALL, Error, Welcome, AdvisorInformed, QueueUpdate, Admitted, Declined, CallEnded, Withdrawn, RestartCall,
                      AppointmentResult, Chat, ScreenShare, WaitingNote, *FLEET_HUB_TO_BOOTH)
ADVISOR_TO_HUB = _types(*_CALL, Admit, Decline, Seen, Heartbeat, Chat, ScreenShare, WaitingNote)
HUB_TO_ADVISOR = _types(
    *_CALL, Error, Snapshot, WaitingAdded, WaitingUpdated, WaitingRemoved, BoothStatus, AdmitResult, CallCustomer,
    CallState, Quality, Chat,
)


def parse(raw: str | bytes, accept: frozenset[str]) -> Message:
    """Validate one incoming message; raise :class:`ProtocolError` with a reply code if it is bad."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"message of {size} bytes exceeds the limit of {MAX_MESSAGE_BYTES}")
    try:
        data: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands deep
        raise ProtocolError("malformed", "message is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("malformed", "message must be a JSON object with a string 'type'")
    kind = data["type"][:40]
    model = MESSAGES.get(kind)
    if model is None or kind not in accept:
        raise ProtocolError("unknown_type", f"message type {kind!r} is not accepted here", ref=kind)
    if size > model.max_bytes:
        raise ProtocolError("too_large", f"{kind!r} message of {size} bytes exceeds {model.max_bytes}", ref=kind)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise ProtocolError("invalid", f"{kind!r}: {where}: {first['msg']}", ref=kind) from None


def encode(message: Message) -> str:
    """Compact JSON for the wire."""
    return message.model_dump_json()


def _printable(text: str | None) -> str | None:
    # JSON may carry lone surrogates ("\ud800"): valid input to json.loads, invalid in a reply.
    return None if text is None else text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_for(exc: ProtocolError) -> Error:
    """The ``error`` reply for a rejected message (whatever characters the bad message held)."""
    ref = _printable(exc.ref)
    return Error(code=exc.code, message=_printable(str(exc))[:400], ref=ref[:40] if ref else None)
