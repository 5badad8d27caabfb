"""Withdrawal after the admit for every kind of person, end to end in the real Chromium: a booth
customer who came with an appointment code, a customer at home with her personal link, and a
further participant (an interpreter at home) in a booth customer's call.

Each time the call (or that person's part of it) ends, the hub deletes that person's rows and only
hers, and within a second no file under the data directories, booth's or hub's (.db, -wal, -shm,
anything else), holds a byte of her session id, call id, typed name and number, or IP address. The
byte search first finds the same strings on disk while the call runs, so it is not blind. The
interpreter's withdrawal never touches the customer: her consent, call rows and call go on.
Names and numbers are drawn at random per run.
"""

from __future__ import annotations

import random
import string

import pytest
from playwright.sync_api import expect

from tests.hub.test_appointments_browser import book, home_context, join_from_home  # noqa: F401 (fixture)

from .harness import Stack, advisor_sees_test_pattern, log_in
from .test_group_booth import admitted_from_home, booth_sees_the_interpreter, kiosk_with_appointment
from .test_withdrawal import gone_within_a_second, traces, type_details, withdraw

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T = 30_000  # ms: up to three browsers and two aiortc connections on a shared machine
INTERPRETER_ROW = "Von zu Hause (Dolmetscherin / Dolmetscher)"


def random_person() -> tuple[str, str]:
    rng = random.SystemRandom()
    return ("".join(rng.choice(string.ascii_uppercase) for _ in range(9)),
            "".join(rng.choice(string.digits) for _ in range(9)))


def on_disk(stack: Stack, needles: dict[str, bytes], *expected: tuple[str, str]) -> None:
    """The detector is not blind: each (needle, file prefix) is found before the withdrawal."""
    seen = traces(stack.data_dir, needles)
    for what, prefix in expected:
        assert any(f.startswith(prefix) for f in seen.get(what, [])), (what, prefix, seen)


def customers_rows(stack: Stack, call_id: str) -> dict[str, list]:
    """The booth customer's consent and participants (booth.db) and who her call is (hub.db; the
    quality fields change while the call runs)."""
    who = ("call_id", "name", "customer_number", "ip_address", "expires_at")
    return {"consents": stack.booth.daemon.store.rows("consents"),
            "participants": stack.booth.daemon.store.rows("participants"),
            "hub calls": [{k: r[k] for k in who} for r in stack.parts.db["calls"].rows if r["call_id"] == call_id],
            "hub call_sessions": [r for r in stack.parts.db["call_sessions"].rows if r["call_id"] == call_id]}


def test_a_booth_customer_with_an_appointment_code_withdraws_in_the_call(stack, advisor_context, kiosk_context):
    name, number = random_person()
    _, [customer] = book(stack.parts, 10)
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    kiosk = kiosk_with_appointment(stack, kiosk_context, customer.code)
    type_details(kiosk, name, number)
    session_id = stack.booth.session.session_id
    row = advisor.get_by_role("row").filter(has_text="Kiosk 1")
    expect(row).to_contain_text(name, timeout=T)
    row.get_by_role("button", name="Eintreten lassen").click(timeout=T)
    stack.wait_state("call")
    advisor_sees_test_pattern(advisor, T)
    call_id = stack.booth.link.call_id
    needles = {"name": name.encode(), "customer number": number.encode(), "session id": session_id.encode(),
               "call id": call_id.encode(), "IP address": b"127.0.0.1"}
    on_disk(stack, needles, ("name", "hub.db"), ("name", "booth.db"), ("IP address", "hub.db"),
            ("session id", "booth.db"))

    gone_within_a_second(stack, needles, lambda: withdraw(kiosk))
    expect(kiosk.get_by_role("button", name="Videoberatung starten")).to_be_visible(timeout=T)
    expect(advisor.locator("#call-status")).to_have_text("Das Gespräch ist beendet.", timeout=T)
    assert stack.parts.db["calls"].count == 0 and stack.parts.db["call_sessions"].count == 0
    assert stack.parts.db["appointments"].count == 1  # the office's booking stays (purged with the appointment)


def test_a_customer_at_home_withdraws_in_the_call(stack, advisor_context, home_context):  # noqa: F811
    _, [customer] = book(stack.parts, 10)
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    home = admitted_from_home(stack, advisor, home_context, customer.token, "Von zu Hause (Kundin / Kunde)")
    [consent] = stack.parts.db["guest_consents"].rows
    [call] = stack.parts.db["calls"].rows
    needles = {"session id": consent["session_id"].encode(), "call id": call["call_id"].encode(),
               "IP address": b"127.0.0.1"}
    on_disk(stack, needles, ("session id", "hub.db"), ("call id", "hub.db"), ("IP address", "hub.db"))

    gone_within_a_second(stack, needles, lambda: withdraw(home))
    expect(home.get_by_role("heading", name="Vielen Dank!")).to_be_visible(timeout=T)
    expect(advisor.locator("#call-status")).to_have_text("Das Gespräch ist beendet.", timeout=T)
    db = stack.parts.db
    assert db["guest_consents"].count == 0 and db["calls"].count == 0


def test_an_interpreters_withdrawal_ends_only_their_part_and_leaves_the_customer_alone(stack, advisor_context, kiosk_context, home_context):  # noqa: F811
    name, number = random_person()
    _, [customer, interpreter] = book(stack.parts, 10, participants=[{"role": "interpreter", "email": "d@example.org"}])
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    kiosk = kiosk_with_appointment(stack, kiosk_context, customer.code)
    type_details(kiosk, name, number)
    # Admitted at once: details that cross the admit on their way still reach the call's row (the
    # name check at the end reads it).
    row = advisor.get_by_role("row").filter(has_text="Kiosk 1")
    row.get_by_role("button", name="Eintreten lassen").click(timeout=T)
    stack.wait_state("call")
    booth_session, booth_call = stack.booth.session.session_id, stack.booth.link.call_id
    home = join_from_home(home_context, stack.hub_url, interpreter.token)
    advisor.get_by_role("row").filter(has_text=INTERPRETER_ROW).get_by_role("button", name="Eintreten lassen").click(timeout=T)
    link = booth_sees_the_interpreter(stack)
    stack.wait_booth_frames(10)  # the advisor reaches the booth: what must go on after the withdrawal
    db = stack.parts.db
    [theirs] = [r for r in db["guest_consents"].rows if r["participant_id"] == interpreter.participant.participant_id]
    their_calls = [r["call_id"] for r in db["calls"].rows if r["call_id"] != booth_call]
    assert their_calls, "the interpreter's call with the advisor has no row"
    needles = {"session id": theirs["session_id"].encode(), "peer link": link.call_id.encode(),
               **{f"call id {i}": c.encode() for i, c in enumerate(their_calls)}}
    on_disk(stack, needles, ("session id", "hub.db"), ("call id 0", "hub.db"))
    customer_before = customers_rows(stack, booth_call)

    gone_within_a_second(stack, needles, lambda: withdraw(home))
    expect(home.get_by_role("heading", name="Vielen Dank!")).to_be_visible(timeout=T)
    expect(kiosk.locator("#peer-tile-0")).to_be_hidden(timeout=T)
    # The customer's call, consent and rows go on untouched, on both sides.
    assert stack.booth.session.state == "call" and stack.booth.link.call_id == booth_call
    stack.wait_booth_frames(10)
    assert customers_rows(stack, booth_call) == customer_before
    assert [r["session_id"] for r in stack.booth.daemon.store.rows("consents")] == [booth_session]
    on_disk(stack, {"name": name.encode(), "customer number": number.encode()}, ("name", "booth.db"), ("name", "hub.db"))
