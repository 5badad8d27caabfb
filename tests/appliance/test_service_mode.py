"""Out of service on the booth: a device missing too long takes it out and its return brings it
back; a technician's "out" survives a restart; LED dark and the button dead meanwhile; the
unclean-restart count."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from appliance.daemon import Booth
from appliance.restarts import RestartCounter
from videokiosk.clock import FakeClock

from .helpers import booth_config, until


def config(tmp_path, missing_s: float = 120.0):
    base = booth_config(tmp_path)
    return base.model_copy(update={"out_of_service": base.out_of_service.model_copy(update={
        "after_device_missing_s": missing_s, "opening_hours": "Mo–Fr 8–16 Uhr", "nearest_booth": "Rathaus, Erdgeschoss"})})


async def press_button(booth: Booth) -> None:
    pin = booth.devices.pin_factory.pin(booth.devices.button_pin)
    pin.drive_low()
    assert await asyncio.to_thread(booth.devices.button.wait_for_state, True, 5)
    pin.drive_high()


async def test_a_device_missing_too_long_takes_the_booth_out_and_its_return_brings_it_back(tmp_path):
    clock = FakeClock()
    booth = Booth(config(tmp_path, missing_s=120), clock=clock)
    await booth.start(port=0)
    try:
        booth.devices.hotplug.unplug("/dev/video0")
        await booth.service.tick()
        clock.advance(timedelta(seconds=119))
        await booth.service.tick()
        assert booth.session.state == "idle"  # a moment's unplug is not a broken booth
        clock.advance(timedelta(seconds=2))
        await booth.service.tick()
        snap = booth.session.snapshot()
        assert snap["state"] == "out_of_service"
        assert snap["out_of_service"] == {"reason": "device_missing", "opening_hours": "Mo–Fr 8–16 Uhr",
                                          "nearest_booth": "Rathaus, Erdgeschoss"}
        assert booth.devices.led.pattern == "off"
        await press_button(booth)
        for intent in ("start", "have_appointment", "cancel"):
            assert not await booth.session.handle(intent)  # nothing a customer does starts a session
        assert booth.session.state == "out_of_service"
        booth.devices.hotplug.replug("/dev/video0")
        await booth.service.tick()
        assert booth.session.state == "idle"
        assert booth.devices.led.pattern == "idle"
    finally:
        await booth.stop()


async def test_a_device_lost_during_a_session_waits_for_the_customer_to_finish(tmp_path):
    clock = FakeClock()
    booth = Booth(config(tmp_path, missing_s=10), clock=clock)
    await booth.start(port=0)
    try:
        await booth.session.handle("start")
        booth.devices.hotplug.unplug("/dev/video0")
        await booth.service.tick()
        clock.advance(timedelta(seconds=11))
        await booth.service.tick()
        assert booth.session.state == "consent"
        await booth.session.handle("cancel")
        await booth.service.tick()
        assert booth.session.state == "out_of_service"
    finally:
        await booth.stop()


async def test_a_technicians_out_of_service_needs_force_with_a_customer_and_survives_a_restart(tmp_path):
    booth = Booth(config(tmp_path))
    await booth.start(port=0)
    await booth.session.handle("start")
    assert not await booth.service.set_by_technician(True)  # a customer is there
    assert booth.session.state == "consent"
    assert await booth.service.set_by_technician(True, force=True)
    await until(booth.session, lambda s: s["state"] == "out_of_service")
    assert booth.session.session_id is None  # the customer's session was wiped
    await booth.stop()

    again = Booth(config(tmp_path))
    await again.start(port=0)
    try:
        assert again.session.snapshot()["out_of_service"]["reason"] == "technician"
        assert again.devices.led.pattern == "off"
        await again.service.set_by_technician(False)
        assert again.session.state == "idle"
    finally:
        await again.stop()


def test_unclean_stops_are_counted_and_clean_ones_are_not(tmp_path):
    assert RestartCounter(tmp_path).started() == 0
    assert RestartCounter(tmp_path).started() == 1  # never stopped cleanly: the watchdog, a crash
    counter = RestartCounter(tmp_path)
    assert counter.started() == 2
    counter.stopped_cleanly()
    assert RestartCounter(tmp_path).started() == 2
