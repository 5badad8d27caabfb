"""The booth journey in real Chromium: what a person sees, in German and in Arabic."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from appliance.store import BoothStore
from kiosk_ui import I18N_DIR
from tests.appliance.helpers import CannedChecks, until
from videokiosk.surveypool import SurveyPool

pytestmark = pytest.mark.browser
SLOW = 30_000  # device checks run for real (tone, camera frames, speed test) on a shared machine


def texts(lang: str) -> dict:
    return json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def open_kiosk(kiosk_context, booth) -> Page:
    page = kiosk_context.new_page()
    page.goto(booth.url)
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    return page


def to_the_survey(page: Page, booth) -> None:
    """From the start screen through a call to the survey: the customer's touches, and the admit
    as the daemon's event (no advisor)."""
    page.get_by_role("button", name="Videoberatung starten").click()
    page.get_by_role("button", name="Ich stimme zu").click()
    page.get_by_role("button", name="Weiter").click(timeout=SLOW)
    expect(page.get_by_role("heading", name="Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
    booth.run(booth.booth.session.handle("admitted", call_id="call-1"))
    page.get_by_role("button", name="Gespräch beenden").click()
    expect(page.get_by_role("heading", name="Kurze Umfrage")).to_be_visible()


def wait_until_checks_pass(page: Page) -> None:
    """Weiter becomes enabled once every check passed; if not, say which check failed and why."""
    weiter = page.get_by_role("button", name=re.compile(r"^(Weiter|متابعة)$"))
    try:
        expect(weiter).to_be_enabled(timeout=SLOW)
    except AssertionError:
        raise AssertionError(f"device check did not pass: {page.locator('#check-list').inner_text()!r}") from None


def wait_for_loopback_closed(booth) -> None:
    """The daemon's loopback peer (self-view) exists only while the check / call is on screen."""
    import asyncio

    booth.run(asyncio.wait_for(booth.booth.loopback.idle.wait(), 15))
    assert not booth.booth.loopback.active


def test_three_touches_to_the_waiting_room_and_back_via_abbrechen(kiosk_context, start_booth):
    booth = start_booth()
    page = open_kiosk(kiosk_context, booth)
    assert page.evaluate("document.documentElement.dir") == "ltr"
    history_at_start = page.evaluate("history.length")
    page.get_by_role("button", name="Videoberatung starten").click()                      # touch 1
    expect(page.get_by_role("heading", name="Einwilligungserklärung")).to_be_visible()
    expect(page.locator("li", has_text="nach 14 Tagen automatisch gelöscht")).to_be_visible()
    page.get_by_role("button", name="Ich stimme zu").click()                               # touch 2
    expect(page.get_by_role("heading", name="Geräteprüfung")).to_be_visible()
    # The camera preview comes from the daemon over the loopback connection, not getUserMedia.
    expect(page.locator("#self-view-check")).to_have_attribute("data-live", "true", timeout=SLOW)
    wait_until_checks_pass(page)
    weiter = page.get_by_role("button", name="Weiter")
    for name in ("Kamera", "Mikrofon", "Lautsprecher", "Upload", "Download"):
        expect(page.locator(f"[data-check] >> text={name}")).to_be_visible()
    expect(page.locator(".check.pass")).to_have_count(5)
    weiter.click()                                                                          # touch 3
    expect(page.get_by_role("heading", name="Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
    expect(page.get_by_text("Aktuell wird weder Audio noch Video übertragen.")).to_be_visible()
    informed = page.get_by_text("Ihr Berater / Ihre Beraterin wurde informiert, dass Sie sich im virtuellen Wartebereich befinden.")
    expect(informed).to_be_hidden()
    wait_for_loopback_closed(booth)  # nothing streams in the waiting room, not even locally

    session = booth.booth.session
    booth.run(session.handle("advisor_informed"))
    booth.run(session.handle("queue_update", position=3, estimated_wait_s=420))
    expect(informed).to_be_visible()
    expect(page.get_by_text("Ihre Position in der Warteschlange: 3")).to_be_visible()
    expect(page.get_by_text("Geschätzte Wartezeit: etwa 7 Minuten")).to_be_visible()
    [consent] = booth.rows("consents")
    assert consent["language"] == "de" and consent["text_hash"].startswith("sha256:")

    page.get_by_role("button", name="Abbrechen").click()
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    # No way "back" to the last customer's screens, and nothing they typed is left in the page.
    assert page.evaluate("history.length") == history_at_start


def test_the_same_journey_in_arabic_is_right_to_left(kiosk_context, start_booth):
    ar = texts("ar")
    booth = start_booth()
    page = open_kiosk(kiosk_context, booth)
    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    page.get_by_role("button", name=ar["idle"]["start"]).click()
    expect(page.get_by_role("heading", name=ar["consent"]["title"])).to_be_visible()
    accept = page.get_by_role("button", name=ar["consent"]["accept"])
    cancel = page.get_by_role("button", name=ar["consent"]["cancel"])
    # Mirrored: the main action sits at the left end in RTL (at the right in German).
    assert accept.bounding_box()["x"] < cancel.bounding_box()["x"]
    accept.click()
    expect(page.get_by_role("heading", name=ar["check"]["title"])).to_be_visible()
    wait_until_checks_pass(page)
    page.get_by_role("button", name=ar["check"]["continue"]).click()
    expect(page.get_by_role("heading", name=ar["waiting"]["title"])).to_be_visible()
    expect(page.get_by_text(ar["waiting"]["no_media"])).to_be_visible()
    assert booth.rows("consents")[0]["language"] == "ar"
    page.get_by_role("button", name=ar["common"]["cancel"]).click()
    # The next customer starts in German, left to right.
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")


def test_inactivity_asks_are_you_still_there_then_resets(kiosk_context, start_booth):
    booth = start_booth({"idle_timeout_s": 1.0, "still_there_countdown_s": 3.0})
    page = open_kiosk(kiosk_context, booth)
    page.get_by_role("button", name="Videoberatung starten").click()
    dialog = page.get_by_role("alertdialog", name="Sind Sie noch da?")
    expect(dialog).to_be_visible(timeout=10_000)
    expect(dialog).to_contain_text(re.compile(r"in \d Sekunden zurückgesetzt"))
    page.get_by_role("button", name="Ja, ich bin noch da").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Einwilligungserklärung")).to_be_visible()
    # Nobody answers this time: a full reset to the welcome screen.
    expect(dialog).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible(timeout=10_000)
    expect(dialog).to_be_hidden()


def test_inactivity_in_arabic_resets_to_german(kiosk_context, start_booth):
    ar = texts("ar")
    booth = start_booth({"idle_timeout_s": 1.0, "still_there_countdown_s": 2.0})
    page = open_kiosk(kiosk_context, booth)
    page.get_by_role("button", name="العربية").click()
    page.get_by_role("button", name=ar["idle"]["start"]).click()
    dialog = page.get_by_role("alertdialog", name=ar["still"]["title"])
    expect(dialog).to_be_visible(timeout=10_000)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible(timeout=10_000)
    expect(page.locator("html")).to_have_attribute("dir", "ltr")


def test_withdrawal_in_the_waiting_room_deletes_what_was_stored(kiosk_context, start_booth):
    booth = start_booth()
    page = open_kiosk(kiosk_context, booth)
    page.get_by_role("button", name="Videoberatung starten").click()
    page.get_by_role("button", name="Ich stimme zu").click()
    wait_until_checks_pass(page)
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_role("heading", name="Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
    # Typed on the on-screen keyboard.
    page.get_by_label("Name", exact=True).click()
    for key in "ADA":
        page.get_by_role("button", name=key, exact=True).click()
    page.get_by_label("Kundennummer").click()
    for key in "123":
        page.get_by_role("button", name=key, exact=True).click()
    expect(page.get_by_label("Kundennummer")).to_have_value("123")
    page.get_by_role("button", name="Angaben übermitteln").click()
    expect(page.get_by_text("Ihre Angaben wurden übermittelt.")).to_be_visible()
    session = booth.booth.session
    # The store is written before the session announces the new details.
    booth.run(until(session, lambda s: s["waiting"]["details"]["customer_number"] == "123", timeout=10))
    assert booth.rows("participants")[0]["name"] == "ADA"

    page.get_by_role("button", name="Einwilligung widerrufen").click()
    dialog = page.get_by_role("alertdialog", name="Einwilligung widerrufen?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Ja, widerrufen").click()
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    for table in ("consents", "participants", "technical"):
        assert booth.rows(table) == [], table
    assert booth.rows("withdrawals") == []  # no hub to tell: not even the session's id is kept
    stats = booth.rows("daily_stats")[0]
    assert stats["withdrawn"] == 1  # anonymous counters stay


def test_withdrawal_in_arabic(kiosk_context, start_booth):
    ar = texts("ar")
    booth = start_booth(checks=CannedChecks("pass"))
    page = open_kiosk(kiosk_context, booth)
    page.get_by_role("button", name="العربية").click()
    page.get_by_role("button", name=ar["idle"]["start"]).click()
    page.get_by_role("button", name=ar["consent"]["accept"]).click()
    wait_until_checks_pass(page)
    # Withdrawal is offered from the device check on.
    page.get_by_role("button", name=ar["common"]["withdraw"]).click()
    dialog = page.get_by_role("alertdialog", name=ar["common"]["withdraw_title"])
    expect(dialog).to_be_visible()
    assert len(booth.rows("consents")) == 1 and len(booth.rows("technical")) == 1
    dialog.get_by_role("button", name=ar["common"]["withdraw_yes"]).click()
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    assert booth.rows("consents") == [] and booth.rows("technical") == []


def test_a_failed_check_explains_and_offers_erneut_pruefen(kiosk_context, start_booth):
    checks = CannedChecks("fail")
    booth = start_booth(checks=checks)
    page = open_kiosk(kiosk_context, booth)
    page.get_by_role("button", name="Videoberatung starten").click()
    page.get_by_role("button", name="Ich stimme zu").click()
    recheck = page.get_by_role("button", name="Erneut prüfen")
    expect(recheck).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("button", name="Weiter")).to_be_disabled()
    expect(page.get_by_text("Die Verbindung ist zu langsam für ein Videogespräch.").first).to_be_visible()
    checks.status = "pass"
    recheck.click()
    expect(page.get_by_role("button", name="Weiter")).to_be_enabled(timeout=SLOW)
    expect(recheck).to_be_hidden()


def test_survey_and_goodbye_after_a_call(kiosk_context, start_booth, tmp_path):
    # Answers are written in batches of five (videokiosk/surveypool.py); this store writes each at once.
    store = BoothStore(tmp_path / "survey-booth.db", survey_pool=SurveyPool(release_at=1))
    booth = start_booth(checks=CannedChecks("pass"), store=store)
    page = open_kiosk(kiosk_context, booth)
    to_the_survey(page, booth)
    page.get_by_role("radio", name="4 von 5").check()
    page.get_by_role("group", name="War die Bedienung einfach?").get_by_role("radio", name="Ja").check()
    page.get_by_role("button", name="Absenden").click()
    expect(page.get_by_role("heading", name="Vielen Dank!")).to_be_visible()
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible(timeout=10_000)
    answers = {(r["question"], r["answer"]) for r in booth.rows("survey")}
    assert answers == {("rating", "4"), ("easy", "yes")}


def test_the_goodbye_screen_still_offers_the_withdrawal(kiosk_context, start_booth):
    """The session's rows outlive the call (14 days): after the survey the customer can still
    withdraw, and the goodbye waits while they answer "Einwilligung widerrufen?"."""
    booth = start_booth({"goodbye_s": 120}, checks=CannedChecks("pass"))
    page = open_kiosk(kiosk_context, booth)
    to_the_survey(page, booth)
    page.get_by_role("button", name="Überspringen").click()
    expect(page.get_by_role("heading", name="Vielen Dank!")).to_be_visible()
    assert booth.rows("consents")
    page.get_by_role("button", name="Einwilligung widerrufen").click()
    page.get_by_role("alertdialog", name="Einwilligung widerrufen?").get_by_role("button", name="Ja, widerrufen").click()
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    assert booth.rows("consents") == [] and booth.rows("participants") == []


def test_consent_asks_for_the_headset_only_where_one_is_fitted_and_shows_the_notices_in_place(kiosk_context, start_booth):
    for fitted in (False, True):
        booth = start_booth({"headset": fitted})
        page = open_kiosk(kiosk_context, booth)
        page.get_by_role("button", name="Videoberatung starten").click()
        expect(page.get_by_role("heading", name="Einwilligungserklärung")).to_be_visible()
        hint = page.get_by_text("Bitte setzen Sie das Headset auf", exact=False)
        expect(hint).to_be_visible() if fitted else expect(hint).to_be_hidden()
        expect(page.get_by_text("dass niemand sonst Ihr Gespräch mitverfolgt", exact=False)).to_be_hidden()  # home only
        page.locator("summary", has_text="Technische Voraussetzungen").click()
        expect(page.get_by_text("eine stabile Internetverbindung", exact=False)).to_be_visible()
        assert page.url.rstrip("/") == booth.url.rstrip("/")  # in place: the kiosk never navigates
        page.close()
