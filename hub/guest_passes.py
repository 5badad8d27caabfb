"""Guest passes: which personal link a home participant's browser cookie stands for, in SQLite.

Opening the personal link (``POST /api/join``) issues a pass: a random cookie value whose SHA-256
alone is stored, with the participant and appointment it belongs to. Kept in the hub's database, a
pass survives a hub restart, so a participant at home is not logged out mid-appointment.

A pass is personal data only in that it links to a participant (and, through the calls it made,
to their call rows, so a withdrawal can delete those at once). So it lives exactly as long as the
participant's rows: it carries the appointment's ``expires_at`` (the end of its window plus the
retention period, 14 days at most), and :func:`purge_guest_passes` (run by the hub's hourly purge)
deletes it then, or as soon as its participant row is gone (the appointment was changed and new
links were mailed) and it has no consent record or call left to withdraw. A pass is *accepted*
only while the appointment's window is open and it is not cancelled; until the purge the hub can
still tell the page why not ("expired"). A withdrawal needs no open window: :meth:`GuestPasses.kept`
finds the pass as long as it is kept (consent can be withdrawn at any time, DEVELOPERS.md 6).

Example::

    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> db = open_database(":memory:")
    >>> passes = GuestPasses(db, AppointmentBook(db, FakeClock()), FakeClock())
    >>> passes.get("no-such-cookie") is None
    True
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from .storage import Database

from videokiosk.clock import Clock

from .appointments import Admission, AppointmentBook, AppointmentError


# Browsers one link keeps signed in at once (a phone, a computer, a few reloads; each page load
# opens the link anew): the oldest pass goes when one more is issued, its calls go to the new one
# (a withdrawal still finds them). One link is one person, never a row generator.
MAX_PASSES_PER_PARTICIPANT = 10


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class PassRefused(AppointmentError):
    """The cookie does not (or no longer) stand for a valid link; ``reason`` says why.

    ``pass_lost`` (unknown cookie: open the link again), ``expired``, ``cancelled``.
    """


@dataclass(frozen=True)
class GuestPass:
    pass_hash: str
    admission: Admission


@dataclass(frozen=True)
class KeptPass:
    """A pass that is kept, whether or not its link still opens (for a withdrawal)."""

    pass_hash: str
    participant_id: str


class GuestPasses:
    """Issue and check guest passes; the appointment book decides whether the link still holds."""

    def __init__(self, db: Database, book: AppointmentBook, clock: Clock) -> None:
        self._db = db
        self._book = book
        self._clock = clock

    def issue(self, admission: Admission) -> str:
        """A new pass for ``admission``; returns the cookie value (never stored). The participant's
        oldest passes beyond :data:`MAX_PASSES_PER_PARTICIPANT` go, their calls to the new one."""
        key = secrets.token_urlsafe(32)
        new, participant_id = _hash(key), admission.participant.participant_id
        expires = self._book.expiry_for(admission.appointment)  # with the appointment's own rows
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO guest_passes (pass_hash, participant_id, appointment_id, expires_at, issued_at) "
                "VALUES (?, ?, ?, ?, ?)", [new, participant_id, admission.appointment.appointment_id,
                                           expires.isoformat(), self._clock.now().isoformat()])
            others_newest_first = [row[0] for row in self._db.execute(
                "SELECT pass_hash FROM guest_passes WHERE participant_id = ? AND pass_hash != ? "
                "ORDER BY issued_at DESC, pass_hash", [participant_id, new]).fetchall()]
            for pass_hash in others_newest_first[MAX_PASSES_PER_PARTICIPANT - 1:]:
                self._db.execute("UPDATE guest_pass_calls SET pass_hash = ? WHERE pass_hash = ?", [new, pass_hash])
                self._db.execute("DELETE FROM guest_passes WHERE pass_hash = ?", [pass_hash])
        return key

    def check(self, key: str | None) -> GuestPass:
        """The pass behind cookie value ``key``, or :class:`PassRefused` saying why not."""
        return self._check_row(self._row(key))

    def kept(self, key: str | None) -> KeptPass:
        """The pass behind cookie value ``key`` as long as it is kept: after the appointment was
        cancelled, changed or is over too. :class:`PassRefused` (``pass_lost``) if there is none."""
        row = self._row(key)
        if row is None:
            raise PassRefused("this browser has no pass (any more): nothing of it is kept", "pass_lost")
        return KeptPass(row["pass_hash"], row["participant_id"])

    def _row(self, key: str | None) -> dict | None:
        """The stored pass behind cookie value ``key`` (None: no cookie, or none kept for it)."""
        if not key:
            return None
        return next(iter(self._db["guest_passes"].rows_where("pass_hash = ?", [_hash(key)])), None)

    def valid_among(self, pass_hashes: set[str]) -> set[str]:
        """Which of these passes still hold (the socket watch closes the others' sockets)."""
        valid = set()
        for pass_hash in pass_hashes:
            try:
                self._check_row(next(iter(self._db["guest_passes"].rows_where("pass_hash = ?", [pass_hash])), None))
                valid.add(pass_hash)
            except PassRefused:
                pass
        return valid

    def _check_row(self, row: dict | None) -> GuestPass:
        if row is None:
            raise PassRefused("this browser has no valid pass: please open the link from your invitation again",
                              "pass_lost")
        now = self._clock.now()
        try:
            appointment = self._book.get(row["appointment_id"])
        except AppointmentError:
            appointment = None
        participant = next((p for p in appointment.participants if p.participant_id == row["participant_id"]),
                           None) if appointment else None
        if appointment is not None and appointment.status == "cancelled":
            raise PassRefused("this appointment has been cancelled", "cancelled")
        if participant is None:  # the appointment was changed (new links mailed) or deleted
            raise PassRefused("this link has been replaced: please open the link from your latest invitation",
                              "pass_lost")
        if now > appointment.closes_at:
            raise PassRefused("the appointment is over: this link no longer works", "expired")
        return GuestPass(row["pass_hash"], Admission(appointment, participant))

    def get(self, key: str | None) -> GuestPass | None:
        try:
            return self.check(key)
        except PassRefused:
            return None

    def add_call(self, guest: GuestPass, call_id: str) -> None:
        """Remember that ``guest`` took part in ``call_id`` (for a withdrawal)."""
        row = next(iter(self._db["guest_passes"].rows_where("pass_hash = ?", [guest.pass_hash])), None)
        if row is not None:
            self._db["guest_pass_calls"].upsert(
                {"call_id": call_id, "pass_hash": guest.pass_hash, "expires_at": row["expires_at"]}, pk="call_id")

    def withdraw(self, participant_id: str) -> None:
        """Consent withdrawn: the rows of the calls the participant's passes took part in go at
        once, and so do their links to the passes."""
        mine = "SELECT pass_hash FROM guest_passes WHERE participant_id = ?"
        with self._db.transaction():
            self._db.execute("DELETE FROM calls WHERE call_id IN "
                             f"(SELECT call_id FROM guest_pass_calls WHERE pass_hash IN ({mine}))", [participant_id])
            self._db.execute(f"DELETE FROM guest_pass_calls WHERE pass_hash IN ({mine})", [participant_id])


def purge_guest_passes(db: Database, now: datetime) -> int:
    """Delete every pass past its expiry, or without its participant row and with nothing left to
    withdraw (no consent record, no call), and their call links."""
    with db.transaction():
        gone = db.execute("DELETE FROM guest_passes WHERE expires_at <= ? OR (participant_id NOT IN "
                          "(SELECT participant_id FROM appointment_participants) AND participant_id NOT IN "
                          "(SELECT participant_id FROM guest_consents) AND pass_hash NOT IN "
                          "(SELECT pass_hash FROM guest_pass_calls))", [now.isoformat()]).rowcount
        gone += db.execute("DELETE FROM guest_pass_calls WHERE expires_at <= ? OR pass_hash NOT IN "
                           "(SELECT pass_hash FROM guest_passes)", [now.isoformat()]).rowcount
    return gone
