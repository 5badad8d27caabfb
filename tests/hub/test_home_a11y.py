"""The home join pages (the personal link in the customer's own browser): no WCAG 2.2 A/AA
violation (axe-core) on any page, in every language of an invitation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from hub.appointments import AppointmentBook
from tests.axe import axe_violations

from .test_appointments_browser import book, home_context, hub  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T = 15_000
LANGUAGES = ["de", "en", "tr", "ar", "uk", "ru"]


def report(page, where: str) -> list[str]:
    return [f"{where}: {v['id']} {v['help']} {v['nodes']}" for v in axe_violations(page)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_axe_violation_on_the_home_join_pages(hub, home_context, language):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10, language=language)
    page = home_context.new_page()
    page.goto(f"{url}/join#{customer.token}")
    start = page.locator('[data-screen="idle"] [data-intent="start"]')
    expect(start).to_be_visible(timeout=T)
    expect(page.locator("html")).to_have_attribute("lang", language, timeout=T)
    problems = report(page, f"start ({language})")
    start.click()
    expect(page.locator('[data-screen="consent"]')).to_be_visible(timeout=T)
    problems += report(page, f"consent ({language})")
    page.locator('[data-screen="consent"] [data-intent="accept"]').click()
    expect(page.locator('[data-screen="device_check"]')).to_be_visible(timeout=T)
    if language == "de":  # the rest of the way once: the device check and the waiting room
        expect(page.locator("#continue")).to_be_enabled(timeout=60_000)
        problems += report(page, "device check (de)")
        page.locator("#continue").click()
        expect(page.locator('[data-screen="waiting"]')).to_be_visible(timeout=T)
        problems += report(page, "waiting (de)")
    assert not problems, "\n".join(problems)


def test_no_axe_violation_on_a_link_that_cannot_be_used(hub, home_context):  # noqa: F811
    url, parts, _ = hub
    appointment, [cancelled] = book(parts, 5)
    AppointmentBook(parts.db, parts.clock).cancel(appointment.appointment_id)
    page = home_context.new_page()
    page.goto(f"{url}/join#{cancelled.token}")
    expect(page.get_by_text("Dieser Termin wurde abgesagt.", exact=False)).to_be_visible(timeout=T)
    assert not report(page, "cancelled link")
