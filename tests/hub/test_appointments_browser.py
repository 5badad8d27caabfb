"""Appointments in the real Chromium: the advisor books, changes and cancels; mails go out."""

from __future__ import annotations

import email
from email import policy

import pytest
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.config import HubConfig
from videokiosk.clock import SystemClock

from .conftest import PASSWORD
from .test_console import log_in

pytestmark = pytest.mark.browser
T = 15_000  # ms; the machine is shared: generous waits, never a sleep


@pytest.fixture
def hub(loop_thread, tmp_path):
    config = HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")},
                                       "mail": {"outbox_dir": str(tmp_path / "outbox")}})
    parts = HubParts.open(config, clock=SystemClock())
    parts.users.add_user("anna", PASSWORD)
    parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    return loop_thread.serve(make_app(parts)), parts, tmp_path / "outbox"


def mails(outbox) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(outbox.glob("*.eml"))]


def test_advisor_books_changes_and_cancels_an_appointment(hub, advisor_context):
    url, parts, outbox = hub
    page = advisor_context.new_page()
    log_in(page, url)
    form = page.locator("#appointment-form")
    form.get_by_label("Datum und Uhrzeit").fill("2031-05-06T14:15")
    form.get_by_label("Sprache der Einladung").select_option("en")
    form.get_by_label("E-Mail der Kundin / des Kunden").fill("kunde@example.org")
    form.get_by_label("Name (freiwillig)").fill("Erika Mustermann")
    form.get_by_role("button", name="Person hinzufügen").click()
    form.get_by_label("Rolle").select_option("interpreter")
    form.get_by_label("E-Mail", exact=True).fill("dolmetsch@example.org")
    form.get_by_role("button", name="Termin anlegen und einladen").click()
    expect(page.get_by_text("Der Termin ist angelegt; die Einladungen werden versendet.")).to_be_visible(timeout=T)
    row = page.locator("#appointment-list tr")
    expect(row).to_have_count(1, timeout=T)
    expect(row).to_contain_text("Erika Mustermann", timeout=T)
    expect(row).to_contain_text("14:15", timeout=T)
    expect(row).to_contain_text("Dolmetscherin / Dolmetscher", timeout=T)
    # The sender task delivered both invitations (to the demo's outbox folder); the list says so
    expect(page.locator("#appointment-list .mails li[data-mail-status=sent]")).to_have_count(2, timeout=T)
    subjects = sorted(m["Subject"] for m in mails(outbox))
    assert subjects == ["Invitation to “My video appointment”"] * 2

    row.get_by_role("button", name="Bearbeiten").click()
    expect(form.get_by_label("Datum und Uhrzeit")).to_have_value("2031-05-06T14:15", timeout=T)
    form.get_by_label("Datum und Uhrzeit").fill("2031-05-06T15:00")
    form.get_by_role("button", name="Änderungen speichern und alle informieren").click()
    expect(row).to_contain_text("15:00", timeout=T)
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Absagen").click()
    expect(row).to_contain_text("abgesagt", timeout=T)
    expect(row.get_by_role("button", name="Absagen")).to_be_hidden(timeout=T)
    expect(page.locator("#appointment-list .mails li[data-mail-status=sent]")).to_have_count(6, timeout=T)
    kinds = sorted(m["Subject"] for m in mails(outbox))
    assert kinds.count("Cancelled: “My video appointment”") == 2 and kinds.count("Changed: “My video appointment”") == 2
