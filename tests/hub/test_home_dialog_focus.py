"""At home, the same app.js as the booth: a keyboard or screen-reader user's "Einwilligung
widerrufen?" keeps the keyboard and gives the focus back (tests/kiosk_ui/test_dialog_focus.py says
what and why). Real Chromium, a real hub on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.kiosk_ui.test_dialog_focus import the_withdrawal_dialog_keeps_the_keyboard

from .test_appointments_browser import book, hub, join_from_home  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_at_home_the_withdrawal_dialog_keeps_the_keyboard_and_gives_the_focus_back(hub, browser):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera", "microphone"])
    try:
        home = join_from_home(context, url, customer.token)
        the_withdrawal_dialog_keeps_the_keyboard(home, home.locator('[data-screen="waiting"] [data-action="withdraw"]'))
    finally:
        context.close()
