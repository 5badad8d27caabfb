"""The mail outbox: a table in the hub's database and the task that delivers it.

A mail is first written to ``mail_outbox`` (so a hub restart loses nothing), then sent by
:meth:`MailOutbox.run`: over SMTP (``[mail]`` in the hub config: host, port, STARTTLS,
credentials), or, when no SMTP host is configured (the demo), into ``eml_dir`` as ``.eml``
files. A refused or failed delivery is retried with exponential back-off; after
``max_attempts`` the row is ``failed`` and the advisor sees it next to the appointment. Rows hold
an e-mail address, so they carry ``expires_at`` and are purged like every personal row.

Example::

    >>> from email.message import EmailMessage
    >>> from hub.config import MailSection
    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> outbox = MailOutbox(open_database(":memory:"), MailSection(), FakeClock())
    >>> msg = EmailMessage(); msg["To"] = "kunde@example.org"; msg["Subject"] = "Hallo"
    >>> mail_id = outbox.put(msg, appointment_id="a-1", role="customer", kind="invite", expires_at=FakeClock().now())
    >>> outbox.status("a-1")[0]["status"]
    'pending'
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from .errors import DATABASE_UNAVAILABLE, STORAGE_RETRY_S
from .storage import Database

from videokiosk.clock import Clock

from .config import MailSection

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 3600.0
# A hub that claimed a mail and died before it said "sent" or "failed": the mail is due again
# after this (longer than any SMTP conversation: MailSection.timeout_s).
SEND_LEASE_S = 600.0


class DeliveryError(Exception):
    """One delivery attempt failed; ``message`` is what the advisor is shown."""


class Transport(Protocol):
    def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Deliver or raise :class:`DeliveryError`. Blocking: runs in a worker thread."""


class SmtpTransport:
    """SMTP with STARTTLS (verified against the system's CAs, or ``ssl_context``) and log-in."""

    def __init__(self, config: MailSection, ssl_context: ssl.SSLContext | None = None) -> None:
        self._config = config
        self._ssl = ssl_context or ssl.create_default_context(cafile=config.ca_file)

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        cfg = self._config
        try:
            with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_s) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=self._ssl)
                if cfg.username:
                    smtp.login(cfg.username, cfg.password or "")
                smtp.sendmail(sender, [recipient], message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryError(f"SMTP {code}: {_text(text)}") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300]) from None


def _text(raw: bytes | str) -> str:
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))[:300]


