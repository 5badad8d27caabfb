"""Appointments in the real Chromium: the advisor books, changes and cancels; mails go out."""

from __future__ import annotations

import email
import re
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from email import policy

import pytest
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.appointments import BERLIN, AppointmentBook, AppointmentDraft
from hub.config import HubConfig
from videokiosk.clock import SystemClock

from .conftest import PASSWORD
from .test_console import log_in

pytestmark = pytest.mark.browser
T = 15_000  # ms; the machine is shared: generous waits, never a sleep


@pytest.fixture
def hub(loop_thread, tmp_path):
    config = HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")},
                                       "mail": {"eml_dir": str(tmp_path / "mails")}})
    parts = HubParts.open(config, clock=SystemClock())
    parts.users.add_user("anna", PASSWORD)
    parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    return loop_thread.serve(make_app(parts)), parts, tmp_path / "mails"


def until(condition, timeout_s: float = 15.0):
    """Wait for a condition outside the browser (the hub's database), checking every 50 ms."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def mails(folder) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def test_advisor_books_changes_and_cancels_an_appointment(hub, advisor_context):
    url, parts, folder = hub
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
    # The sender task delivered both invitations (to the demo's eml folder); the list says so
    expect(page.locator("#appointment-list .mails li[data-mail-status=sent]")).to_have_count(2, timeout=T)
    subjects = sorted(m["Subject"] for m in mails(folder))
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
    kinds = sorted(m["Subject"] for m in mails(folder))
    assert kinds.count("Cancelled: “My video appointment”") == 2 and kinds.count("Changed: “My video appointment”") == 2


# --- joining from home: the personal link in the customer's own Chromium -------------------------


def book(parts, minutes_from_now: float, language: str = "de", **extra):
    """An appointment at a Berlin wall time relative to now; returns it with its invitations."""
    start = (datetime.now(timezone.utc) + timedelta(minutes=minutes_from_now)).astimezone(BERLIN)
    draft = AppointmentDraft(starts_local=start.replace(tzinfo=None).isoformat(timespec="minutes"), language=language,
                             customer_email="kunde@example.org", **extra)
    return AppointmentBook(parts.db, parts.clock).create(draft, "anna")


@pytest.fixture
def home_context(browser):
    """A customer's own browser at home: it may use its (fake) camera and microphone."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera", "microphone"])
    yield ctx
    ctx.close()


def pass_the_check(page) -> None:
    """"Weiter" once the device check allows it; if it never does, say which row stopped it."""
    try:
        expect(page.get_by_role("button", name="Weiter")).to_be_enabled(timeout=60_000)
    except AssertionError:
        raise AssertionError(f"device check did not pass: {page.locator('#check-list').inner_text()!r}") from None
    page.get_by_role("button", name="Weiter").click()


