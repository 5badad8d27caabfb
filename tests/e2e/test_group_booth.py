"""A customer at a booth, an interpreter at home, an advisor: all three see and hear each other.

Real parts throughout: the booth daemon (synthetic camera, tone microphone, the fake speaker that
measures levels in memory), the hub, the kiosk page, the advisor's console and the interpreter's
own browser (personal link) in the real Chromium. The customer types the appointment's code at the
booth; the advisor admits her, then the interpreter. Then the booth decodes the interpreter's
camera, the interpreter's browser shows the booth's test pattern, the advisor sees both, the kiosk
page shows two pictures (the interpreter's labelled by role) and the booth's speaker plays both
voices. When the interpreter leaves, the booth's call with the advisor goes on.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.sync_api import expect

from tests.hub.test_appointments_browser import book, home_context, join_from_home  # noqa: F401 (fixture)

from .harness import Stack, advisor_sees_test_pattern, chromium_fake_camera_frame, log_in
from .test_appointment_booth import type_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T = 30_000  # ms: three browsers and two aiortc connections on a shared machine
AUDIBLE_DBFS = -50.0


def both_voices_reach_the_speaker(stack: Stack, timeout: float = 30.0) -> None:
    """Until the booth's speaker mix has two voices, each heard above a whisper, and the speaker has
    played on meanwhile; waits on what the fake speaker plays, never a sleep."""
    speaker = stack.booth.peer_links.speaker

    async def heard() -> None:
        while True:
            levels = speaker.mixer.levels()
            if len(levels) == 2 and all(frames > 25 and loudest > AUDIBLE_DBFS for frames, loudest in levels):
                break
            await speaker.speaker.wait_played(speaker.speaker.samples_played + 4800)
        await speaker.speaker.wait_played(speaker.speaker.samples_played + 48_000)  # a second of the mix

    stack.lt.run(asyncio.wait_for(heard(), timeout), timeout + 5)


def booth_sees_the_interpreter(stack: Stack, timeout: float = 30.0):
    """Until the booth's peer link has decoded a frame of the interpreter's camera; returns the link."""
    links = stack.booth.peer_links

    async def first_frame():
        while not links.links:
            links.changed.clear()
            await links.changed.wait()
        link = next(iter(links.links.values()))
        await link.first_frame.wait()
        return link

    try:
        return stack.lt.run(asyncio.wait_for(first_frame(), timeout), timeout + 5)
    except (TimeoutError, asyncio.TimeoutError):
        states = [(k.pc.connectionState, k.pc.iceConnectionState, k.remote_frames) for k in links.links.values()]
        raise AssertionError(f"no frame of the interpreter reached the booth; links: {states}") from None


def admitted_from_home(stack: Stack, advisor, context, token: str, row: str):
    """Someone joins from home with their link, the (logged-in) advisor lets them in from the row
    that says ``row``; returns their page once the advisor's picture is live on it."""
    home = join_from_home(context, stack.hub_url, token)
    advisor.get_by_role("row").filter(has_text=row).get_by_role("button", name="Eintreten lassen").click(timeout=T)
    expect(home.locator("#remote-view[data-live=true]")).to_be_visible(timeout=T)
    return home


