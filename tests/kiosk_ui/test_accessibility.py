"""WCAG 2.2 AA basics on the real page: touch targets, contrast, keyboard, names."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.appliance.helpers import CannedChecks

pytestmark = pytest.mark.browser

# WCAG relative luminance and contrast ratio, for colours the page computes (rgb() and rgba():
# ``rgba`` gives four numbers, ``over`` lays a translucent colour over another).
CONTRAST_JS = """
  const rgba = (c) => { const v = (c.match(/[\\d.]+/g) || []).map(Number); return v.length === 3 ? [...v, 1] : v; };
  const over = (top, below) => top.slice(0, 3).map((v, i) => v * top[3] + below[i] * (1 - top[3]));
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
"""

# For every visible button: its size and the contrast of its text against its (opaque) background.
MEASURE = """() => {""" + CONTRAST_JS + """
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] === 1) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll("button, .choice span")].filter((b) => b.offsetParent !== null).map((b) => {
    const r = b.getBoundingClientRect();
    return { name: b.getAttribute("aria-label") || b.textContent.trim(), w: r.width, h: r.height,
             ratio: ratio(rgba(getComputedStyle(b).color), background(b)) };
  });
}"""


def check_screen(page, where: str) -> None:
    buttons = page.evaluate(MEASURE)
    assert buttons, where
    for b in buttons:
        assert b["w"] >= 48 and b["h"] >= 48, (where, b)
        assert b["ratio"] >= 4.5, (where, b)


def test_targets_and_contrast_on_every_screen(kiosk_context, start_booth):
    booth = start_booth(checks=CannedChecks("fail"))
    page = kiosk_context.new_page()
    page.goto(booth.url)
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    check_screen(page, "idle")
    page.get_by_role("button", name="Videoberatung starten").click()
    expect(page.get_by_role("heading", name="Einwilligungserklärung")).to_be_visible()
    check_screen(page, "consent")
    page.get_by_role("button", name="Ich stimme zu").click()
    expect(page.get_by_role("button", name="Erneut prüfen")).to_be_visible(timeout=20_000)
    check_screen(page, "device check")  # includes the disabled "Weiter"
    booth.run(booth.booth.session.handle("reset"))
    expect(page.get_by_role("button", name="Videoberatung starten")).to_be_visible()


def test_the_journey_works_with_the_keyboard_alone(kiosk_context, start_booth):
    booth = start_booth(checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    page.goto(booth.url)
    start = page.get_by_role("button", name="Videoberatung starten")
    expect(start).to_be_visible()

    def tab_to(locator, limit: int = 30) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if locator.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"{locator} cannot be reached with Tab")

    tab_to(start)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Einwilligungserklärung")).to_be_focused()
    tab_to(page.get_by_role("button", name="Ich stimme zu"))
    page.keyboard.press("Enter")
    weiter = page.get_by_role("button", name="Weiter")
    expect(weiter).to_be_enabled(timeout=20_000)
    tab_to(weiter)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Sie befinden sich im virtuellen Wartebereich")).to_be_visible()
    tab_to(page.get_by_role("button", name="Abbrechen"), limit=80)
    page.keyboard.press("Enter")
    expect(start).to_be_visible()