def test_customer_joins_from_home_by_link_waits_with_the_time_and_talks_to_the_advisor(hub, home_context, advisor_context):
    url, parts, _ = hub
    appointment, [customer] = book(parts, 10, name="Erika Mustermann", customer_number="123D456789")
    local_time = appointment.local_start.strftime("%H:%M")
    start = appointment.local_start
    home = home_context.new_page()
    home.goto(f"{url}/join#{customer.token}")
    expect(home.get_by_text("Nicht vergessen: Kamera und Mikrofon aktivieren.")).to_be_visible(timeout=T)
    home.get_by_role("button", name="Videoberatung starten").click(timeout=T)
    # The consent screen: nobody else listening; requirements and data protection shown in place
    expect(home.get_by_text("dass niemand sonst Ihr Gespräch mitverfolgt", exact=False)).to_be_visible(timeout=T)
    home.locator("summary", has_text="Technische Voraussetzungen").click()
    expect(home.get_by_text("eine stabile Internetverbindung", exact=False)).to_be_visible()
    expect(home.locator("summary", has_text="Datenschutzhinweise")).to_be_visible()
    home.get_by_role("button", name="Ich stimme zu").click(timeout=T)
    expect(home.locator("#self-view-check[data-live=true]")).to_be_visible(timeout=T)  # its own camera, shown back
    pass_the_check(home)
    expect(home.get_by_text(f"Ihr Videotermin findet am {start.day}.{start.month}.{start.year} um {local_time} Uhr statt.")
           ).to_be_visible(timeout=T)
    expect(home.get_by_text("Bitte bleiben Sie zum jetzigen Zeitpunkt auf dieser Seite.")).to_be_visible()
    expect(home.get_by_text("Aktuell wird weder Audio noch Video übertragen.")).to_be_visible(timeout=T)
    [consent] = list(parts.db["guest_consents"].rows)
    assert consent["language"] == "de" and consent["text_hash"].startswith("sha256:")

    advisor = advisor_context.new_page()
    log_in(advisor, url)
    row = advisor.locator("#waiting-list tr")
    expect(row).to_contain_text(f"mit Termin (Termin {local_time})", timeout=T)
    expect(row).to_contain_text("Erika Mustermann", timeout=T)  # the advisor sees whose appointment it is
    expect(home.get_by_text("wurde informiert", exact=False)).to_be_visible(timeout=T)
    row.get_by_role("button", name="Eintreten lassen").click()
    expect(advisor.locator("#call-customer")).to_have_text("Gespräch mit Erika Mustermann, Kundennummer 123D456789")
    # Video both ways: the advisor renders the customer's camera, the customer the advisor's
    expect(home.locator("#remote-view[data-live=true]")).to_be_visible(timeout=30_000)
    advisor.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=30_000)
    # Stored for the call: only the consented fields; OS, device and browser from the User-Agent
    until(lambda: [r for r in parts.db["calls"].rows if r["browser"]])
    [call] = list(parts.db["calls"].rows)
    assert call["ip_address"] == "127.0.0.1" and call["os"] == "Linux" and call["device"] == "Computer"
    assert call["browser"].startswith("Chrome ") and call["upload_kbps"] > 0
    assert call["name"] == "Erika Mustermann" and call["customer_number"] == "123D456789"  # consented, customers only
    advisor.get_by_role("button", name="Beenden").click()
    expect(home.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)
    home.get_by_label("4 von 5").check()
    home.get_by_role("button", name="Absenden").click()
    expect(home.get_by_role("heading", name="Vielen Dank!")).to_be_visible(timeout=T)


def test_withdrawing_at_home_deletes_the_consent_record_and_leaves_the_waiting_room(hub, home_context, advisor_context):
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    advisor = advisor_context.new_page()
    log_in(advisor, url)
    home = home_context.new_page()
    home.goto(f"{url}/join#{customer.token}")
    home.get_by_role("button", name="Videoberatung starten").click(timeout=T)
    home.get_by_role("button", name="Ich stimme zu").click(timeout=T)
    pass_the_check(home)
    expect(advisor.locator("#waiting-list tr")).to_contain_text("Von zu Hause (Kundin / Kunde)", timeout=T)
    assert parts.db["guest_consents"].count == 1
    home.get_by_role("button", name="Einwilligung widerrufen").click()
    home.get_by_role("button", name="Ja, widerrufen").click()
    expect(home.get_by_role("heading", name="Vielen Dank!")).to_be_visible(timeout=T)
    # The goodbye offers the withdrawal while a consent is on record; this one is gone (and with it
    # the link's pass, which a second withdrawal would only meet as an error).
    expect(home.get_by_role("button", name="Einwilligung widerrufen")).to_have_count(0)
    expect(advisor.locator("#waiting-list tr")).to_have_count(0, timeout=T)
    assert parts.db["guest_consents"].count == 0


def test_a_withdrawal_at_home_the_hub_could_not_take_is_never_reported_as_done(hub, home_context, tmp_path):
    """The hub's database cannot take the withdrawal (another process holds the SQLite file locked
    past the busy timeout; a PostgreSQL restart answers the same 503): the page says it did not
    work and keeps the withdrawal at hand; it never thanks the customer for a consent the hub
    still holds. Tried again, it goes through."""
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    home = home_context.new_page()
    home.goto(f"{url}/join#{customer.token}")
    home.get_by_role("button", name="Videoberatung starten").click(timeout=T)
    home.get_by_role("button", name="Ich stimme zu").click(timeout=T)
    pass_the_check(home)
    expect(home.get_by_role("button", name="Einwilligung widerrufen")).to_be_visible(timeout=T)
    other = sqlite3.connect(tmp_path / "hub.db", isolation_level=None)  # as a long CLI command's
    other.execute("BEGIN EXCLUSIVE")
    try:
        home.get_by_role("button", name="Einwilligung widerrufen").click()
        home.get_by_role("button", name="Ja, widerrufen").click()
        expect(home.get_by_text("Das hat nicht geklappt. Bitte versuchen Sie es noch einmal.")).to_be_visible(timeout=T)
    finally:
        other.execute("COMMIT")
        other.close()
    expect(home.get_by_role("heading", name="Vielen Dank!")).to_be_hidden()
    assert parts.db["guest_consents"].count == 1
    home.get_by_role("button", name="Einwilligung widerrufen").click()
    home.get_by_role("button", name="Ja, widerrufen").click()
    expect(home.get_by_role("heading", name="Vielen Dank!")).to_be_visible(timeout=T)
    assert parts.db["guest_consents"].count == 0


