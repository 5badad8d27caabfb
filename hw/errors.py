"""Domain errors of the hardware layer. Each message says what is wrong and what a person can do.

Example::

    >>> raise DeviceUnavailable("camera", "/dev/video0", "no such device")
    Traceback (most recent call last):
    ...
    hw.errors.DeviceUnavailable: camera /dev/video0 is not available (no such device). Check ...
"""

from __future__ import annotations


class HardwareError(Exception):
    """Base class for every error the hardware layer reports to a person."""


class DeviceUnavailable(HardwareError):
    """A configured device cannot be opened or stopped working (unplugged, busy, no permission)."""

    def __init__(self, device: str, where: str, reason: str) -> None:
        self.device = device
        self.where = where
        self.reason = reason
        super().__init__(
            f"{device} {where} is not available ({reason}). Check that it is plugged in and not "
            f"used by another program; the booth picks it up again by itself once it is back."
        )


class DriverMissing(HardwareError):
    """The configured driver's Python module is not installed on this machine."""

    def __init__(self, driver: str, module: str, install_hint: str) -> None:
        self.driver = driver
        self.module = module
        super().__init__(
            f"hardware driver {driver!r} needs the Python module {module!r}, which is not installed. "
            f"{install_hint}"
        )


class UnsupportedSetting(HardwareError):
    """A hardware setting names something this layer does not know."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        super().__init__(f"hardware.{key} = {value!r} is not supported; allowed: {allowed}")
