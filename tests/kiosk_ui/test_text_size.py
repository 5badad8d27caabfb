"""At 200 % text ("Große Schrift") nothing overlaps or covers a button, nothing is cut off and
nothing needs sideways scrolling, on every kiosk screen, in every language (Arabic right to left,
Leichte Sprache too), and axe-core finds no WCAG 2.2 A/AA violation there. The setting is kept for
the session and gone after the wipe."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from hw.tts import RecordingSpeech
from tests.appliance.helpers import CannedChecks
from tests.axe import axe_violations

from .screens import LANGUAGES, WALK_LIMITS, covered_buttons, screens

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Text-bearing boxes of the screen (or of the open dialog): none may leave the viewport, be wider
# than its own box, or overlap another that is neither its ancestor nor its descendant.
MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > vw + 1) problems.push(`the page scrolls sideways (${root.scrollWidth} > ${vw})`);
  const dialog = [...document.querySelectorAll(".overlay")].find((o) => !o.hidden);
  const scope = dialog || document.querySelector("main");
  const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${(el.textContent || el.value || "").trim().slice(0, 30)}"`;
  const shown = (el) => {
    const r = el.getBoundingClientRect(), st = getComputedStyle(el);
    // The text of a closed <details> (the consent's requirements and privacy notice) is not shown until opened.
    const folded = el.closest("details:not([open])") !== null && el.tagName !== "SUMMARY" && !el.closest("summary");
    return r.width > 2 && r.height > 2 && st.visibility !== "hidden" && st.opacity !== "0" && el.closest("[hidden]") === null
      && !folded;
  };
  const boxes = [...scope.querySelectorAll("h1, h2, p, label, legend, button, input, figcaption, .check-name, .check-status, .choice span")]
    .filter(shown).filter((el) => !(dialog === undefined && el.closest(".overlay")));
  for (const el of boxes) {
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > vw + 1) problems.push(`${name(el)} reaches outside the screen (${Math.round(r.left)}..${Math.round(r.right)})`);
    if (el.tagName !== "INPUT" && el.scrollWidth > el.clientWidth + 1) problems.push(`${name(el)} is cut off (${el.scrollWidth} > ${el.clientWidth})`);
  }
  for (let i = 0; i < boxes.length; i += 1) {
    for (let j = i + 1; j < boxes.length; j += 1) {
      const a = boxes[i], b = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left), h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 1 && h > 1) problems.push(`${name(a)} overlaps ${name(b)}`);
    }
  }
  return { problems, rootPx: parseFloat(getComputedStyle(root).fontSize) };
}"""


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_overlaps_or_is_cut_off_and_axe_finds_nothing_at_200_percent_text(kiosk_context, start_booth, language):
    booth = start_booth(WALK_LIMITS, checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    normal_px = 20.0  # style.css: 125 % of the browser's 16 px
    problems = []
    for name in screens(booth, page, language, large_text=True):
        expect(page.locator("html.large-text")).to_be_attached()
        found = page.evaluate(MEASURE)
        assert found["rootPx"] >= 2 * normal_px, found["rootPx"]  # 200 % of the normal 20 px
        problems += [f"{name} ({language}): {p}" for p in found["problems"]]
        problems += [f"{name} ({language}): axe {v['id']} {v['help']} {v['nodes']}" for v in axe_violations(page)]
        problems += [f"{name} ({language}): something covers {label!r}" for label in covered_buttons(page)]
    assert not problems, "\n".join(problems)


def test_settings_are_kept_for_the_session_and_reset_at_the_wipe(kiosk_context, start_booth):
    booth = start_booth(checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    page.goto(booth.url)
    page.locator('#access-bar [data-access="contrast"]').click()
    page.locator('#access-bar [data-access="large_text"]').click()
    expect(page.locator("html.contrast.large-text")).to_be_attached()
    page.get_by_role("button", name="Videoberatung starten").click()
    expect(page.get_by_role("heading", name="Einwilligungserklärung")).to_be_visible()
    expect(page.locator("html.contrast.large-text")).to_be_attached()  # kept on the next screen
    expect(page.locator('#access-bar [data-access="contrast"]')).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Abbrechen").click()  # the wipe
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    expect(page.locator("html.contrast")).to_have_count(0)
    expect(page.locator("html.large-text")).to_have_count(0)
    assert booth.booth.session.access.as_dict()["contrast"] is False


def test_vorlesen_on_the_start_screen_turns_speech_on_and_mehr_zeit_gives_more_time(kiosk_context, start_booth):
    engine = RecordingSpeech()
    booth = start_booth(checks=CannedChecks("pass"), speech=engine)
    session = booth.booth.session
    page = kiosk_context.new_page()
    page.goto(booth.url)
    page.locator('[data-screen="idle"]').get_by_role("button", name="Vorlesen").click()
    expect(page.locator('[data-screen="idle"] .speech-start')).to_have_attribute("aria-pressed", "true")
    booth.run(engine.wait_for("Videoberatung starten. Auswahl 1"))
    assert engine.spoken[0] == ("Willkommen", "de")
    page.get_by_role("button", name="Lauter").click()  # shown while speech is on
    expect(page.get_by_role("button", name="Leiser")).to_be_visible()
    page.get_by_role("button", name="Videoberatung starten").click()
    # The touch reaches the booth over the page's socket: the consent screen first, then the
    # inactivity (sent before the touch arrived, it found the start screen, which asks nothing).
    expect(page.locator('[data-screen="consent"]')).to_be_visible()
    booth.run(session.handle("inactivity"))
    page.get_by_role("button", name="Mehr Zeit").click()
    expect(page.locator("#still-there")).to_be_hidden()
    # The page's intents arrive in order: by now "Lauter" and "Mehr Zeit" are both taken.
    assert session.access.more_time == 1 and session.access.volume == 4