def test_too_early_expired_cancelled_and_unknown_links_say_so_kindly(hub, home_context):
    url, parts, _ = hub
    early = book(parts, 24 * 60)[1][0]
    over = book(parts, -120)[1][0]
    appointment, [cancelled] = book(parts, 5)
    AppointmentBook(parts.db, parts.clock).cancel(appointment.appointment_id)
    opens = (datetime.now(timezone.utc) + timedelta(minutes=24 * 60 - 30)).astimezone(BERLIN).strftime("%H:%M")
    for token, text in [
        (early.token, f"Sie können ab {opens} Uhr eintreten."),
        (over.token, "Dieser Termin ist bereits vorbei."),
        (cancelled.token, "Dieser Termin wurde abgesagt."),
        ("x" * 43, "Diesen Code kennen wir nicht."),
    ]:
        page = home_context.new_page()  # a fresh document: a new fragment alone does not reload
        page.goto(f"{url}/join#{token}")
        expect(page.get_by_text(text, exact=False)).to_be_visible(timeout=T)
        expect(page.get_by_role("button", name="Videoberatung starten")).to_be_hidden()


def join_from_home(context, url, token):
    page = context.new_page()
    page.goto(f"{url}/join#{token}")
    page.get_by_role("button", name="Videoberatung starten").click(timeout=T)
    page.get_by_role("button", name="Ich stimme zu").click(timeout=T)
    pass_the_check(page)
    expect(page.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible(timeout=T)
    return page


def test_an_interpreter_joins_the_running_call_and_all_three_see_each_other(hub, browser, advisor_context):
    url, parts, _ = hub
    _, [customer, interpreter] = book(parts, 10, name="Erika Mustermann",
                                      participants=[{"role": "interpreter", "email": "d@example.org"}])
    contexts = [browser.new_context(permissions=["camera", "microphone"]) for _ in range(2)]
    try:
        advisor = advisor_context.new_page()
        log_in(advisor, url)
        home = join_from_home(contexts[0], url, customer.token)
        advisor.locator("#waiting-list tr").get_by_role("button", name="Eintreten lassen").click(timeout=T)
        expect(home.locator("#remote-view[data-live=true]")).to_be_visible(timeout=30_000)

        interp = join_from_home(contexts[1], url, interpreter.token)
        row = advisor.locator("#waiting-list tr").filter(has_text="Von zu Hause (Dolmetscherin / Dolmetscher)")
        row.get_by_role("button", name="Eintreten lassen").click(timeout=T)
        # Everybody sees everybody: advisor <-> customer, advisor <-> interpreter, customer <-> interpreter
        advisor.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=30_000)
        expect(advisor.locator("video.participant-video[data-live=true]")).to_be_visible(timeout=30_000)
        expect(interp.locator("#remote-view[data-live=true]")).to_be_visible(timeout=30_000)
        expect(interp.locator("video[data-peer][data-live=true]")).to_be_visible(timeout=30_000)
        expect(home.locator("video[data-peer][data-live=true]")).to_be_visible(timeout=30_000)
        # The call view still names the customer: the interpreter's own link named nobody.
        expect(advisor.locator("#call-customer")).to_have_text(re.compile("^Gespräch mit Erika Mustermann"))
        # Only the role is known of the interpreter: nothing about them in the call rows but technique
        advisor.get_by_role("button", name="Beenden").click()
        expect(home.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)
        expect(interp.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)
        names = sorted(str(row["name"]) for row in parts.db["calls"].rows)
        assert names == ["Erika Mustermann", "None"]  # the interpreter's call: no name, their role only
    finally:
        for ctx in contexts:
            ctx.close()
