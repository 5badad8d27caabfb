"""Invitation mails through a real SMTP server (aiosmtpd on 127.0.0.1), STARTTLS with a
certificate made here, retries after refusals, and an outbox (the mails waiting to go out) that survives a hub restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import socket
import ssl
from collections.abc import Callable
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography.hazmat.primitives.asymmetric import ec

from hub.appointments import AppointmentDraft
from hub.appointments_web import AppointmentDesk
from hub.config import HubConfig, parse_hub_config
from hub.errors import HubConfigError
from hub.storage import open_database
from hub.mail import compose
from tests.support import certificate, write_pem
from videokiosk.clock import FakeClock

from .conftest import store_for

START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what arrives and refuses the first ``refuse`` mails."""

    def __init__(self, refuse: int = 0, code: str = "451 4.3.0 try again later") -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.refuse, self.code = refuse, code
        self.arrived = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse > 0:
            self.refuse -= 1
            return self.code
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    return write_pem(tmp_path, "smtp", certificate("127.0.0.1", key, ca=True, ip="127.0.0.1", days=1), key)


@pytest.fixture
def desk_for(tmp_path: Path, hub_database: str) -> Callable[..., AppointmentDesk]:
    """A hub's appointment desk on this test's database (SQLite, then PostgreSQL: the outbox is
    durable state); each call is another hub process on the same database."""
    def open_desk(clock: FakeClock, **mail) -> AppointmentDesk:
        config = HubConfig.model_validate({
            "store": store_for(hub_database),
            "mail": {"sender": "videotermin@jobcenter.example", "public_url": "https://hub.example",
                     "eml_dir": str(tmp_path / "mails"), "retry_base_s": 60, "max_attempts": 3, **mail},
        })
        return AppointmentDesk.open(open_database(hub_database), config, clock)
    return open_desk


