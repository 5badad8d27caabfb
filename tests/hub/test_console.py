"""The advisor console in the real Chromium: German labels, English switch, live waiting room, lockout."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.config import HubConfig
from videokiosk.clock import SystemClock

from .conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def console(loop_thread, tmp_path):
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}), clock=SystemClock())
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    url = loop_thread.serve(make_app(parts))
    return url, token


class FakeBoothSocket:
    """The booth's side of the protocol, spoken directly (the real hub link is tested in e2e)."""

    def __init__(self, loop_thread, url, token):
        self.lt = loop_thread

        async def connect():
            self.http = aiohttp.ClientSession()
            self.ws = await self.http.ws_connect(f"{url}/ws/booth", headers={"Authorization": f"Bearer {token}"})
            await self.ws.send_str(json.dumps({"type": "hello"}))

        loop_thread.run(connect())

    def send(self, msg):
        self.lt.run(self.ws.send_str(json.dumps(msg)))

    def expect(self, type_):
        async def wait():
            while True:
                msg = json.loads((await self.ws.receive(timeout=10)).data)
                if msg["type"] == type_:
                    return msg

        return self.lt.run(wait())

    def close(self):
        async def close():
            await self.ws.close()
            await self.http.close()

        self.lt.run(close())


def log_in(page, url, password=PASSWORD):
    page.goto(url)
    page.get_by_label("Benutzername").fill("anna")
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()


def test_console_speaks_german_and_switches_to_english(console, advisor_context):
    url, _ = console
    page = advisor_context.new_page()
    page.goto(url)
    expect(page.get_by_label("Benutzername")).to_be_visible()
    expect(page.get_by_label("Passwort")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Deutsch").click()
    expect(page.get_by_role("button", name="Anmelden")).to_be_visible()


def test_wrong_password_five_times_shows_the_lockout(console, advisor_context):
    url, _ = console
    page = advisor_context.new_page()
    for _ in range(4):
        log_in(page, url, "falsch")
        expect(page.get_by_role("alert")).to_have_text("Benutzername oder Passwort ist falsch.")
    log_in(page, url, "falsch")
    expect(page.get_by_role("alert")).to_contain_text("Zu viele Fehlversuche")
    log_in(page, url)  # the right password, but locked
    expect(page.get_by_role("alert")).to_contain_text("Zu viele Fehlversuche")
    expect(page.get_by_role("button", name="Abmelden")).to_be_hidden()


def test_waiting_customer_is_announced_and_can_be_declined(console, advisor_context, loop_thread):
    url, token = console
    page = advisor_context.new_page()
    log_in(page, url)
    expect(page.get_by_text("Niemand wartet.")).to_be_visible()
    booth = FakeBoothSocket(loop_thread, url, token)
    booth.send({"type": "waiting", "session_id": "s-0001abcd", "language": "tr", "kind": "appointment",
                "appointment_at": "2026-01-01T09:30:00+00:00"})
    row = page.get_by_role("row").filter(has_text="Halle 1, Musterstadt").first  # first in line
    expect(row).to_contain_text("TR")
    expect(row).to_contain_text("mit Termin")
    expect(page).to_have_title(re.compile(r"^\(1\)"))
    assert booth.expect("advisor_informed")["session_id"] == "s-0001abcd"
    row.get_by_text("Ablehnen", exact=True).click()
    row.get_by_label("Nachricht an die Kundin / den Kunden").fill("Bitte morgen wiederkommen.")
    # Another customer arrives while the advisor is typing: the message stays.
    booth.send({"type": "waiting", "session_id": "s-0002abcd", "language": "de", "kind": "walk_in"})
    expect(page).to_have_title(re.compile(r"^\(2\)"))
    expect(row.get_by_label("Nachricht an die Kundin / den Kunden")).to_have_value("Bitte morgen wiederkommen.")
    row.get_by_role("button", name="Ablehnen und Nachricht senden").click()
    assert booth.expect("declined")["message"] == "Bitte morgen wiederkommen."
    expect(page).to_have_title(re.compile(r"^\(1\)"))
    booth.send({"type": "leave_waiting", "session_id": "s-0002abcd", "reason": "cancel"})
    expect(page.get_by_text("Niemand wartet.")).to_be_visible()
    expect(page.locator("#booth-list")).to_contain_text("Halle 1 (Musterstadt): bereit")
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    booth.close()


# Records what the page announces: system notifications and the sound (an oscillator being started).
ANNOUNCE_SPY = """
window.__announced = { notifications: [], beeps: 0 };
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) { super(title, options); window.__announced.notifications.push([title, options.body]); }
};
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__announced.beeps += 1; return start.apply(this, args); };
"""


def test_every_logged_in_advisor_hears_sees_and_gets_a_notification(console, browser, loop_thread):
    url, token = console
    pages, contexts = [], []
    for _ in range(2):
        ctx = browser.new_context(permissions=["notifications"])
        ctx.add_init_script(ANNOUNCE_SPY)
        contexts.append(ctx)
        page = ctx.new_page()
        log_in(page, url)
        expect(page.get_by_text("Niemand wartet.")).to_be_visible()  # logged in and listening
        pages.append(page)
    try:
        booth = FakeBoothSocket(loop_thread, url, token)
        booth.send({"type": "waiting", "session_id": "s-0003abcd", "language": "de", "kind": "walk_in"})
        for page in pages:
            expect(page).to_have_title(re.compile(r"^\(1\) Kunde wartet"))
            page.wait_for_function("() => window.__announced.notifications.length > 0 && window.__announced.beeps > 0")
            [[title, body]] = page.evaluate("() => window.__announced.notifications")
            assert title == "Neue Kundin / neuer Kunde im Wartebereich" and body == "Halle 1, Musterstadt, Sprache: de"
        booth.close()
    finally:
        for ctx in contexts:
            ctx.close()
