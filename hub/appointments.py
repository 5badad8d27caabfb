"""Appointments: who is expected when, and the personal links and codes that let them in.

An advisor books an appointment for a customer (time in Europe/Berlin, the customer's e-mail,
optional customer number and name, language) with up to three extra participants, each known
only by role (interpreter, legal representative, other) and e-mail address. Every participant
gets two secrets, returned once for the invitation e-mail and stored only as SHA-256 hashes:

- a personal link token (``secrets.token_urlsafe(32)``: 256 bits, unguessable), and
- a short appointment code for typing at a booth: 8 characters from an alphabet without
  ambiguous letters (no 0/O, 1/I/L), about 40 bits; a guesser is slowed down per booth or client
  address (hub/backoff.py), never the other people at that booth.

Links open 30 minutes before the appointment and expire when it is over (plus a grace period for
rejoining). Every row carries ``expires_at`` (the appointment's end plus the retention period, 14
days at most) and :func:`purge` deletes expired rows like the hub's call rows.

Example::

    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> book = AppointmentBook(open_database(":memory:"), FakeClock())
    >>> draft = AppointmentDraft(starts_local="2026-01-01T09:15", language="de",
    ...                          customer_email="kunde@example.org",
    ...                          participants=[{"role": "interpreter", "email": "dolmetsch@example.org"}])
    >>> appointment, invitations = book.create(draft)
    >>> [i.participant.role for i in invitations], len(invitations[0].code)
    (['customer', 'interpreter'], 8)
    >>> book.admit_code(invitations[1].code, client="booth:b-1").participant.role
    'interpreter'
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from .storage import Database
from pydantic import BaseModel, ConfigDict, Field, field_validator

from rtc.protocol import LANGUAGES, CustomerNumber, PersonName
from videokiosk.clock import Clock
from videokiosk.retention import MAX_RETENTION_DAYS

from .errors import HubError
from .backoff import Backoff, Failures, MemoryFailures

log = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
EXTRA_ROLES = ("interpreter", "sign_language_interpreter", "legal_representative", "other")  # DGS: sign language
MAX_EXTRA = 3  # a full mesh of four parties: customer, advisor, two or three more
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read off a mail
CODE_LENGTH = 8
OPENS_BEFORE = timedelta(minutes=30)
# After the booked end a dropped call can still be rejoined from the e-mail for a while.
GRACE_AFTER = timedelta(minutes=30)
PARTICIPANT_PREFIX = "p-"  # of a participant's id (a participant at home is the virtual booth named after it)


Email = Annotated[str, Field(pattern=r"^[^@\s<>\"(),;:]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$", max_length=254)]


class AppointmentError(HubError):
    """A link or code cannot be used (now). ``reason`` is for machines and translation keys."""

    def __init__(self, message: str, reason: str, opens_at: datetime | None = None,
                 retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # unknown | too_early | expired | cancelled | rate_limited | invalid
        self.opens_at = opens_at
        self.retry_after_s = retry_after_s  # rate_limited: seconds until this client may try again


class ExtraParticipant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    role: Literal["interpreter", "sign_language_interpreter", "legal_representative", "other"]
    email: Email


class AppointmentDraft(BaseModel):
    """What the advisor types; ``starts_local`` is wall time in Europe/Berlin (``YYYY-MM-DDTHH:MM``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
    starts_local: datetime
    duration_min: Annotated[int, Field(ge=5, le=240)] = 30
    language: Literal[LANGUAGES] = "de"  # type: ignore[valid-type]
    customer_email: Email
    customer_number: CustomerNumber | None = None
    name: PersonName | None = None
    participants: Annotated[list[ExtraParticipant], Field(max_length=MAX_EXTRA)] = []

    @field_validator("starts_local")
    @classmethod
    def _wall_time(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=None, second=0, microsecond=0)

    @field_validator("customer_number", "name")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def starts_at(self) -> datetime:
        """The start as aware UTC (DST resolved by zoneinfo)."""
        return self.starts_local.replace(tzinfo=BERLIN).astimezone(timezone.utc)


@dataclass(frozen=True)
class Participant:
    participant_id: str
    appointment_id: str
    role: str  # customer | interpreter | sign_language_interpreter | legal_representative | other
    email: str
    agreed_at: str | None = None  # a further participant: when the customer's agreement was recorded


@dataclass(frozen=True)
class Appointment:
    appointment_id: str
    starts_at: datetime  # aware UTC
    duration_min: int
    language: str
    customer_number: str | None
    name: str | None
    status: str  # booked | cancelled
    sequence: int  # grows with each change: calendars replace the older event
    participants: tuple[Participant, ...]
    created_by: str = ""  # the advisor who booked it: the only one (besides a lead) who may change it

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(BERLIN)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_min)

    @property
    def opens_at(self) -> datetime:
        return self.starts_at - OPENS_BEFORE

    @property
    def closes_at(self) -> datetime:
        return self.ends_at + GRACE_AFTER

    @property
    def customer(self) -> Participant:
        return next(p for p in self.participants if p.role == "customer")


