"""The device check at home always finishes (issue 19): whatever the customer's browser lacks or
refuses, every row ends in a sentence they understand, "Erneut prüfen" is offered, and without a
speaker or a microphone they may still continue. Real Chromium with fake devices; what a home
computer lacks is made at the browser's edge: a refused permission, a camera another program holds,
an audio output that never starts (the browser's device API answering as it does then), a speed
test the network never answers (the request is held, never answered)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from .test_appointments_browser import T, book, hub  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
CHECK_T = 60_000  # the whole check, on a shared machine; every step in it has its own, shorter limit

# A computer without audio output: its AudioContext never starts (Firefox without a sound device).
NO_AUDIO_OUTPUT = """(() => {
  AudioContext.prototype.resume = function () { return new Promise(() => {}); };
  Object.defineProperty(AudioContext.prototype, "state", { get: () => "suspended" });
})()"""

# The browser refusing a device as it does when the customer said no ("NotAllowedError") or another
# program holds it ("NotReadableError"): every request that includes that kind fails so.
REFUSE = """([kind, error]) => {
  const native = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => constraints && constraints[kind]
    ? Promise.reject(new DOMException("refused", error)) : native(constraints);
}"""


@pytest.fixture
def open_check(hub, browser):  # noqa: F811
    """Opens the personal link in a fresh customer browser prepared by ``prepare(context, page)``
    and accepts the consent; returns the page on the device check."""
    url, parts, _ = hub
    contexts = []

    def start(prepare) -> Page:
        _, [customer] = book(parts, 10)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera", "microphone"])
        contexts.append(context)
        page = context.new_page()
        prepare(context, page)
        page.goto(f"{url}/join#{customer.token}")
        page.get_by_role("button", name="Videoberatung starten").click(timeout=T)
        page.get_by_role("button", name="Ich stimme zu").click(timeout=T)
        return page

    yield start
    for context in contexts:
        context.close()


def refuse(kind: str, error: str):
    """Prepares a page whose browser refuses ``kind`` ("audio" or "video") with ``error``."""
    return lambda context, page: page.add_init_script(f"({REFUSE})({json.dumps([kind, error])})")


def row(page: Page, name: str):
    return page.locator(f"#check-list li[data-check={name}]")


def finished(page: Page, *, can_continue: bool) -> None:
    """Every row has its verdict, "Erneut prüfen" is offered, "Weiter" as the rows allow."""
    expect(page.locator("#check-list li.pending")).to_have_count(0, timeout=CHECK_T)
    expect(page.get_by_text("Wird geprüft")).to_have_count(0, timeout=CHECK_T)
    expect(page.get_by_role("button", name="Erneut prüfen")).to_be_visible(timeout=CHECK_T)
    weiter = page.get_by_role("button", name="Weiter")
    expect(weiter).to_be_enabled() if can_continue else expect(weiter).to_be_disabled()
    for li in page.locator("#check-list li").all():  # never "In Ordnung" beside a problem
        if li.locator(".check-hint").count():
            expect(li.locator(".check-status")).not_to_have_text("In Ordnung")


def test_without_audio_output_the_check_ends_and_the_customer_may_continue(open_check):
    page = open_check(lambda context, page: page.add_init_script(NO_AUDIO_OUTPUT))
    expect(row(page, "speaker")).to_contain_text("Ihr Gerät gibt keinen Ton aus", timeout=CHECK_T)
    expect(row(page, "speaker")).to_contain_text("im Chat mitlesen")
    finished(page, can_continue=True)
    expect(row(page, "camera")).to_contain_text("In Ordnung")
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible(timeout=T)


def test_a_refused_microphone_says_so_and_the_customer_may_continue_with_the_camera(open_check):
    page = open_check(refuse("audio", "NotAllowedError"))
    expect(row(page, "microphone")).to_contain_text("Zugriff auf das Mikrofon nicht erlaubt", timeout=CHECK_T)
    expect(row(page, "microphone")).to_contain_text("im Chat schreiben")
    finished(page, can_continue=True)
    expect(row(page, "camera")).to_contain_text("In Ordnung")  # the camera was asked for on its own
    expect(page.locator("#self-view-check[data-live=true]")).to_be_visible(timeout=T)


def test_a_refused_camera_says_how_to_allow_it_and_offers_to_check_again(open_check):
    page = open_check(refuse("video", "NotAllowedError"))
    expect(row(page, "camera")).to_contain_text("Zugriff auf die Kamera nicht erlaubt", timeout=CHECK_T)
    finished(page, can_continue=False)
    expect(row(page, "camera")).to_contain_text("Nicht in Ordnung")
    expect(row(page, "microphone")).to_contain_text("In Ordnung")


def test_a_camera_another_program_holds_says_so(open_check):
    page = open_check(refuse("video", "NotReadableError"))
    expect(row(page, "camera")).to_contain_text("von einem anderen Programm benutzt", timeout=CHECK_T)
    finished(page, can_continue=False)


def test_a_speed_test_the_network_never_answers_ends_in_a_sentence(open_check):
    held = []  # requests the "network" swallowed: never answered, as behind a dead line
    page = open_check(lambda context, page: page.route("**/speedtest/**", lambda route: held.append(route)))
    expect(row(page, "upload")).to_contain_text("Keine Verbindung zum Beratungsdienst", timeout=CHECK_T)
    expect(row(page, "download")).to_contain_text("Bitte prüfen Sie Ihre Internetverbindung", timeout=CHECK_T)
    finished(page, can_continue=False)
    assert held, "the speed test never asked the network"
    page.unroute("**/speedtest/**")
    page.get_by_role("button", name="Erneut prüfen").click()
    expect(page.get_by_role("button", name="Weiter")).to_be_enabled(timeout=CHECK_T)  # the line is back
