"""What a booth tells the fleet page about its call button and LED: a configured one that fails
is red ("fault"), never "absent" and never "ok"; a touch-only booth's are "absent". And an
installed update that waits for the customer to leave before the booth reboots into it."""

from __future__ import annotations

import asyncio

from gpiozero.pins.mock import MockFactory

from appliance.daemon import Booth
from appliance.fleet import FleetAgent
from appliance.maintenance import REBOOT, Requests, carry_out
from hw.devices import build_devices
from tests.hw.conftest import FailingPin as ChipGone

from .helpers import booth_config
from .test_maintenance import URL, Machine


async def no_send(message) -> bool:
    return True


def devices_reported(booth: Booth) -> dict[str, str]:
    return FleetAgent(booth, no_send, requests=None, os_name="test").health().devices


async def test_a_lost_gpio_chip_shows_button_and_led_as_faults_and_the_journey_goes_on(tmp_path):
    config = booth_config(tmp_path)
    factory = MockFactory(pin_class=ChipGone)
    booth = Booth(config, devices=build_devices(config.hardware, pin_factory=factory))
    await booth.start(port=0)
    try:
        assert devices_reported(booth) == {"camera": "ok", "microphone": "ok", "speaker": "ok",
                                           "button": "ok", "led": "ok"}
        ChipGone.broken = True
        assert await booth.session.handle("start")  # the LED changes pattern here and must not raise
        reported = devices_reported(booth)
        assert reported["button"] == "fault" and reported["led"] == "fault"
        assert reported["camera"] == "ok"
    finally:
        ChipGone.broken = False
        await booth.stop()
        factory.reset()


async def test_a_touch_only_booth_reports_button_and_led_absent(tmp_path):
    config = booth_config(tmp_path)
    config = config.model_copy(update={"hardware": config.hardware.model_copy(update={"button": "none"})})
    booth = Booth(config)
    await booth.start(port=0)
    try:
        reported = devices_reported(booth)
        assert reported["button"] == "absent" and reported["led"] == "absent"
    finally:
        await booth.stop()


async def test_an_installed_update_reboots_the_booth_only_once_its_customer_has_left(tmp_path):
    config = booth_config(tmp_path)
    config = config.model_copy(update={"fleet": config.fleet.model_copy(update={"health_interval_s": 0.05})})
    booth = Booth(config)
    await booth.start(port=0)
    requests, reports = Requests(tmp_path / "requests"), asyncio.Queue()

    async def send(message) -> bool:
        reports.put_nowait(message)
        return True

    agent = FleetAgent(booth, send, requests=requests, os_name="test")
    loop = asyncio.create_task(agent.run())
    try:
        assert await booth.session.handle("start")  # a customer steps up while the update installs
        requests.install(URL, "0.2.0")
        carry_out(requests.dir, Machine())  # the root side: written to the other slot
        for _ in range(3):  # three rounds of the loop (reports) with the customer there
            await asyncio.wait_for(reports.get(), 10)
        assert not (requests.dir / REBOOT).exists()
        assert await booth.session.handle("cancel")  # the customer leaves
        while not (requests.dir / REBOOT).exists():
            await asyncio.wait_for(reports.get(), 10)
        assert not requests.installed()  # asked once
    finally:
        loop.cancel()
        await booth.stop()
