"""A home link is one person, and an appointment has an owner: a rogue link holder cannot fill the
waiting room, the survey or the call rows, and keeps no socket after the appointment changed; an
advisor sees, changes and cancels only her own bookings (or those of the whole office as a lead)."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from aiosmtpd.controller import Controller

from hub.app import HubParts
from hub.appointments import AppointmentBook, AppointmentDraft
from hub.appointments_web import AppointmentDesk
from hub.config import HubConfig
from hub.roles import LEAD, grant_role
from tests.hub.conftest import Socket
from tests.hub.test_guest_passes import DRAFT, serving
from tests.hub.test_mail import free_port
from videokiosk.clock import FakeClock

from .test_security_login import _closes_within

PASSWORD = "s3cret-pass-12"


@pytest.fixture
async def home(tmp_path):
    clock = FakeClock()
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}), clock=clock)
    for name in ("anna", "ben", "lena"):
        parts.users.add_user(name, PASSWORD)
    grant_role(parts.db, "lena", LEAD)
    appointment, [invitation] = AppointmentBook(parts.db, clock).create(AppointmentDraft(**DRAFT), "anna")
    async with aiohttp.ClientSession() as http, serving(parts) as (url, app):
        r = await http.post(f"{url}/api/join", json={"token": invitation.token})
        assert r.status == 200
        yield url, parts, http, r.cookies["vk_guest"].value, appointment


async def _guest(http, url, cookie) -> Socket:
    ws = await http.ws_connect(f"{url}/ws/guest", headers={"Cookie": f"vk_guest={cookie}"})
    sock = Socket(ws, http)
    await sock.send({"type": "hello"})
    await sock.expect("welcome")
    return sock


async def _advisor(url, name="anna") -> tuple[aiohttp.ClientSession, str]:
    s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    r = await s.post(f"{url}/api/login", json={"username": name, "password": PASSWORD})
    return s, (await r.json())["csrf"]


async def _settled(sock: Socket) -> None:
    """Every message sent before has been handled (the hub answers in order)."""
    await sock.send({"type": "no_such_type"})
    while (await sock.expect("error"))["code"] != "unknown_type":
        pass


async def test_one_link_waits_once_answers_one_survey_per_call_and_records_no_made_up_call(home):
    url, parts, http, cookie, _ = home
    for i in range(45, 50):  # consented (a page load each); the others never were
        r = await http.post(f"{url}/api/join/consent", json={"session_id": f"s-rogue{i:04d}", "language": "de"},
                            headers={"Cookie": f"vk_guest={cookie}"})
        assert r.status == 200
    guest = await _guest(http, url, cookie)
    for i in range(50):
        await guest.send({"type": "waiting", "session_id": f"s-rogue{i:04d}", "language": "de", "kind": "appointment"})
    for i in range(30):
        await guest.send({"type": "survey", "rating": 1})
        await guest.send({"type": "call_info", "call_id": f"c-made-up-{i}", "os": "x"})
        await guest.send({"type": "quality", "call_id": f"c-made-up-{i}", "grade": "poor", "send_kbps": 1, "recv_kbps": 1})
    await _settled(guest)
    waiting = [e for e in await parts.state.waiting() if e.booth_id.startswith("home-")]
    assert [e.session_id for e in waiting] == ["s-rogue0049"]  # the newest, alone
    assert parts.db["calls"].count == 0 and parts.db["guest_pass_calls"].count == 0
    assert parts.db.execute("SELECT COALESCE(SUM(responses), 0) FROM stats_survey").fetchone()[0] == 0
    await guest.ws.close()


@pytest.mark.parametrize("change", ["cancel", "change", "over"])
async def test_an_open_home_socket_closes_when_its_appointment_changes_is_cancelled_or_over(home, change):
    url, parts, http, cookie, appointment = home
    guest = await _guest(http, url, cookie)
    if change == "over":
        parts.clock.advance(appointment.closes_at - parts.clock.now())
        parts.clock.advance(timedelta(seconds=1))
    else:
        anna, csrf = await _advisor(url)
        path = f"/api/appointments/{appointment.appointment_id}" + ("/cancel" if change == "cancel" else "")
        r = await anna.post(url + path, json={**DRAFT, "starts_local": "2026-01-01T09:20"}, headers={"X-CSRF-Token": csrf})
        assert r.status == 200
        await anna.close()
    assert await _closes_within(guest.ws, 1.0)


async def test_only_the_booking_advisor_or_a_lead_sees_the_email_changes_or_cancels(home):
    url, parts, http, cookie, appointment = home
    path = f"{url}/api/appointments/{appointment.appointment_id}"
    ben, csrf = await _advisor(url, "ben")
    listed = (await (await ben.get(f"{url}/api/appointments")).json())["appointments"]
    assert "kunde@example.org" not in str(listed)
    r = await ben.post(path, json={**DRAFT, "customer_email": "mallory@example.org"}, headers={"X-CSRF-Token": csrf})
    assert r.status == 403
    assert (await ben.post(f"{path}/cancel", headers={"X-CSRF-Token": csrf})).status == 403
    assert "mallory" not in str(list(parts.db["mail_outbox"].rows))
    await ben.close()
    for name in ("anna", "lena"):  # the owner, and the team lead
        s, csrf = await _advisor(url, name)
        listed = (await (await s.get(f"{url}/api/appointments")).json())["appointments"]
        assert "kunde@example.org" in str(listed)
        await s.close()
    s, csrf = await _advisor(url, "lena")
    assert (await s.post(f"{path}/cancel", headers={"X-CSRF-Token": csrf})).status == 200
    await s.close()


async def test_one_link_cannot_fill_the_consent_records(home):
    url, parts, http, cookie, _ = home
    statuses = []
    for i in range(60):  # a rogue link holder, consenting for made-up sessions
        r = await http.post(f"{url}/api/join/consent", json={"session_id": f"s-made-up-{i:04d}", "language": "de"},
                            headers={"Cookie": f"vk_guest={cookie}"})
        statuses.append(r.status)
    rows = parts.db["guest_consents"].count
    assert rows <= 20 and statuses.count(200) == rows and set(statuses) == {200, 429}, statuses
    r = await http.post(f"{url}/api/join/consent", json={"session_id": "s-made-up-0000", "language": "en"},
                        headers={"Cookie": f"vk_guest={cookie}"})
    assert r.status == 200  # a session already consented to may still change its language


class RefusingServer:
    """An SMTP server that refuses every recipient the way Postfix does: quoting the address."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"


