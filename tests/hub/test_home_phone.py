"""The home pages on phones (issue 19): at 360x740 and 390x844 CSS pixels with touch, upright and
on their side, every screen of the journey fits the width (nothing cut off, no sideways
scrolling) and every control is at least 48 px in both directions. Real Chromium in Playwright's
phone emulation (touch, mobile viewport), fake camera and microphone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_appointments_browser import T, book, hub, pass_the_check  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser
PHONES = {"360x740": (360, 740), "390x844": (390, 844)}
MIN_TARGET_PX = 48

# Controls a finger must hit, visible now; and whatever sticks out sideways.
LAYOUT = """(min) => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) {
    const wide = [...document.querySelectorAll("body *")].filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === "visible");
    problems.push(`page ${document.documentElement.scrollWidth}px wide in ${width}px: ${wide.slice(-3).map((el) => el.tagName + "." + el.className + "#" + el.id + ":" + el.scrollWidth).join(", ")}`);
  }
  for (const el of document.querySelectorAll("button, summary, input, select, textarea, .choice span")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
    const name = (el.textContent || el.getAttribute("aria-label") || el.id || el.tagName).trim().slice(0, 30);
    if (box.left < -1 || box.right > width + 1) problems.push(`${name}: cut off (${Math.round(box.left)}..${Math.round(box.right)})`);
    if (el.type !== "radio" && (box.width < min || box.height < min)) problems.push(`${name}: ${Math.round(box.width)}x${Math.round(box.height)}`);
  }
  return problems;
}"""


def fits(page: Page, screen: str) -> None:
    """The current screen, upright and on its side on each phone."""
    for label, (w, h) in PHONES.items():
        for orientation, size in (("portrait", (w, h)), ("landscape", (h, w))):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            problems = page.evaluate(LAYOUT, MIN_TARGET_PX)
            assert not problems, f"{screen} on {label} {orientation}: {problems}"


def test_every_home_screen_fits_a_phone_upright_and_on_its_side(hub, browser):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    context = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True,
                                  device_scale_factor=2, permissions=["camera", "microphone"])
    try:
        page = context.new_page()
        page.goto(f"{url}/join#{customer.token}")
        start = page.get_by_role("button", name="Videoberatung starten")
        expect(start).to_be_visible(timeout=T)
        fits(page, "start")
        start.tap()
        expect(page.get_by_role("heading", name="Einwilligungserklärung")).to_be_visible(timeout=T)
        fits(page, "consent")
        page.get_by_role("button", name="Ich stimme zu").tap()
        expect(page.get_by_role("heading", name="Geräteprüfung")).to_be_visible(timeout=T)
        expect(page.get_by_role("button", name="Weiter")).to_be_enabled(timeout=60_000)
        fits(page, "device check")
        pass_the_check(page)
        expect(page.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible(timeout=T)
        fits(page, "waiting room")
    finally:
        context.close()
