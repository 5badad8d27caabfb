"""Fixtures for the hardware tests: settings like HardwareSection's, fake devices, real-device probes."""

from __future__ import annotations

import glob
import os
from types import SimpleNamespace

import pytest
from gpiozero.pins.mock import MockPWMPin


def hardware_settings(**overrides) -> SimpleNamespace:
    """Plain settings with HardwareSection's attributes (hw must not import appliance)."""
    base = dict(
        camera="fake", camera_device="/dev/video0", width=320, height=240, fps=25,
        audio="fake", audio_capture="default", audio_playback="default",
        button="fake", button_pin=17, led_pin=27, long_press_s=0.4, hotplug="fake",
    )  # fmt: skip
    base.update(overrides)
    return SimpleNamespace(**base)


def skip_with_reason(reason: str) -> None:
    # Printed too, so a CI log shows why the real driver was not exercised (-ra lists it as well).
    print(f"SKIP: {reason}")
    pytest.skip(reason)


def real_video_device() -> str | None:
    nodes = sorted(glob.glob("/dev/video*"))
    return nodes[0] if nodes else None


def real_sound_card() -> bool:
    return os.path.exists("/proc/asound/cards") and "no soundcards" not in open("/proc/asound/cards").read()


def real_gpiochip() -> bool:
    return bool(glob.glob("/dev/gpiochip*"))


@pytest.fixture
def settings():
    return hardware_settings()


class FailingPin(MockPWMPin):
    """A simulated pin whose GPIO chip goes away when a test sets ``FailingPin.broken``: every read
    and write raises then, as lgpio does (button and LED health, the fleet page)."""

    broken = False

    def _get_state(self):
        if FailingPin.broken:
            raise OSError("GPIO chip gone")
        return super()._get_state()

    def _set_state(self, value):
        if FailingPin.broken:
            raise OSError("GPIO chip gone")
        return super()._set_state(value)
