"""Withdrawal after the admit, end to end in the real Chromium (kiosk page and advisor console):
the call ends, and within a second no file under the data directory, booth's or hub's, holds a
byte of the customer's name, customer number, session or IP address: not in a table row, not in
a free page of the .db file, not in its -wal file.

The name and number are drawn at random for each run (the audit does not announce its strings);
the same byte search first finds them on both sides while the call runs, so it is not blind.
"""

from __future__ import annotations

import os
import random
import string
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .harness import Stack, advisor_sees_test_pattern, kiosk_to_waiting, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WITHIN_S = 1.0  # the promise: gone everywhere within a second (asserted on a quiet machine only)
SETTLE_S = 15.0  # how long a loaded machine may take before the test gives up


def traces(data_dir: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """Which of ``needles`` occur in which file under ``data_dir`` (every file, every byte)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for what, needle in needles.items():
            if needle in data:
                found.setdefault(what, []).append(path.name)
    return found


def type_details(kiosk: Page, name: str, number: str) -> None:
    """On the kiosk's on-screen keyboard, as a customer would."""
    kiosk.get_by_label("Name", exact=True).click()
    for key in name:
        kiosk.get_by_role("button", name=key, exact=True).click()
    kiosk.get_by_label("Kundennummer").click()
    for key in number:
        kiosk.get_by_role("button", name=key, exact=True).click()
    kiosk.get_by_role("button", name="Angaben übermitteln").click()
    expect(kiosk.get_by_text("Ihre Angaben wurden übermittelt.")).to_be_visible()


def withdraw(kiosk: Page) -> float:
    """Touch "Einwilligung widerrufen" and confirm; returns when the confirmation was touched."""
    kiosk.get_by_role("button", name="Einwilligung widerrufen").click()
    confirm = kiosk.get_by_role("alertdialog", name="Einwilligung widerrufen?").get_by_role("button", name="Ja, widerrufen")
    expect(confirm).to_be_visible()
    confirm.click(trial=True)  # the dialog is ready: what follows is the customer's one touch
    started = time.monotonic()
    confirm.click()
    return started


def gone(stack: Stack, needles: dict[str, bytes], started: float) -> tuple[dict[str, list[str]], float]:
    """Look again every 20 ms (leaving the booth's and hub's loop the processor in between) until
    nothing is left or :data:`SETTLE_S` is over; what is left then, and after how long."""
    while True:
        left = traces(stack.data_dir, needles)
        elapsed = time.monotonic() - started
        if not left or elapsed > SETTLE_S:
            return left, elapsed
        time.sleep(0.02)  # a poll interval, not a wait for something to happen


def load_per_core() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def gone_within_a_second(stack: Stack, needles: dict[str, bytes], withdrawal: Callable[[], float]) -> None:
    """Run ``withdrawal`` (returns when the person's one touch was made); then none of ``needles``
    may be left in any file under the data directories, within :data:`WITHIN_S`."""
    load_before = load_per_core()
    started = withdrawal()
    left, elapsed = gone(stack, needles, started)
    assert left == {}, f"still on disk {elapsed:.2f} s after the withdrawal: {left}"
    # The one-second promise is timed here and in bench/; asserted only when the machine is not
    # busy with other work (a shared CI runner must not make the promise look broken, or kept).
    print(f"withdrawal: gone from every file after {elapsed:.3f} s")
    if load_before < 1.0 and load_per_core() < 1.0:
        assert elapsed <= WITHIN_S, f"gone only after {elapsed:.2f} s"


@pytest.mark.parametrize("moment", ["call", "survey", "goodbye"])
def test_withdrawal_after_the_admit_leaves_no_byte_on_either_side(stack, advisor_context, kiosk_context, moment):
    rng = random.SystemRandom()
    name = "".join(rng.choice(string.ascii_uppercase) for _ in range(9))
    number = "".join(rng.choice(string.digits) for _ in range(9))
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    kiosk = kiosk_context.new_page()
    kiosk_to_waiting(kiosk, stack.booth.url)
    type_details(kiosk, name, number)
    session_id = stack.booth.session.session_id
    row = advisor.get_by_role("row").filter(has_text="Kiosk 1")
    expect(row).to_contain_text(name)
    row.get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    advisor_sees_test_pattern(advisor)
    call_id = stack.booth.link.call_id
    assert call_id
    needles = {"name": name.encode(), "customer number": number.encode(), "session id": session_id.encode(),
               "call id": call_id.encode(), "IP address": b"127.0.0.1"}
    # The detector is not blind: the name is on both sides, the IP address in the hub's file.
    seen = traces(stack.data_dir, needles)
    assert any(f.startswith("hub.db") for f in seen.get("name", [])), seen
    assert any(f.startswith("booth.db") for f in seen.get("name", [])), seen
    assert any(f.startswith("hub.db") for f in seen.get("IP address", [])), seen
    if moment in ("survey", "goodbye"):
        advisor.get_by_role("button", name="Beenden").click()
        expect(kiosk.get_by_role("heading", name="Kurze Umfrage")).to_be_visible()
    if moment == "goodbye":  # the last screen of the session: its rows are still on both sides
        kiosk.get_by_role("button", name="Überspringen").click()
        expect(kiosk.get_by_role("heading", name="Vielen Dank!")).to_be_visible()

    gone_within_a_second(stack, needles, lambda: withdraw(kiosk))
    expect(kiosk.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    if moment == "call":
        expect(advisor.locator("#call-status")).to_have_text("Das Gespräch ist beendet.")
    db = stack.parts.db
    assert db["calls"].count == 0 and db["call_sessions"].count == 0
