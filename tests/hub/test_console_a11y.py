"""The advisor console and the statistics page: no WCAG 2.2 A/AA violation (axe-core) in any view,
in both languages; usable by keyboard alone with a visible focus; a new waiting customer is
announced to screen readers."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.axe import axe_violations

from .test_appointments_browser import hub  # noqa: F401  (the fixture: hub with an outbox)
from .test_console import PASSWORD, FakeBoothSocket

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T = 15_000


def views(page, url, loop_thread, token):
    """Each console view in turn; yields its name once it is on screen."""
    yield "login"
    page.locator("#username-input").fill("anna")
    page.locator("#password-input").fill(PASSWORD)
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#logout")).to_be_visible(timeout=T)
    yield "desk, nobody waiting"
    booth = FakeBoothSocket(loop_thread, url, token)
    booth.send({"type": "waiting", "session_id": "s-00a11yab", "language": "ar", "kind": "walk_in"})
    row = page.locator("#waiting-list tr").first
    expect(row).to_be_visible(timeout=T)
    yield "desk, a customer waiting"
    row.locator("details.decline summary").click()
    row.locator("details.note summary").click()
    yield "decline and note open"
    page.locator("#appt-add").click()
    yield "appointment form with a participant"
    booth.close()


@pytest.mark.parametrize("language", ["de", "en"])
def test_no_axe_violation_in_any_console_view(hub, advisor_context, loop_thread, language):  # noqa: F811
    url, parts, _ = hub
    token = parts.registry.create_booth("jc-halle-2", "Halle 2", "Musterstadt")
    page = advisor_context.new_page()
    page.goto(url)
    page.locator(f'.lang button[data-lang="{language}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    problems = []
    for name in views(page, url, loop_thread, token):
        problems += [f"{name} ({language}): {v['id']} {v['help']} {v['nodes']}" for v in axe_violations(page)]
    page.goto(f"{url}/stats")
    # anna is no lead: the page settles on its sentence saying so (a lead's charts: test_stats_browser)
    expect(page.locator("#stats-error")).to_be_visible(timeout=T)
    problems += [f"stats ({language}): {v['id']} {v['help']} {v['nodes']}" for v in axe_violations(page)]
    assert not problems, "\n".join(problems)


def goto_with_words_held(page, url: str, words: str):
    """Open ``url`` with the first request for its words (the glob ``words``) held, later ones let
    through; returns that request's route, to be continued."""
    held = []
    page.route(words, lambda route: route.continue_() if held else held.append(route))
    with page.expect_request(words):
        page.goto(url)
    for _ in range(100):  # the route's handler runs when Playwright next reads its events
        if held:
            break
        page.evaluate("1")
    assert held, "the language file was never requested"
    return held[0]


@pytest.mark.parametrize("page_name", ["stats", "fleet"])
def test_before_its_words_arrive_a_page_shows_nothing_unlabelled(hub, advisor_context, page_name):  # noqa: F811
    """The words come as JSON after the page: until then no form, button or chart may be on screen
    (a CSS display rule once beat the hidden attribute, so the statistics form showed unlabelled)."""
    url, _, _ = hub
    page = advisor_context.new_page()
    words = goto_with_words_held(page, f"{url}/{page_name}", f"**/{page_name}_i18n/*.json")
    found = axe_violations(page)
    words.continue_()
    expect(page.locator("html")).to_have_attribute("lang", "de", timeout=T)
    assert not found, f"{page_name} before its words: " + "; ".join(f"{v['id']} {v['nodes']}" for v in found)


def test_a_language_touched_before_the_pages_words_arrive_is_kept(hub, advisor_context):  # noqa: F811
    """The language buttons are on screen before the console's words have arrived: a touch then
    counts (it was lost, the buttons had no handler yet), and the page's own first words, arriving
    after the touched language's, do not overwrite them."""
    url, _, _ = hub
    page = advisor_context.new_page()
    first_words = goto_with_words_held(page, url, "**/console/i18n/*.json")
    first = "en" if first_words.request.url.endswith("/en.json") else "de"
    touched, words = ("de", "Anmeldung") if first == "en" else ("en", "Sign-in")
    page.locator(f'.lang button[data-lang="{touched}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", touched, timeout=T)
    with page.expect_response(first_words.request.url):
        first_words.continue_()
    page.evaluate("() => new Promise((done) => setTimeout(done))")  # the page reads that answer first
    expect(page.locator("html")).to_have_attribute("lang", touched)
    expect(page.locator("#login-heading")).to_contain_text(words)


FOCUS_SHOWN = """() => {
  const el = document.activeElement, st = getComputedStyle(el);
  return { tag: el.tagName, text: (el.textContent || "").trim().slice(0, 40),
           ring: (st.outlineStyle !== "none" && parseFloat(st.outlineWidth) >= 2) || st.boxShadow !== "none" };
}"""


def test_keyboard_alone_logs_in_and_admits_with_a_visible_focus_and_arrivals_are_announced(
        hub, advisor_context, loop_thread):  # noqa: F811
    url, parts, _ = hub
    token = parts.registry.create_booth("jc-halle-3", "Halle 3", "Musterstadt")
    page = advisor_context.new_page()
    page.goto(url)
    expect(page.get_by_label("Benutzername")).to_be_visible()

    def tab_to(locator, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            focus = page.evaluate(FOCUS_SHOWN)
            assert focus["ring"] or focus["tag"] == "BODY", f"no visible focus on {focus}"
            if locator.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"{locator} cannot be reached with Tab")

    tab_to(page.get_by_label("Benutzername"))
    page.keyboard.type("anna")
    tab_to(page.get_by_label("Passwort"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible(timeout=T)
    booth = FakeBoothSocket(loop_thread, url, token)
    try:
        booth.send({"type": "waiting", "session_id": "s-00a11ycd", "language": "de", "kind": "walk_in"})
        expect(page.locator("#arrivals")).to_have_text(
            "Neue Kundin / neuer Kunde im Wartebereich: Halle 3, Musterstadt, Sprache: de", timeout=T)
        expect(page.locator("#arrivals")).to_have_attribute("aria-live", "polite")
        decline = page.locator("#waiting-list tr").first.locator("details.decline summary")
        tab_to(decline)
        page.keyboard.press("Enter")
        expect(page.get_by_label("Nachricht an die Kundin / den Kunden")).to_be_visible()
        admit = page.get_by_role("button", name="Eintreten lassen")
        page.keyboard.press("Shift+Tab")
        assert admit.evaluate("el => el === document.activeElement")
        page.keyboard.press("Enter")
        assert booth.expect("admitted")["session_id"] == "s-00a11ycd"
    finally:
        booth.close()
