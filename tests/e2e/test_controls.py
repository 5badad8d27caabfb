"""The advisor's call controls reach the booth for real: mute silences the booth's speaker, camera off
turns the booth's picture of the advisor black, and both come back."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from playwright.sync_api import expect

from .harness import advisor_sees_test_pattern, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _until_booth(stack, predicate, what: str, frames: int = 200) -> None:
    """Wait frame by frame (up to ``frames`` decoded frames) until ``predicate(call)`` holds."""
    call = stack.booth.call
    for _ in range(frames):
        if predicate(call):
            return
        stack.wait_booth_frames(1)
    raise AssertionError(f"the booth never saw {what}")


def _until_heard(stack, loud: bool) -> None:
    speaker = stack.booth.speaker

    async def wait() -> None:
        for _ in range(100):  # at most 100 blocks of 20 ms of played audio
            await speaker.wait_played(speaker.samples_played + 960)
            if (speaker.last_level_dbfs > -50) == loud:
                return
        raise AssertionError(f"the booth's speaker never became {'loud' if loud else 'silent'}")

    stack.lt.run(asyncio.wait_for(wait(), 30), 35)


def _brightness(call) -> float:
    return float(np.asarray(call.last_remote_frame.to_ndarray(format="gray")).mean())


def test_advisor_mute_and_camera_off_reach_the_booth(stack, advisor_context):
    page = advisor_context.new_page()
    log_in(page, stack.hub_url)
    stack.to_waiting()
    page.get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    advisor_sees_test_pattern(page)
    _until_heard(stack, loud=True)
    _until_booth(stack, lambda c: _brightness(c) > 40, "the advisor's picture")

    page.get_by_role("button", name="Stummschalten").click()
    expect(page.get_by_role("button", name="Mikrofon an")).to_have_attribute("aria-pressed", "true")
    _until_heard(stack, loud=False)
    page.get_by_role("button", name="Mikrofon an").click()
    _until_heard(stack, loud=True)

    page.get_by_role("button", name="Kamera aus").click()
    _until_booth(stack, lambda c: _brightness(c) < 5, "a black picture")
    page.get_by_role("button", name="Kamera an").click()
    _until_booth(stack, lambda c: _brightness(c) > 40, "the advisor's picture again")

    page.get_by_role("button", name="Beenden").click()
    stack.wait_state("survey")
