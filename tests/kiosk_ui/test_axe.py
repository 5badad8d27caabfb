"""axe-core finds no WCAG 2.2 A/AA violation on any kiosk screen in the normal and the high-contrast
look, and nothing covers a button there. Every other language (Leichte Sprache too) is checked by
axe at 200 % text in test_text_size.py, on the same walk that measures the layout, so each language
is walked once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.appliance.helpers import CannedChecks
from tests.axe import axe_violations

from .screens import WALK_LIMITS, covered_buttons, screens

pytestmark = [pytest.mark.browser, pytest.mark.slow]

@pytest.mark.parametrize("language,contrast", [("de", False), ("de", True), ("ar", True)])
def test_no_axe_violation_on_any_kiosk_screen(kiosk_context, start_booth, language, contrast):
    booth = start_booth(WALK_LIMITS, checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    problems = []
    for name in screens(booth, page, language, contrast=contrast):
        if contrast:
            expect(page.locator("html.contrast")).to_be_attached()
        problems += [f"{name} ({language}): {v['id']} {v['help']} {v['nodes']}" for v in axe_violations(page)]
        problems += [f"{name} ({language}): something covers {label!r}" for label in covered_buttons(page)]
    assert not problems, "\n".join(problems)
