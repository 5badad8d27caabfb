"""The home journey in Firefox ESR as well (issue 19): Debian's firefox-esr, driven over WebDriver
BiDi by puppeteer-core from npm (tests/firefox/*.mjs, run by node), with Firefox's own fake camera
and microphone. The customer opens the personal link, consents, passes the device check and
reaches the waiting room; the hub sees them waiting."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.hub.test_appointments_browser import book, hub  # noqa: F401 (fixture)
from tests.hub.test_console import log_in

pytestmark = pytest.mark.browser
HERE = Path(__file__).parent
ROOT = HERE.parent.parent


@pytest.fixture(scope="session")
def firefox_driver() -> str:
    """node with puppeteer-core installed (the Makefile's setup: npm ci from package.json)."""
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules" / "puppeteer-core").exists():
        pytest.fail("node or puppeteer-core missing: run `make test`, which installs them")
    if not Path("/usr/bin/firefox-esr").exists():
        pytest.fail("Firefox ESR is missing at /usr/bin/firefox-esr: run `make test`, which installs it")
    return node


def stage(driver: subprocess.Popen, name: str) -> dict:
    """The driver's next JSON line; it must be ``name`` (or the final result, which then fails)."""
    line = driver.stdout.readline()
    message = json.loads(line) if line.strip() else {"ended": driver.wait(30), "stderr": driver.stderr.read()[-2000:]}
    assert message.get(name), message
    return message


@pytest.mark.timeout(400)
def test_a_customer_at_home_in_firefox_consents_passes_the_check_waits_and_talks(hub, firefox_driver, advisor_context):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    driver = subprocess.Popen([firefox_driver, str(HERE / "home_check.mjs"), f"{url}/join#{customer.token}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        stage(driver, "waiting")
        assert parts.db["guest_consents"].count == 1  # the consent was recorded first
        advisor = advisor_context.new_page()  # the advisor in Chromium
        log_in(advisor, url)
        advisor.locator("#waiting-list tr").get_by_role("button", name="Eintreten lassen").click(timeout=30_000)
        advisor.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=120_000)
        stage(driver, "live")  # Firefox shows the advisor's video, the advisor Firefox's camera
        advisor.get_by_role("button", name="Beenden").click()
        stage(driver, "ok")
        assert driver.wait(60) == 0
    finally:
        if driver.poll() is None:
            driver.kill()
