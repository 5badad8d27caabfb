"""Every kiosk screen in turn, reached through the daemon's own events (for page-wide checks)."""

from __future__ import annotations

from playwright.sync_api import expect

T = 15_000  # ms: the machine is shared, a reload may take a while
# Checking a screen may take seconds on a loaded machine: no timer may move on meanwhile.
WALK_LIMITS = {"goodbye_s": 120, "idle_timeout_s": 600}
LANGUAGES = ["de", "en", "tr", "ar", "uk", "ru", "de-LS"]  # de-LS: Leichte Sprache

# Every visible button of the screen (of the open dialog, if one is open) whose middle is on
# screen: is it the button a touch there reaches? Sticky bars and boxes laid over the page must not
# cover one (WCAG 2.4.11): the survey's two bars once hid "Absenden", an error box the withdrawal.
COVERED_BUTTONS = """() => {
  const dialog = [...document.querySelectorAll(".overlay")].find((o) => !o.hidden);
  return [...(dialog || document).querySelectorAll("button")].filter((button) => {
    const box = button.getBoundingClientRect();
    if (!button.checkVisibility() || box.width === 0 || (!dialog && button.closest(".overlay"))) return false;
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return false;
    return !button.contains(document.elementFromPoint(x, y));
  }).map((button) => button.textContent.trim());
}"""


def covered_buttons(page) -> list[str]:
    """The buttons something covers, with the screen at its top and scrolled to its foot."""
    covered = page.evaluate(COVERED_BUTTONS)
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    covered += page.evaluate(COVERED_BUTTONS)
    page.evaluate("() => window.scrollTo(0, 0)")
    return sorted(set(covered))


def screens(booth, page, language: str, **access):
    """Walk the journey by the daemon's own events in ``language`` (de-LS: Leichte Sprache) with
    the ``access`` settings; yield each screen's name once it is shown."""
    session = booth.booth.session

    def settings():  # chosen again after each wipe, as the next customer would
        booth.run(session.handle("set_language", language=language.split("-")[0]))
        booth.run(session.handle("set_access", easy=language == "de-LS", **access))

    go = lambda event, **data: booth.run(session.handle(event, **data))  # noqa: E731
    shown = lambda state: expect(page.locator(f'[data-screen="{state}"]')).to_be_visible(timeout=T)  # noqa: E731
    settings()
    page.goto(booth.url)
    shown("idle")
    yield "idle"
    go("have_appointment")
    shown("appointment")
    yield "appointment"
    with page.expect_navigation(timeout=T):  # the wipe reloads the page
        go("cancel")  # and resets the settings: chosen again, as the next customer would
    settings()
    shown("idle")
    go("start")
    shown("consent")
    yield "consent"
    go("accept")
    expect(page.locator("#continue")).to_be_enabled(timeout=20_000)
    expect(page.locator("#self-view-check[data-live=true]")).to_be_visible(timeout=T)  # its offer answered
    yield "device_check"
    go("continue")
    shown("waiting")
    go("advisor_informed")
    go("queue_update", position=2, estimated_wait_s=240)
    expect(page.locator("#advisor-informed")).to_be_visible()
    yield "waiting"
    go("inactivity")
    expect(page.locator("#still-there")).to_be_visible()
    yield "still there"
    go("still_here")
    page.locator('[data-screen="waiting"] [data-action="withdraw"]').click()
    expect(page.locator("#withdraw-dialog")).to_be_visible()
    yield "withdraw dialog"
    page.locator('[data-action="withdraw-no"]').click()
    go("admitted", call_id="c-axe")
    shown("call")
    expect(page.locator("#self-view-call[data-live=true]")).to_be_visible(timeout=T)
    yield "call"
    go("end_call")
    shown("survey")
    yield "survey"
    go("survey_skip")
    shown("goodbye")
    yield "goodbye"