def parse_ics(text: str) -> list[tuple[str, dict, str]]:
    """A strict little RFC 5545 reader: CRLF lines, unfolding, NAME;PARAMS:VALUE, balanced blocks."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    raw = text[:-2].split("\r\n")
    assert all(len(line.encode()) <= 75 for line in raw)
    lines: list[str] = []
    for line in raw:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    props, stack = [], []
    for line in lines:
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        props.append((name, dict(p.split("=", 1) for p in params), value))
        if name == "BEGIN":
            stack.append(value)
        elif name == "END":
            assert stack.pop() == value
    assert not stack
    return props


DRAFT = dict(starts_local="2026-03-02T10:30", language="tr", customer_email="kunde@example.org", name="Ayşe Yılmaz",
             participants=[{"role": "interpreter", "email": "dolmetsch@example.org"}])


async def test_invitation_arrives_over_smtp_with_date_time_language_link_and_ics(desk_for):
    inbox = Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        desk = desk_for(FakeClock(START), smtp_host="127.0.0.1", smtp_port=port, starttls=False)
        appointment = desk.create(AppointmentDraft(**DRAFT), "anna")
        assert await desk.outbox.deliver_due() == 2
    finally:
        server.stop()
    by_rcpt = {env.rcpt_tos[0]: msg for env, msg in zip(inbox.envelopes, inbox.messages)}
    mail = by_rcpt["kunde@example.org"]
    assert mail["Subject"] == "„Video randevum“ için davet"
    assert mail["Content-Language"] == "tr"
    text = mail.get_body(("plain",)).get_content()
    # 10:30 in Berlin on a Monday in March (CET), in Turkish
    assert "Sayın Ayşe Yılmaz" in text and "2 Mart 2026 Pazartesi, saat 10:30" in text
    assert "Bağlantı koparsa bu e-postadan tekrar katılmanız yeterlidir." in text
    # Further participants join only as agreed beforehand: the customer's mail names them by role
    assert "ayrıca katılacaklar: tercüman." in text
    link = next(line for line in text.splitlines() if line.startswith("https://hub.example/join#"))
    token = link.split("#", 1)[1]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64: 256 bits
    html = mail.get_body(("html",))
    assert f'href="{link}"' in html.get_content() and 'dir="ltr"' in html.get_content()
    qr = next(part for part in mail.walk() if part.get_content_type() == "image/png")
    assert qr.get_content().startswith(b"\x89PNG") and qr["Content-ID"][1:-1] in html.get_content()
    ics = next(part for part in mail.walk() if part.get_content_type() == "text/calendar")
    props = parse_ics(ics.get_content())
    values = {name: (params, value) for name, params, value in props}
    assert values["DTSTART"] == ({"TZID": "Europe/Berlin"}, "20260302T103000")
    assert values["DTEND"] == ({"TZID": "Europe/Berlin"}, "20260302T110000")
    assert values["UID"][1] == f"{appointment.appointment_id}@videokiosk"
    assert values["URL"][1] == link and values["SUMMARY"][1] == "Video randevum"
    assert ("TZID", {}, "Europe/Berlin") in props
    # The interpreter is addressed by role, never by the customer's name
    interp = by_rcpt["dolmetsch@example.org"].get_body(("plain",)).get_content()
    assert "tercüman olarak davet edildiniz" in interp and "Ayşe" not in interp
    # The token from the mail opens the appointment (30 minutes before)
    clock = desk.clock
    clock.advance(dt.timedelta(days=1, hours=1, minutes=5))  # 09:05 UTC = 10:05 Berlin
    assert desk.book.admit_token(token, client="t").participant.role == "customer"


async def test_starttls_with_login_and_a_certificate_made_here(tmp_path, desk_for):
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((mechanism, auth_data.login, session.ssl is not None))
        return AuthResult(success=auth_data.login == b"vk" and auth_data.password == b"pw")

    inbox = Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                        authenticator=authenticator, auth_require_tls=True)
    server.start()
    try:
        desk = desk_for(FakeClock(START), smtp_host="127.0.0.1", smtp_port=port, starttls=True,
                        ca_file=str(cert), username="vk", password="pw")
        desk.create(AppointmentDraft(**{**DRAFT, "participants": []}), "anna")
        assert await desk.outbox.deliver_due() == 1
        # Without trusting the certificate, the hub refuses to talk: the mail is not lost, just retried
        untrusting = desk_for(FakeClock(START), smtp_host="127.0.0.1", smtp_port=port, starttls=True,
                              username="vk", password="pw")
        retried = untrusting.create(AppointmentDraft(**{**DRAFT, "participants": []}), "anna")
        assert await untrusting.outbox.deliver_due() == 0
        [row] = untrusting.outbox.status(retried.appointment_id)
        assert row["status"] == "pending" and "SSL" in row["last_error"]
    finally:
        server.stop()
    assert logins and all(on_tls for _, _, on_tls in logins)
    assert len(inbox.messages) == 1


@pytest.mark.parametrize("code", ["451 4.3.0 try again later", "550 5.1.1 mailbox unavailable"])
async def test_refused_delivery_is_retried_with_backoff_then_shown_as_failed(desk_for, code):
    inbox = Inbox(refuse=1, code=code)
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    clock = FakeClock(START)
    try:
        desk = desk_for(clock, smtp_host="127.0.0.1", smtp_port=port, starttls=False)
        appointment = desk.create(AppointmentDraft(**{**DRAFT, "participants": []}), "anna")
        assert await desk.outbox.deliver_due() == 0
        [row] = desk.outbox.status(appointment.appointment_id)
        assert row["status"] == "pending" and row["attempts"] == 1 and row["last_error"].startswith(f"SMTP {code[:3]}")
        assert await desk.outbox.deliver_due() == 0  # not due yet: back-off
        clock.advance(dt.timedelta(seconds=61))
        assert await desk.outbox.deliver_due() == 1
        assert desk.outbox.status(appointment.appointment_id)[0]["status"] == "sent"
        # A server that keeps refusing: after max_attempts (3) the advisor sees "failed"
        inbox.refuse = 10
        desk.cancel(appointment.appointment_id)
        for wait in (0, 61, 121):
            clock.advance(dt.timedelta(seconds=wait))
            await desk.outbox.deliver_due()
        rows = desk.outbox.status(appointment.appointment_id)
        assert [r["status"] for r in rows] == ["sent", "failed"] and rows[1]["attempts"] == 3
    finally:
        server.stop()


async def test_outbox_survives_a_hub_restart_and_the_sender_task_delivers_it(desk_for):
    # First hub: SMTP unreachable (nothing listens), the invitation waits in the database
    port = free_port()
    clock = FakeClock(START)
    first = desk_for(clock, smtp_host="127.0.0.1", smtp_port=port, starttls=False)
    first.create(AppointmentDraft(**{**DRAFT, "participants": []}), "anna")
    assert await first.outbox.deliver_due() == 0
    first.db.conn.close()  # the hub stops
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        clock.advance(dt.timedelta(minutes=2))
        second = desk_for(clock, smtp_host="127.0.0.1", smtp_port=port, starttls=False)
        task = asyncio.create_task(second.outbox.run())
        await asyncio.wait_for(inbox.arrived.wait(), 10)
        task.cancel()
    finally:
        server.stop()
    assert inbox.messages[0]["Subject"] == "„Video randevum“ için davet"


async def test_without_smtp_mails_land_in_the_eml_folder(tmp_path, desk_for):
    desk = desk_for(FakeClock(START))
    desk.create(AppointmentDraft(**{**DRAFT, "language": "de"}), "anna")
    assert await desk.outbox.deliver_due() == 2
    files = sorted((tmp_path / "mails").glob("*.eml"))
    assert len(files) == 2
    mail = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert mail["Subject"] == "Einladung zu „Mein Videotermin“"
    assert "Montag, 2. März 2026 um 10:30 Uhr" in mail.get_body(("plain",)).get_content()
    assert "Wenn die Verbindung abbricht, treten Sie einfach erneut über diese E-Mail bei." in mail.get_body(("plain",)).get_content()


def test_the_old_key_outbox_dir_still_names_the_eml_folder(tmp_path, caplog):
    """``outbox_dir`` is deprecated (it is ``eml_dir`` now): a config written with it keeps working."""
    config = parse_hub_config({"mail": {"outbox_dir": str(tmp_path / "old")}})
    assert config.mail.eml_dir == tmp_path / "old"
    assert "outbox_dir is deprecated, call it eml_dir" in caplog.text
    with pytest.raises(HubConfigError, match="give only eml_dir"):
        parse_hub_config({"mail": {"outbox_dir": "a", "eml_dir": "b"}})


def test_the_customer_is_told_who_else_joins_or_that_nobody_does(desk_for):
    desk = desk_for(FakeClock(START))
    alone = desk.create(AppointmentDraft(**{**DRAFT, "language": "de", "participants": []}), "anna")
    with_two = desk.create(AppointmentDraft(**{**DRAFT, "language": "de", "participants": [
        {"role": "interpreter", "email": "d@example.org"}, {"role": "legal_representative", "email": "v@example.org"}]}), "anna")

    def text(appointment, role: str) -> str:
        who = next(p for p in appointment.participants if p.role == role)
        mail = compose("invite", appointment, who, link="https://hub.example/join#x", code="K7M2X9PQ", sender="vt@example.org")
        return mail.get_body(("plain",)).get_content() + mail.get_body(("html",)).get_content()

    assert text(alone, "customer").count("Außer Ihnen und Ihrer Beraterin oder Ihrem Berater nimmt niemand teil.") == 2
    both = text(with_two, "customer")
    assert both.count("Wie mit Ihnen abgesprochen, nehmen außerdem teil: Dolmetscherin / Dolmetscher, "
                      "gesetzliche Vertretung.") == 2
    assert "abgesprochen" not in text(with_two, "interpreter")  # told to the customer, whose consent it is
