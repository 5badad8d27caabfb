"""At the booth, the browser's shortcuts never act (kiosk_ui/lockdown.js): a keyboard left plugged in
cannot close the kiosk (Ctrl+W, Alt+F4), open another window or tab (Ctrl+N, Ctrl+T), navigate
away (Alt+Left, F5) or zoom the page (Ctrl +/-/0, Ctrl+wheel). In --kiosk Chromium is full screen
and hands these keys to the page first; the page cancels them. The keys a keyboard user of the page
needs are not cancelled, and at home (the same page, browser.js's transport) nothing is. Real
Chromium, the booth's own page; a listener after the page's own sees whether each event was
cancelled."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .test_chat_send import STAND_IN
from .test_journey import open_kiosk

pytestmark = pytest.mark.browser

# Records, after lockdown.js's capturing listeners ran, whether each key and wheel was cancelled.
RECORD = """() => {
  window.vkSeen = [];
  window.addEventListener("keydown", (e) => window.vkSeen.push([e.key, e.defaultPrevented]));
  window.addEventListener("wheel", (e) => window.vkSeen.push([e.ctrlKey ? "Ctrl+wheel" : "wheel", e.defaultPrevented]),
                          { passive: true });
}"""
# Playwright's key combination -> the key the page sees last.
SHORTCUTS = {"Control+w": "w", "Alt+F4": "F4", "Control+n": "n", "Control+Shift+N": "N", "Control+t": "t",
             "Control+Equal": "=", "Control+Minus": "-", "Control+0": "0", "Alt+ArrowLeft": "ArrowLeft", "F5": "F5",
             "F12": "F12"}
PAGE_KEYS = {"Tab": "Tab", "Enter": "Enter", "ArrowDown": "ArrowDown", "Escape": "Escape", "Space": " "}


def cancelled(page: Page, combos: dict[str, str]) -> dict[str, bool]:
    page.evaluate(RECORD)
    for combo in combos:
        page.keyboard.press(combo)
    page.mouse.move(400, 300)
    page.mouse.wheel(0, 100)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -100)
    page.keyboard.up("Control")
    page.wait_for_function("() => window.vkSeen.some(([key]) => key === 'Ctrl+wheel')", timeout=30_000)
    seen = dict(page.evaluate("window.vkSeen.filter(([key]) => !['Control', 'Alt', 'Shift'].includes(key))"))
    return {combo: seen[key] for combo, key in {**combos, "wheel": "wheel", "Ctrl+wheel": "Ctrl+wheel"}.items()}


def test_the_booth_page_cancels_the_browsers_shortcuts_and_ctrl_wheel(kiosk_context, start_booth):
    page = open_kiosk(kiosk_context, start_booth())
    result = cancelled(page, SHORTCUTS)
    assert result == {**{combo: True for combo in SHORTCUTS}, "wheel": False, "Ctrl+wheel": True}


def test_the_keys_a_keyboard_user_needs_pass(kiosk_context, start_booth):
    page = open_kiosk(kiosk_context, start_booth())
    result = cancelled(page, PAGE_KEYS)
    assert result == {**{combo: False for combo in PAGE_KEYS}, "wheel": False, "Ctrl+wheel": True}


def test_at_home_the_customers_browser_keeps_its_shortcuts_and_zoom(kiosk_context, start_booth):
    booth = start_booth()
    page = kiosk_context.new_page()
    page.add_init_script(STAND_IN)  # a transport of its own, as browser.js gives the home page
    page.goto(booth.url)
    page.wait_for_function("() => window.vkDaemon !== undefined", timeout=30_000)
    result = cancelled(page, SHORTCUTS)
    assert result == {**{combo: False for combo in SHORTCUTS}, "wheel": False, "Ctrl+wheel": False}