def kiosk_with_appointment(stack: Stack, context, code: str):
    """The customer at the booth: "Ich habe einen Termin", the code, consent, check, waiting room."""
    kiosk = context.new_page()
    kiosk.goto(stack.booth.url)
    kiosk.get_by_role("button", name="Ich habe einen Termin").click()
    type_code(kiosk, code)
    kiosk.get_by_role("button", name="Ich stimme zu").click(timeout=T)
    kiosk.get_by_role("button", name="Weiter").click(timeout=60_000)
    expect(kiosk.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible(timeout=T)
    return kiosk


def test_interpreter_at_home_joins_a_booth_call_and_all_three_see_and_hear_each_other(stack, advisor_context, kiosk_context, home_context):  # noqa: F811
    _, [customer, interpreter] = book(stack.parts, 10, participants=[{"role": "interpreter", "email": "d@example.org"}])
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)

    kiosk = kiosk_with_appointment(stack, kiosk_context, customer.code)
    advisor.get_by_role("row").filter(has_text="Kiosk 1").get_by_role("button", name="Eintreten lassen").click(timeout=T)
    stack.wait_state("call")
    advisor_sees_test_pattern(advisor, T)
    assert stack.booth.peer_links.links == {}  # nobody else yet

    home = join_from_home(home_context, stack.hub_url, interpreter.token)
    advisor.get_by_role("row").filter(has_text="Von zu Hause (Dolmetscherin / Dolmetscher)") \
        .get_by_role("button", name="Eintreten lassen").click(timeout=T)

    # The booth decodes the interpreter's camera (Chromium's fake one) ...
    link = booth_sees_the_interpreter(stack)
    assert link.role == "interpreter" and chromium_fake_camera_frame(link.last_remote_frame)
    # (the booth stores the role, never a name, with its customer's session: the consent text)
    roles = [(r["session_id"], r["kind"], r["role"], r["name"]) for r in stack.booth.daemon.store.rows("participants")]
    assert roles == [(stack.booth.session.session_id, "other", "interpreter", None)]
    # ... the interpreter's browser shows the booth's test pattern ...
    advisor_sees_test_pattern(home, T, video="video[data-peer]")
    # ... the advisor sees both ...
    advisor_sees_test_pattern(advisor, T)
    expect(advisor.locator("video.participant-video[data-live=true]")).to_be_visible(timeout=T)
    # ... the kiosk shows two pictures side by side, the interpreter's named by role only ...
    expect(kiosk.locator("#remote-view[data-live=true]")).to_be_visible(timeout=T)
    expect(kiosk.locator("#peer-view-0[data-live=true]")).to_be_visible(timeout=T)
    assert stack.booth.daemon.loopback.forwarded_frames("peer0") is not None  # as it arrived (rtc/forward.py)
    expect(kiosk.locator("#peer-tile-0 figcaption")).to_have_text("Dolmetscherin / Dolmetscher")
    expect(kiosk.locator("#peer-tile-1")).to_be_hidden()
    # ... and the booth's speaker plays the advisor and the interpreter together.
    both_voices_reach_the_speaker(stack)

    # The interpreter leaves: their tile and voice go, the call with the advisor goes on.
    home.get_by_role("button", name="Gespräch beenden").click()
    expect(kiosk.locator("#peer-tile-0")).to_be_hidden(timeout=T)
    assert stack.booth.peer_links.links == {}
    assert stack.booth.session.state == "call"
    stack.wait_booth_frames(10)  # the advisor's picture keeps coming
    assert len(stack.booth.peer_links.speaker.mixer.inputs) == 1

    advisor.get_by_role("button", name="Beenden").first.click()
    expect(kiosk.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)


def test_a_booth_customer_joining_after_the_interpreter_offers_to_their_browser(stack, advisor_context, kiosk_context, home_context):  # noqa: F811
    """The other way round: the booth is the newcomer, so its aiortc offers and the browser answers."""
    _, [customer, interpreter] = book(stack.parts, 10, participants=[{"role": "interpreter", "email": "d@example.org"}])
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    home = admitted_from_home(stack, advisor, home_context, interpreter.token, "Von zu Hause (Dolmetscherin / Dolmetscher)")

    kiosk = kiosk_with_appointment(stack, kiosk_context, customer.code)
    advisor.get_by_role("row").filter(has_text="Kiosk 1").get_by_role("button", name="Eintreten lassen").click(timeout=T)
    link = booth_sees_the_interpreter(stack)
    assert link.role == "interpreter" and chromium_fake_camera_frame(link.last_remote_frame)
    advisor_sees_test_pattern(home, T, video="video[data-peer]")
    expect(kiosk.locator("#peer-view-0[data-live=true]")).to_be_visible(timeout=T)
    both_voices_reach_the_speaker(stack)
