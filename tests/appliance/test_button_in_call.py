"""The physical call button during a call, through the real daemon and gpiozero's MockFactory pins:
a long press ends the call (the survey follows), a short press does nothing."""

from __future__ import annotations

import asyncio

import pytest

from appliance.daemon import Booth

from .helpers import CannedChecks, booth_config, until

LONG_S = 0.4


@pytest.fixture
async def booth(tmp_path):
    config = booth_config(tmp_path)
    config = config.model_copy(update={"hardware": config.hardware.model_copy(update={"long_press_s": LONG_S})})
    b = Booth(config, checks=CannedChecks())
    await b.start(port=0)
    yield b
    await b.stop()


async def press(booth: Booth, *, until_held: bool) -> None:
    """Press the button; release at once, or only after its long press has been handled."""
    button = booth.devices.button
    pin = booth.devices.pin_factory.pin(booth.devices.button_pin)
    loop = asyncio.get_running_loop()
    handled = asyncio.Event()
    # Wrap the daemon's own callbacks: once ours runs on the loop, the daemon's already has.
    name = "when_long_pressed" if until_held else "when_pressed"
    daemons = getattr(button, name)
    setattr(button, name, lambda: (daemons(), loop.call_soon_threadsafe(handled.set)))
    try:
        pin.drive_low()
        assert await asyncio.to_thread(button.wait_for_state, True, 5)
        if until_held:
            await asyncio.wait_for(handled.wait(), 10)
        pin.drive_high()
        assert await asyncio.to_thread(button.wait_for_state, False, 5)
        # The daemon's callback ran before ours (FIFO), and a task it created steps before us too.
        await asyncio.wait_for(handled.wait(), 10)
    finally:
        setattr(button, name, daemons)


async def test_long_press_ends_the_call_short_press_does_not(booth):
    session = booth.session
    await session.handle("start")
    await session.handle("accept")
    await until(session, lambda s: s.get("checks", {}).get("passed") is True)
    assert await session.handle("continue")
    assert await session.handle("admitted", call_id="c-1234abcd")
    await session.drain()
    assert session.calls.running == "c-1234abcd"

    await press(booth, until_held=False)
    await session.drain()
    assert session.state == "call" and booth.session.hub.calls_ended == 0

    await press(booth, until_held=True)
    await until(session, lambda s: s["state"] == "survey")
    await session.drain()
    assert booth.session.hub.calls_ended == 1 and booth.session.calls.running is None


async def test_long_press_outside_a_call_changes_nothing(booth):
    await press(booth, until_held=True)
    assert booth.session.state == "idle"  # and no short press was fired on the release
