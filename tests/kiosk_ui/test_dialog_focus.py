"""The page's modal dialogs keep the keyboard (EN 301 549 9.2.4.3, the ARIA dialog pattern): while
"Einwilligung widerrufen?" or "Sind Sie noch da?" is open, the page aria-modal hides is inert and
Tab and Shift+Tab go round the dialog's buttons; Escape is the withdrawal's "Nein"; when a dialog
closes, the focus is back on the button that opened it, never on the page's start. The same for
"Erneut prüfen", which goes while the checks run again. At the booth here; at home (the same
app.js) in tests/hub/test_home_dialog_focus.py. Found by an accessibility audit."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.appliance.helpers import CannedChecks

from .test_journey import open_kiosk, texts

pytestmark = pytest.mark.browser
DE = texts("de")


def focused_where(page: Page) -> str:
    return page.evaluate("() => { const a = document.activeElement; return a === document.body ? 'BODY' : "
                         "(a.closest('.overlay') ? 'dialog: ' : 'page: ') + (a.textContent || a.id || a.tagName).trim(); }")


def the_withdrawal_dialog_keeps_the_keyboard(page: Page, opener: Locator) -> None:
    """Shared with the home page's test: open by keyboard, go round, Escape, open, "Nein"."""
    dialog = page.get_by_role("alertdialog", name=DE["common"]["withdraw_title"])
    no = page.get_by_role("button", name=DE["common"]["withdraw_no"])
    opener.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(no).to_be_focused()
    for key in ("Shift+Tab", "Shift+Tab", "Tab", "Tab", "Tab"):
        page.keyboard.press(key)
        assert focused_where(page).startswith("dialog: "), (key, focused_where(page))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    expect(no).to_be_focused()
    page.keyboard.press("Enter")  # "Nein"
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()


def to_the_waiting_room(page: Page) -> None:
    page.get_by_role("button", name="Videoberatung starten").click()
    page.get_by_role("button", name="Ich stimme zu").click()
    page.get_by_role("button", name="Weiter").click(timeout=30_000)
    expect(page.get_by_role("heading", name="Sie befinden sich im virtuellen Wartebereich")).to_be_visible()


def test_the_withdrawal_dialog_keeps_the_keyboard_and_gives_the_focus_back(kiosk_context, start_booth):
    booth = start_booth(checks=CannedChecks("pass"))
    page = open_kiosk(kiosk_context, booth)
    to_the_waiting_room(page)
    the_withdrawal_dialog_keeps_the_keyboard(page, page.locator('[data-screen="waiting"] [data-action="withdraw"]'))


def test_still_there_keeps_the_keyboard_and_gives_the_focus_back(kiosk_context, start_booth):
    booth = start_booth({"idle_timeout_s": 1.0, "still_there_countdown_s": 60.0})
    page = open_kiosk(kiosk_context, booth)
    start = page.get_by_role("button", name="Videoberatung starten")
    start.click()
    dialog = page.get_by_role("alertdialog", name=DE["still"]["title"])
    expect(dialog).to_be_visible(timeout=10_000)
    yes = page.get_by_role("button", name=DE["still"]["yes"])
    expect(yes).to_be_focused()
    # Any key answers the question as a touch does (the booth counts it as activity): the page
    # behind is inert meanwhile, so nothing there takes the keyboard before the answer.
    behind = page.evaluate("() => [...document.getElementById('app').children].filter((c) => c.id !== 'still-there' && !c.inert).map((c) => c.id || c.dataset.screen)")
    assert behind == []
    page.keyboard.press("Enter")  # "Ja, ich bin noch da"
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name=DE["consent"]["title"])).to_be_focused()  # where it was


def test_erneut_pruefen_hands_the_focus_to_what_the_checks_say(kiosk_context, start_booth):
    booth = start_booth(checks=CannedChecks("fail"))
    page = open_kiosk(kiosk_context, booth)
    page.get_by_role("button", name="Videoberatung starten").click()
    page.get_by_role("button", name="Ich stimme zu").click()
    recheck = page.get_by_role("button", name=DE["check"]["recheck"])
    expect(recheck).to_be_visible(timeout=30_000)
    recheck.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#check-summary")).to_be_focused()