async def test_another_advisor_never_sees_the_customers_email_in_a_failed_mails_error(tmp_path):
    """Another advisor's booking is listed without e-mail addresses, the failed mail's error too:
    it is the SMTP server's reply, which quotes the address it refused (Postfix does)."""
    port = free_port()
    smtp = Controller(RefusingServer(), hostname="127.0.0.1", port=port)
    smtp.start()
    config = HubConfig.model_validate({
        "store": {"path": str(tmp_path / "hub.db")},
        "mail": {"smtp_host": "127.0.0.1", "smtp_port": port, "starttls": False,
                 "sender": "videotermin@jobcenter.example", "max_attempts": 1}})
    parts = HubParts.open(config, clock=FakeClock())
    try:
        for name in ("anna", "ben"):
            parts.users.add_user(name, PASSWORD)
        # Booked by anna, the invitation refused by the real SMTP server (before the hub serves, so
        # its own outbox has nothing left to try).
        desk = AppointmentDesk.open(parts.db, config, parts.clock)
        booked = desk.create(AppointmentDraft(**DRAFT), "anna")
        assert await desk.outbox.deliver_due() == 0
        [mail] = desk.outbox.status(booked.appointment_id)
        assert mail["status"] == "failed" and "kunde@example.org" in mail["last_error"]  # the test is not blind
        async with serving(parts) as (url, _):
            for name, sees in (("anna", True), ("ben", False)):
                advisor, _ = await _advisor(url, name)
                listed = await (await advisor.get(f"{url}/api/appointments")).json()
                await advisor.close()
                [appointment] = listed["appointments"]
                assert appointment["mine"] is sees and ("kunde@example.org" in str(listed)) is sees, appointment
                assert appointment["mails"][0]["last_error"]  # the reason stays: only the address goes
    finally:
        smtp.stop()
        parts.db.close()
