"""The composition root with fake hardware: button, LED, hot-plug during the check, loopback life."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from appliance.daemon import Booth
from appliance.hublink_base import NullCallHandler
from videokiosk.clock import FakeClock

from .helpers import RecordingHub, booth_config, until


@pytest.fixture
async def booth(tmp_path):
    b = Booth(booth_config(tmp_path))
    await b.start(port=0)
    yield b
    await b.stop()


def checks_done(snap) -> bool:
    return bool(snap.get("checks")) and not snap["checks"]["running"] and len(snap["checks"]["results"]) == 5


async def test_the_call_button_starts_and_the_led_follows(booth):
    pin = booth.devices.pin_factory.pin(booth.devices.button_pin)
    pin.drive_low()
    assert await asyncio.to_thread(booth.devices.button.wait_for_state, True, 5)
    pin.drive_high()
    await until(booth.session, lambda s: s["state"] == "consent")
    await booth.session.handle("accept")
    await until(booth.session, lambda s: s["checks"]["passed"], timeout=30)
    await booth.session.handle("continue")
    assert booth.devices.led.pattern == "waiting"
    await booth.session.handle("cancel")
    assert booth.devices.led.pattern == "idle"


async def test_unplugging_the_camera_during_the_check_shows_it_and_recovers(booth):
    session = booth.session
    await session.handle("start")
    await session.handle("accept")
    await until(session, lambda s: checks_done(s) and s["checks"]["passed"], timeout=30)
    booth.devices.hotplug.unplug("/dev/video0")
    await until(session, lambda s: checks_done(s) and s["checks"]["results"]["camera"]["status"] == "fail", timeout=30)
    camera = session.snapshot()["checks"]["results"]["camera"]
    assert camera["hint"].startswith("check.camera.")
    assert booth.devices.led.pattern == "fault"
    assert not await session.handle("continue")
    booth.devices.hotplug.replug("/dev/video0")
    await until(session, lambda s: checks_done(s) and s["checks"]["passed"], timeout=30)
    assert booth.devices.led.pattern == "idle"


async def test_no_stream_leaves_the_check_screen(booth):
    from tests.appliance.test_loopback import Page

    session = booth.session
    await session.handle("start")
    await session.handle("accept")
    page = Page()
    try:
        await page.accept(await booth.loopback.answer(await page.offer()))
        assert (await page.frame("0")).width == 320
        await until(session, lambda s: s["checks"]["passed"], timeout=30)
        await session.handle("continue")
        await until(session, lambda s: s["state"] == "waiting")
        await asyncio.wait_for(booth.loopback.idle.wait(), 10)
        assert not booth.loopback.active
        assert booth.mic_meter._task is None  # the level meter stopped first
    finally:
        await page.pc.close()


async def test_hub_and_call_plug_in_through_factories(tmp_path):
    hub, calls = RecordingHub(), NullCallHandler()
    booth = Booth(booth_config(tmp_path), hub=hub, calls=calls,
                  speedtest_url="http://127.0.0.1:9")  # no hub there: the rate checks must fail
    await booth.start(port=0)
    try:
        await booth.session.handle("start")
        await booth.session.handle("accept")
        await until(booth.session, checks_done, timeout=40)
        results = booth.session.snapshot()["checks"]["results"]
        assert results["upload"]["hint"] == "check.rate.unreachable" and results["camera"]["status"] == "pass"
        assert booth.session.hub is hub and booth.session.calls is calls
    finally:
        await booth.stop()


async def test_purge_now_uses_the_booth_clock(tmp_path):
    clock = FakeClock()
    booth = Booth(booth_config(tmp_path), clock=clock)
    try:
        booth.store.record_consent("s", "de", "h")
        clock.advance(timedelta(days=13))  # expiries are rounded to the day: kept 13 to 14 days
        assert booth.purge_now()["consents"] == 0
        clock.advance(timedelta(days=1))
        assert booth.purge_now()["consents"] == 1
    finally:
        await booth.session.close()
        await booth.devices.close()
        booth.store.close()


async def test_a_call_button_that_cannot_be_opened_leaves_a_touch_only_booth_and_says_so(tmp_path, monkeypatch,
                                                                                         caplog):
    # On a booth: lgpio missing, or its pipes not writable (a read-only working directory).
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-pin-library")
    config = booth_config(tmp_path)
    config = config.model_copy(update={"hardware": config.hardware.model_copy(update={"button": "gpio"})})
    booth = Booth(config)  # does not raise: a button is a convenience, the touch screen is the booth
    try:
        with caplog.at_level("ERROR", logger="videokiosk.booth"):
            await booth.start(port=0)
        assert booth.devices.degraded and "lgpio" in booth.devices.degraded[0]
        assert any("running degraded" in r.getMessage() and "touch-only" in r.getMessage() for r in caplog.records)
        await booth.session.handle("start")  # the screen still starts a consultation
        assert booth.session.state.value == "consent"
    finally:
        await booth.stop()