@dataclass(frozen=True)
class Invitation:
    """A participant's fresh secrets: exist only in memory, on their way into an e-mail."""

    participant: Participant
    token: str
    code: str


@dataclass(frozen=True)
class Admission:
    """A valid link or code, right now: who it belongs to and for which appointment."""

    appointment: Appointment
    participant: Participant


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_code(code: str) -> str:
    """Upper case, no spaces or dashes: ``k7m2-x9pq`` and ``K7M2X9PQ`` are the same code."""
    return "".join(ch for ch in code.upper() if ch.isalnum())[:32]


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


class AppointmentBook:
    """Appointments in the hub's SQLite file, with their participants' hashed secrets."""

    def __init__(self, db: Database, clock: Clock, retention_days: int = MAX_RETENTION_DAYS,
                 failures: Failures | None = None) -> None:
        """``failures``: where wrong codes and links are counted (shared by every hub: hub/backoff.py)."""
        self._db = db
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        # per booth or client address
        self._guesses = Backoff.for_guesses(failures or MemoryFailures(clock), "appointment")

    @property
    def clock(self) -> Clock:
        return self._clock

    # --- advisors ------------------------------------------------------------------------------

    def create(self, draft: AppointmentDraft, created_by: str = "") -> tuple[Appointment, list[Invitation]]:
        appointment_id = "a-" + secrets.token_urlsafe(9)
        with self._db.transaction():
            self._db["appointments"].insert({
                "appointment_id": appointment_id, "status": "booked", "sequence": 0, "created_by": created_by,
                **self._fields(draft),
            })
            invitations = self._invite(appointment_id, draft, created_by)
        log.info("appointment %s: booked with %d extra participant(s)", appointment_id, len(draft.participants))
        return self.get(appointment_id), invitations

    def update(self, appointment_id: str, draft: AppointmentDraft) -> tuple[Appointment, list[Invitation]]:
        """Change an appointment; everybody gets fresh secrets (the change mail carries them)."""
        old = self.get(appointment_id)
        if old.status == "cancelled":
            raise AppointmentError("a cancelled appointment cannot be changed; book a new one", "cancelled")
        with self._db.transaction():
            self._db["appointments"].update(appointment_id, {"sequence": old.sequence + 1, **self._fields(draft)})
            self._db.execute("DELETE FROM appointment_participants WHERE appointment_id = ?", [appointment_id])
            invitations = self._invite(appointment_id, draft, self._db["appointments"].get(appointment_id)["created_by"])
        log.info("appointment %s: changed", appointment_id)
        return self.get(appointment_id), invitations

    def cancel(self, appointment_id: str) -> Appointment:
        old = self.get(appointment_id)
        if old.status != "cancelled":
            self._db["appointments"].update(appointment_id, {
                "status": "cancelled", "sequence": old.sequence + 1, "updated_at": self._clock.now().isoformat()})
            log.info("appointment %s: cancelled", appointment_id)
        return self.get(appointment_id)

    def get(self, appointment_id: str) -> Appointment:
        row = next(iter(self._db["appointments"].rows_where("appointment_id = ?", [appointment_id])), None)
        if row is None:
            raise AppointmentError("no such appointment (it may have been deleted after 14 days)", "unknown")
        return self._appointment(row)

    def participant(self, participant_id: str) -> Participant | None:
        """One participant by id; None once purged (or replaced: a change gives everybody new ids)."""
        row = next(iter(self._db["appointment_participants"].rows_where("participant_id = ?", [participant_id])), None)
        return None if row is None else _participant(row)

    def upcoming(self) -> list[Appointment]:
        """Every appointment not yet over, soonest first (cancelled ones too, marked as such)."""
        since = (self._clock.now() - timedelta(hours=12)).isoformat()
        rows = self._db["appointments"].rows_where("starts_at >= ?", [since], order_by="starts_at")
        return [self._appointment(row) for row in rows]

    # --- customers and participants -----------------------------------------------------------

    def admit_token(self, token: str, client: str) -> Admission:
        """The admission for a personal link, or :class:`AppointmentError` saying why not."""
        return self._admit("token_hash", token[:100], client, "link")

    def admit_code(self, code: str, client: str) -> Admission:
        """The admission for an appointment code typed at a booth (or read from the QR code)."""
        return self._admit("code_hash", normalise_code(code), client, "code")

    def _admit(self, column: str, secret: str, client: str, what: str) -> Admission:
        wait = self._guesses.wait_s(client)
        if wait > 0:
            # Not checked, so not counted: the wait does not grow while a person waits it out.
            # Logged without the client address: logs outlive the purge.
            log.warning("appointments: a client is rate-limited after wrong %ss", what)
            raise AppointmentError("too many wrong attempts; please wait a moment", "rate_limited",
                                   retry_after_s=math.ceil(wait))
        row = None
        if secret:
            row = next(iter(self._db["appointment_participants"].rows_where(f"{column} = ?", [_hash(secret)])), None)
        if row is None:
            self._guesses.failed(client)
            log.warning("appointments: unknown %s presented", what)
            raise AppointmentError(f"this {what} is not known", "unknown")
        appointment = self.get(row["appointment_id"])
        participant = next(p for p in appointment.participants if p.participant_id == row["participant_id"])
        now = self._clock.now()
        if appointment.status == "cancelled":
            raise AppointmentError("this appointment has been cancelled", "cancelled")
        if now < appointment.opens_at:
            raise AppointmentError("the appointment has not opened yet", "too_early", appointment.opens_at)
        if now > appointment.closes_at:
            raise AppointmentError("the appointment is over", "expired")
        log.info("appointment %s: %s admitted by %s", appointment.appointment_id, participant.role, what)
        return Admission(appointment, participant)

    # --- helpers -------------------------------------------------------------------------------

    def _fields(self, draft: AppointmentDraft) -> dict:
        starts_at = draft.starts_at
        ends = starts_at + timedelta(minutes=draft.duration_min) + GRACE_AFTER
        return {
            "starts_at": starts_at.isoformat(), "duration_min": draft.duration_min, "language": draft.language,
            "customer_number": draft.customer_number, "name": draft.name,
            "updated_at": self._clock.now().isoformat(), "expires_at": self._expiry(ends).isoformat(),
        }

    def expiry_for(self, appointment: Appointment) -> datetime:
        """When the rows about this appointment (and mails about it) are deleted."""
        return self._expiry(appointment.closes_at)

    def _expiry(self, closes_at: datetime) -> datetime:
        # Personal rows live until the appointment is over, then the retention period, no longer.
        return max(closes_at, self._clock.now()) + self._retention

    def _invite(self, appointment_id: str, draft: AppointmentDraft, advisor: str) -> list[Invitation]:
        """Fresh secrets for everybody; a further participant's row records the customer's prior
        agreement to them: booked by ``advisor`` with the customer, now."""
        expires_at = self._db["appointments"].get(appointment_id)["expires_at"]
        now = self._clock.now().isoformat(timespec="seconds")
        people = [("customer", draft.customer_email)] + [(p.role, p.email) for p in draft.participants]
        invitations = []
        for order, (role, email) in enumerate(people):
            participant = Participant(PARTICIPANT_PREFIX + secrets.token_urlsafe(9), appointment_id, role, email)
            token, code = secrets.token_urlsafe(32), new_code()
            self._db["appointment_participants"].insert({
                "participant_id": participant.participant_id, "appointment_id": appointment_id, "role": role,
                "email": email, "token_hash": _hash(token), "code_hash": _hash(code), "expires_at": expires_at,
                "list_order": order,
                **({} if role == "customer" else {"agreed_by": advisor, "agreed_at": now}),
            })
            invitations.append(Invitation(participant, token, code))
        return invitations

    def _appointment(self, row: dict) -> Appointment:
        people = self._db["appointment_participants"].rows_where(
            "appointment_id = ?", [row["appointment_id"]], order_by="list_order")
        return Appointment(
            row["appointment_id"], datetime.fromisoformat(row["starts_at"]), row["duration_min"], row["language"],
            row["customer_number"], row["name"], row["status"], row["sequence"],
            tuple(_participant(p) for p in people),
            row["created_by"] or "",
        )


def _participant(row: dict) -> Participant:
    return Participant(row["participant_id"], row["appointment_id"], row["role"], row["email"], row.get("agreed_at"))


def purge_appointments(db: Database, now: datetime) -> int:
    """Delete every appointment and participant row past its expiry, in one transaction."""
    with db.transaction():
        gone = db.execute("DELETE FROM appointment_participants WHERE expires_at <= ?", [now.isoformat()]).rowcount
        gone += db.execute("DELETE FROM appointments WHERE expires_at <= ?", [now.isoformat()]).rowcount
    return gone