class FolderTransport:
    """The demo's "mail server": one ``.eml`` file per mail in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # After the highest number, not the count: the purge deletes files (purge_eml_folder),
            # and a count would name a file that is still there.
            numbers = [int(head) for p in self.folder.glob("*.eml") if (head := p.name.split("-")[0]).isdigit()]
            path = self.folder / f"{max(numbers, default=0) + 1:04d}-{recipient.split('@')[0][:20]}.eml"
            # Whole or not at all: the purge compares a file with its mail, and must never see half of one.
            partial = path.with_suffix(".partial")
            partial.write_bytes(message)
            partial.replace(path)
        except OSError as exc:
            raise DeliveryError(f"cannot write to the mail folder (mail.eml_dir): {exc}") from None


def transport_for(config: MailSection) -> Transport:
    return SmtpTransport(config) if config.smtp_host else FolderTransport(config.eml_dir)


class MailOutbox:
    """Mails waiting to go out, and the delivery loop."""

    def __init__(self, db: Database, config: MailSection, clock: Clock,
                 transport: Transport | None = None) -> None:
        self._db = db
        self._config = config
        self._clock = clock
        self.transport = transport or transport_for(config)
        self._wake = asyncio.Event()
        self.delivered = asyncio.Event()  # set after each pass that sent something (tests wait on it)

    def put(self, message: EmailMessage, *, appointment_id: str, role: str, kind: str, expires_at: datetime) -> int:
        """Store one mail for delivery (committed before this returns) and wake the sender."""
        now = self._clock.now().isoformat()
        if message["From"] is None:
            message["From"] = self._config.sender
        row = {"appointment_id": appointment_id, "role": role, "kind": kind, "recipient": str(message["To"]),
               "message": message.as_bytes(policy=policy.SMTP), "status": "pending", "attempts": 0,
               "next_attempt_at": now, "last_error": None, "created_at": now, "sent_at": None,
               "expires_at": expires_at.isoformat()}
        with self._db.transaction():
            mail_id = self._db["mail_outbox"].insert(row).last_pk
        self._wake.set()
        return mail_id

    def status(self, appointment_id: str) -> list[dict]:
        """Per mail of this appointment: role, kind, status, attempts, last error (for the advisor)."""
        rows = self._db["mail_outbox"].rows_where("appointment_id = ?", [appointment_id], order_by="mail_id",
                                                  select="mail_id, role, kind, status, attempts, last_error")
        return list(rows)

    def retry(self, mail_id: int) -> None:
        """The advisor asked to try a failed mail again, now."""
        self._db["mail_outbox"].update(mail_id, {"status": "pending", "attempts": 0,
                                                 "next_attempt_at": self._clock.now().isoformat()})
        self._wake.set()

    async def deliver_due(self) -> int:
        """One pass: try every pending mail that is due; returns how many went out."""
        now = self._clock.now()
        due = list(self._db["mail_outbox"].rows_where(
            "status = 'pending' AND next_attempt_at <= ?", [now.isoformat()], order_by="mail_id"))
        sent = 0
        for row in due:
            if not self._claim(row):
                continue  # another hub on this database took it first
            try:
                await asyncio.to_thread(self.transport.send, self._config.sender, row["recipient"], row["message"])
            except DeliveryError as exc:
                self._failed(row, str(exc))
                continue
            self._db["mail_outbox"].update(row["mail_id"], {
                "status": "sent", "attempts": row["attempts"] + 1, "sent_at": self._clock.now().isoformat(),
                "last_error": None})
            log.info("mail %d (%s, appointment %s) delivered", row["mail_id"], row["kind"], row["appointment_id"])
            sent += 1
        if sent:
            self.delivered.set()
        return sent

    def _claim(self, row: dict) -> bool:
        """Several hubs may read the same due mail: only the one whose update lands sends it (the
        update is atomic on SQLite and on PostgreSQL, a second one finds the row changed)."""
        lease = (self._clock.now() + timedelta(seconds=SEND_LEASE_S)).isoformat()
        return self._db.execute("UPDATE mail_outbox SET next_attempt_at = ? WHERE mail_id = ? AND status = 'pending' "
                                "AND next_attempt_at = ?", [lease, row["mail_id"], row["next_attempt_at"]]).rowcount == 1

    def _failed(self, row: dict, error: str) -> None:
        attempts = row["attempts"] + 1
        if attempts >= self._config.max_attempts:
            changes = {"status": "failed", "attempts": attempts, "last_error": error}
            log.warning("mail %d (appointment %s) failed for good after %d attempts", row["mail_id"], row["appointment_id"], attempts)
        else:
            delay = min(self._config.retry_base_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
            changes = {"attempts": attempts, "last_error": error,
                       "next_attempt_at": (self._clock.now() + timedelta(seconds=delay)).isoformat()}
            # The SMTP reply may quote the address: the log gets the mail's number only.
            log.info("mail %d: attempt %d failed, next in %.0f s", row["mail_id"], attempts, delay)
        self._db["mail_outbox"].update(row["mail_id"], changes)

    def _seconds_to_next(self) -> float:
        row = next(iter(self._db.query(
            "SELECT min(next_attempt_at) AS at FROM mail_outbox WHERE status = 'pending'")), None)
        if row is None or row["at"] is None:
            return 60.0
        wait = (datetime.fromisoformat(row["at"]) - self._clock.now()).total_seconds()
        return min(max(wait, 0.05), 60.0)

    async def run(self) -> None:
        """Deliver forever: at start (what a restart left behind), on every new mail, when a retry is due."""
        while True:
            self._wake.clear()  # before the pass: a mail put during it wakes the next one
            wait = float(STORAGE_RETRY_S)
            try:
                await self.deliver_due()
                wait = self._seconds_to_next()
            except DATABASE_UNAVAILABLE as exc:  # PostgreSQL restarting, SQLite locked: the mails wait, the next pass sends them
                log.warning("mail outbox: no delivery pass, the hub database is unavailable: %s", exc)
            except Exception:  # a broken row must not stop every later invitation
                log.exception("mail outbox: delivery pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass


def purge_eml_folder(db: Database, folder: Path) -> int:
    """The ``.eml`` files of mails whose row is gone (name, address and personal link are in them):
    a file goes with its row in ``mail_outbox``, 14 days after the appointment. Each hub writes to a
    folder of its own, so each hub runs this every round, not only the one whose turn the purge is.
    Returns how many files went."""
    if not folder.is_dir():
        return 0
    rows = db.execute("SELECT message FROM mail_outbox") if "mail_outbox" in db.table_names() else []
    kept = {hashlib.sha256(bytes(row[0])).digest() for row in rows}
    gone = 0
    for path in folder.glob("*.eml"):
        if hashlib.sha256(path.read_bytes()).digest() not in kept:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def purge_outbox(db: Database, now: datetime) -> int:
    with db.transaction():
        return db.execute("DELETE FROM mail_outbox WHERE expires_at <= ?", [now.isoformat()]).rowcount
