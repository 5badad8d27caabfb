"""A booth customer with an appointment: "Ich habe einen Termin", the code on the on-screen
keyboard, consent, device check, and the waiting room shows the appointment time; the advisor
sees an appointment, not a walk-in. Wrong codes get clear messages, and a guesser a wait."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from hub.appointments import BERLIN, CODE_ALPHABET, AppointmentBook, AppointmentDraft

T = 20_000  # ms: generous on a shared machine, never a sleep


def book_soon(stack) -> tuple[str, str, str]:
    """An appointment ten minutes from now (Berlin wall time); returns its code and HH:MM."""
    start = (datetime.now(timezone.utc) + timedelta(minutes=10)).astimezone(BERLIN)
    draft = AppointmentDraft(starts_local=start.replace(tzinfo=None).isoformat(timespec="minutes"),
                             language="de", customer_email="kunde@example.org")
    # Straight into the book (no mail): the mail path has its own tests
    _, [customer] = AppointmentBook(stack.parts.db, stack.parts.clock).create(draft, "anna")
    return customer.code, start.strftime("%H:%M"), f"{start.day}.{start.month}.{start.year}"


def type_code(page, code: str) -> None:
    pad = page.locator("#code-pad")
    for ch in code:
        pad.get_by_role("button", name=ch, exact=True).click()
    page.get_by_role("button", name="Weiter").click()


def test_booth_customer_types_the_code_and_waits_for_the_appointment(stack, kiosk_context):
    code, local_time, local_date = book_soon(stack)
    kiosk = kiosk_context.new_page()
    kiosk.goto(stack.booth.url)
    kiosk.get_by_role("button", name="Ich habe einen Termin").click()
    expect(kiosk.get_by_role("heading", name="Ihr Termin")).to_be_visible(timeout=T)

    type_code(kiosk, "ABCDEFGH")
    expect(kiosk.get_by_text("Diesen Code kennen wir nicht.", exact=False)).to_be_visible(timeout=T)
    kiosk.get_by_role("button", name="Zeichen löschen").click(click_count=8)
    expect(kiosk.get_by_role("textbox", name="Termin-Code")).to_have_value("", timeout=T)
    type_code(kiosk, code)
    expect(kiosk.get_by_role("heading", name="Einwilligungserklärung")).to_be_visible(timeout=T)
    expect(kiosk.locator("details summary", has_text="Technische Voraussetzungen")).to_be_visible()
    kiosk.locator("summary", has_text="Datenschutzhinweise").click()  # shown in place, never a new page
    expect(kiosk.get_by_text("Rechte: Auskunft", exact=False)).to_be_visible()
    assert kiosk.url.rstrip("/") == stack.booth.url.rstrip("/")
    expect(kiosk.get_by_text("Nicht vergessen: Kamera und Mikrofon aktivieren.")).to_be_hidden()  # home only
    kiosk.get_by_role("button", name="Ich stimme zu").click()
    kiosk.get_by_role("button", name="Weiter").click(timeout=60_000)
    # The invitation's own words, with the appointment's date and time
    expect(kiosk.get_by_text(f"Ihr Videotermin findet am {local_date} um {local_time} Uhr statt.")).to_be_visible(timeout=T)
    expect(kiosk.get_by_text("Bitte bleiben Sie zum jetzigen Zeitpunkt auf dieser Seite.")).to_be_hidden()  # home only
    [entry] = stack.lt.run(stack.parts.state.waiting())
    assert entry.kind == "appointment"
    assert datetime.fromisoformat(entry.appointment_at).astimezone(BERLIN).strftime("%H:%M") == local_time

    # Back to the start; a guesser gets a few free tries, then a clear "wait" (slowed down, never locked)
    kiosk.get_by_role("button", name="Abbrechen").click()
    kiosk.get_by_role("button", name="Ich habe einen Termin").click(timeout=T)
    limited = kiosk.get_by_text("Zu viele falsche Versuche.", exact=False)
    for n in range(10):
        kiosk.get_by_role("textbox", name="Termin-Code").fill("")
        type_code(kiosk, f"ZZZZZZZ{CODE_ALPHABET[n]}")
        expect(kiosk.locator("#code-status")).to_be_hidden(timeout=T)
        if limited.is_visible():
            break
    expect(limited).to_be_visible(timeout=T)
