"""The booth's local store: exactly the fields the consent names, each personal row with an expiry.

Personal tables (deleted by :meth:`BoothStore.purge` once ``expires_at`` has passed, and at once
by :meth:`BoothStore.withdraw`):

- ``consents``: the consent record (time, text version hash, language), written first;
- ``participants``: customer number and name (customers only), role (other participants only);
- ``technical``: IP address, operating system, device, browser, upload/download rate,
  transmission quality.

Anonymous tables (never purged, nothing points back to a person):

- ``survey``: per week, per question and answer, a count, written only in batches of at least five
  surveys (videokiosk/surveypool.py). No session id, no time finer than the week, not even a row
  per response, so answers cannot be joined to a call or to each other;
- ``daily_stats``: per day, counts and summed wait / call seconds.

Withdrawals the hub has not had yet:

- ``withdrawals``: the session's random id alone, written with the deletion of the session's rows
  (one transaction) and deleted once the hub confirmed it (appliance/hublink.py): a customer who
  withdraws while the booth has no hub (or the hub's database is away) still has the hub's rows
  deleted, after a restart too; the purge drops one never confirmed after the retention, when the
  hub's rows are gone as well.

Example::

    >>> from videokiosk.clock import FakeClock
    >>> store = BoothStore(":memory:", clock=FakeClock())
    >>> store.record_consent("a1b2", "de", "sha256:0f")
    >>> store.purge(store.clock.now())
    {'consents': 0, 'participants': 0, 'technical': 0}
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from videokiosk.clock import Clock, SystemClock
from videokiosk.datafiles import erase_now, open_private
from videokiosk.retention import MAX_RETENTION_DAYS, expiry
from videokiosk.surveypool import SurveyPool, rename_day_to_week, tally

from .errors import StoreError

log = logging.getLogger("videokiosk.store")
PERSONAL_TABLES = ("consents", "participants", "technical")
ANONYMOUS_TABLES = ("survey", "daily_stats")
# Every column is here because the consent declaration names it; tests compare against this.
SCHEMA = """
CREATE TABLE IF NOT EXISTS consents (
    session_id TEXT NOT NULL PRIMARY KEY,
    consented_at TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    language TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS participants (
    session_id TEXT NOT NULL REFERENCES consents(session_id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('customer', 'other')),
    customer_number TEXT CHECK (customer_number IS NULL OR kind = 'customer'),
    name TEXT CHECK (name IS NULL OR kind = 'customer'),
    role TEXT CHECK (role IS NULL OR kind = 'other'),
    expires_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_customer ON participants(session_id) WHERE kind = 'customer';
CREATE TABLE IF NOT EXISTS technical (
    session_id TEXT NOT NULL PRIMARY KEY REFERENCES consents(session_id) ON DELETE CASCADE,
    ip_address TEXT,
    operating_system TEXT,
    device TEXT,
    browser TEXT,
    upload_kbps INTEGER,
    download_kbps INTEGER,
    transmission_quality TEXT,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS withdrawals (
    session_id TEXT NOT NULL PRIMARY KEY,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS survey (
    week TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    responses INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (week, question, answer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_stats (
    day TEXT NOT NULL PRIMARY KEY,
    sessions_started INTEGER NOT NULL DEFAULT 0,
    consents_given INTEGER NOT NULL DEFAULT 0,
    checks_failed INTEGER NOT NULL DEFAULT 0,
    waiting_entered INTEGER NOT NULL DEFAULT 0,
    calls INTEGER NOT NULL DEFAULT 0,
    declined INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    timeouts INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    surveys INTEGER NOT NULL DEFAULT 0,
    wait_s_total INTEGER NOT NULL DEFAULT 0,
    call_s_total INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""
STAT_COUNTERS = (
    "sessions_started", "consents_given", "checks_failed", "waiting_entered", "calls", "declined",
    "cancelled", "timeouts", "withdrawn", "surveys", "wait_s_total", "call_s_total",
)
TECHNICAL_FIELDS = (
    "ip_address", "operating_system", "device", "browser", "upload_kbps", "download_kbps",
    "transmission_quality",
)


def stamp(moment: datetime) -> str:
    """Fixed-width UTC text, so that comparing strings compares times."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class BoothStore:
    """The SQLite file under ``[store] path``. ``retention_days`` is at most 14 (config enforces);
    ``keep_withdrawals``: keep each withdrawal until a hub link has delivered it (a booth with a hub)."""

    def __init__(self, path: Path | str, *, clock: Clock | None = None, retention_days: int = MAX_RETENTION_DAYS,
                 survey_pool: SurveyPool | None = None, keep_withdrawals: bool = True) -> None:
        self.clock = clock or SystemClock()
        self._keep_withdrawals = keep_withdrawals  # for a hub (False: the booth has none)
        self._withdrawn_undeleted: set[str] = set()  # withdrawals the disk did not take (see withdraw)
        self._survey_pool = survey_pool or SurveyPool()
        self.retention_days = retention_days
        self.path = str(path)
        try:
            # Private modes, WAL, secure delete: see videokiosk/datafiles.py.
            # Default isolation: sqlite3 opens a transaction before the first write and
            # ``with conn:`` commits it, so each ``with`` block below is one transaction.
            conn = open_private(self.path)
            conn.execute("PRAGMA foreign_keys = ON")
            rename_day_to_week(conn, "survey")
            conn.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the booth store at {self.path}: {exc}") from None
        self.db = sqlite_utils.Database(conn)

    # -- personal rows ----------------------------------------------------------------------

    def record_consent(self, session_id: str, language: str, text_hash: str) -> None:
        """The consent record: written before anything else about the session is stored."""
        now = self.clock.now()
        self._write(lambda: self.db["consents"].insert({
            "session_id": session_id, "consented_at": stamp(now), "text_hash": text_hash,
            "language": language, "expires_at": self._expiry(now),
        }))

    def record_customer(self, session_id: str, *, name: str | None, customer_number: str | None) -> None:
        """Name and customer number the customer typed (replaces what they typed before)."""
        def write() -> None:
            with self.db.conn:
                self.db.execute("DELETE FROM participants WHERE session_id = ? AND kind = 'customer'", [session_id])
                if name or customer_number:
                    self.db["participants"].insert({
                        "session_id": session_id, "kind": "customer", "name": name,
                        "customer_number": customer_number, "expires_at": self._expiry(self.clock.now()),
                    })
        self._write(write)

    def record_participant_role(self, session_id: str, role: str) -> None:
        """A further participant (interpreter, legal representative) joined the session's call: only
        the role is kept, once per role (a participant who reconnects is not a second one)."""
        def write() -> None:
            with self.db.conn:
                self.db.execute(
                    "INSERT INTO participants (session_id, kind, role, expires_at) SELECT ?, 'other', ?, ? "
                    "WHERE NOT EXISTS (SELECT 1 FROM participants WHERE session_id = ? AND kind = 'other' AND role = ?)",
                    [session_id, role, self._expiry(self.clock.now()), session_id, role])
        self._write(write)

    def record_technical(self, session_id: str, **fields: Any) -> None:
        """Merge technical fields (device check rates now, transmission quality after a call)."""
        unknown = set(fields) - set(TECHNICAL_FIELDS)
        if unknown:
            raise StoreError(f"not a consented technical field: {', '.join(sorted(unknown))}")
        row = {"session_id": session_id, **fields, "expires_at": self._expiry(self.clock.now())}
        self._write(lambda: self.db["technical"].upsert(row, pk="session_id"))

    def withdraw(self, session_id: str) -> int:
        """Consent withdrawn: delete every personal row of that session, at once. Returns rows.

        A disk that takes no write (full, or remounted read-only by a failing SD card) raises
        :class:`StoreError`; the deletion is then tried again before every later write and purge,
        and done with the first one the disk takes (as long as this process runs: after a restart
        the purge at the end of the retention is what is left).
        """
        try:
            return self._write(lambda: self._delete_session(session_id))
        except StoreError:
            self._withdrawn_undeleted.add(session_id)
            raise

    def _delete_session(self, session_id: str) -> int:
        removed = 0
        with self.db.conn:
            for table in reversed(PERSONAL_TABLES):
                removed += self.db.execute(f"DELETE FROM {table} WHERE session_id = ?", [session_id]).rowcount
            self._keep_withdrawal(session_id)  # in the same transaction: no power cut parts the two
        erase_now(self.db.conn)  # after the commit: gone from the disk too, not only from the tables
        return removed

    def _delete_withdrawn_undeleted(self) -> None:
        """Withdrawals the disk could not take before: first, before any other write."""
        for session_id in sorted(self._withdrawn_undeleted):
            try:
                self._delete_session(session_id)
            except sqlite3.Error:
                return  # the disk still takes nothing: the next write tries again
            self._withdrawn_undeleted.discard(session_id)
            log.info("store: a withdrawal the disk could not take before is done now")

    # -- withdrawals for the hub (appliance/hublink.py: WithdrawalOutbox) ---------------------

    def add_withdrawal(self, session_id: str) -> None:
        """Keep ``session_id``'s withdrawal until the hub has it (:meth:`withdraw` already did)."""
        def write() -> None:
            with self.db.conn:
                self._keep_withdrawal(session_id)
        self._write(write)

    def pending_withdrawals(self) -> list[str]:
        """Withdrawals not yet delivered to the hub, oldest first."""
        try:
            return [r[0] for r in self.db.execute("SELECT session_id FROM withdrawals ORDER BY rowid")]
        except sqlite3.Error as exc:
            raise StoreError(f"the booth store at {self.path} could not be read: {exc}") from None

    def withdrawal_delivered(self, session_id: str) -> None:
        """The hub confirmed it: the id goes from the disk too (it named the hub's rows of the session)."""
        def write() -> None:
            with self.db.conn:
                self.db.execute("DELETE FROM withdrawals WHERE session_id = ?", [session_id])
            erase_now(self.db.conn)
        self._write(write)

    def _keep_withdrawal(self, session_id: str) -> None:
        if not self._keep_withdrawals:
            return
        self.db.execute("INSERT OR IGNORE INTO withdrawals (session_id, expires_at) VALUES (?, ?)",
                        [session_id, self._expiry(self.clock.now())])

    def purge(self, now: datetime) -> dict[str, int]:
        """Delete every personal row whose expiry has come, in one transaction."""
        cutoff = stamp(now)

        def delete() -> dict[str, int]:
            counts: dict[str, int] = {}
            with self.db.conn:
                for table in reversed(PERSONAL_TABLES):
                    counts[table] = self.db.execute(f"DELETE FROM {table} WHERE expires_at <= ?", [cutoff]).rowcount
                self.db.execute("DELETE FROM withdrawals WHERE expires_at <= ?", [cutoff])  # the hub's rows are gone too
            erase_now(self.db.conn)  # after the commit
            return dict(sorted(counts.items()))
        return self._write(delete)

    # -- anonymous rows ---------------------------------------------------------------------

    def record_survey(self, day: date, **answers: Any) -> None:
        """Count each given answer under its week, once the pool releases a batch (never alone).
        Unanswered questions are not counted."""
        week, batch = self._survey_pool.add(day, "", answers)

        def write() -> None:
            with self.db.conn:
                for (question, text), n in tally(batch).items():
                    self.db.execute(
                        "INSERT INTO survey (week, question, answer, responses) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (week, question, answer) DO UPDATE SET responses = responses + excluded.responses",
                        [week.isoformat(), question, text, n],
                    )
        self._write(write)

    def bump_stats(self, day: date, **counts: int) -> None:
        """Add to the day's anonymous counters (names from STAT_COUNTERS)."""
        unknown = set(counts) - set(STAT_COUNTERS)
        if unknown:
            raise StoreError(f"not a statistics counter: {', '.join(sorted(unknown))}")
        if not counts:
            return
        sets = ", ".join(f"{name} = {name} + :{name}" for name in counts)
        cols = ", ".join(counts)
        vals = ", ".join(f":{name}" for name in counts)
        sql = (f"INSERT INTO daily_stats (day, {cols}) VALUES (:day, {vals}) "
               f"ON CONFLICT (day) DO UPDATE SET {sets}")
        self._write(lambda: self.db.execute(sql, {"day": day.isoformat(), **counts}))

    # -- reading (tests, status) ------------------------------------------------------------

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.db[table].rows)

    def columns(self, table: str) -> list[str]:
        return [col.name for col in self.db[table].columns]

    def close(self) -> None:
        self.db.conn.close()

    def _expiry(self, now: datetime) -> str:
        return stamp(expiry(now, self.retention_days))  # rounded to the day: see videokiosk/retention.py

    def _write(self, operation):
        if self._withdrawn_undeleted:
            self._delete_withdrawn_undeleted()
        try:
            return operation()
        except sqlite3.Error as exc:
            raise StoreError(f"the booth store at {self.path} could not be written: {exc}") from None
