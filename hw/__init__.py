"""Hardware layer of the booth: camera, microphone, speaker, call button, status LED, hot-plug.

One small Protocol per device (:mod:`hw.base`), real drivers and fakes behind them, chosen from
plain settings by :func:`hw.devices.build_devices`. ``hw`` imports nothing else of videokiosk.

Example::

    devices = build_devices(config.hardware)
    await devices.start()
    pc.addTrack(devices.camera.video_track())
"""

from .base import (
    Camera,
    CallButton,
    HealthChange,
    HotplugEvent,
    HotplugSource,
    LedPattern,
    Microphone,
    Speaker,
    StatusLed,
)
from .devices import Devices, build_devices
from .errors import DeviceUnavailable, DriverMissing, HardwareError, UnsupportedSetting

__all__ = [
    "Camera", "CallButton", "HealthChange", "HotplugEvent", "HotplugSource", "LedPattern",
    "Microphone", "Speaker", "StatusLed", "Devices", "build_devices",
    "DeviceUnavailable", "DriverMissing", "HardwareError", "UnsupportedSetting",
]  # fmt: skip
