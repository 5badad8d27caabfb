"""Hot-plug events for cameras (video4linux) and sound cards (sound), delivered into asyncio.

:class:`UdevHotplug` reads a pyudev netlink monitor with ``loop.add_reader``: no thread, and the
listeners run on the loop thread. :class:`FakeHotplug` is the same thing driven by a test.

Example::

    hotplug = UdevHotplug()
    hotplug.subscribe(lambda ev: print(ev.action, ev.device_node))
    await hotplug.start()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .base import HotplugEvent, HotplugListener
from .errors import DeviceUnavailable, DriverMissing

log = logging.getLogger(__name__)

SUBSYSTEMS = ("video4linux", "sound")


class _Listeners:
    def __init__(self) -> None:
        self._listeners: list[HotplugListener] = []

    def subscribe(self, listener: HotplugListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _deliver(self, event: HotplugEvent) -> None:
        log.info("hot-plug %s %s %s", event.action, event.subsystem, event.device_node or event.sys_name)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not silence the others
                log.exception("hot-plug listener failed")


class FakeHotplug(_Listeners):
    """Hot-plug events a test (or the demo) sends by hand.

    Example::

        >>> hp = FakeHotplug()
        >>> seen = []
        >>> _ = hp.subscribe(seen.append)
        >>> hp.unplug("/dev/video0")
        >>> seen[0].action
        'remove'
    """

    async def start(self) -> None:
        return None

    def close(self) -> None:
        self._listeners.clear()

    def emit(self, event: HotplugEvent) -> None:
        self._deliver(event)

    def unplug(self, device_node: str, subsystem: str = "video4linux") -> None:
        self.emit(HotplugEvent("remove", subsystem, device_node, device_node.rsplit("/", 1)[-1]))

    def replug(self, device_node: str, subsystem: str = "video4linux") -> None:
        self.emit(HotplugEvent("add", subsystem, device_node, device_node.rsplit("/", 1)[-1]))


def netlink_monitor(subsystems: tuple[str, ...]):
    """A started pyudev monitor on the kernel's udev netlink socket, filtered to ``subsystems``."""
    try:
        import pyudev
    except ImportError:
        raise DriverMissing("udev", "pyudev", "Install it with `pip install pyudev`.") from None
    try:
        monitor = pyudev.Monitor.from_netlink(pyudev.Context())
        for subsystem in subsystems:
            monitor.filter_by(subsystem)
        monitor.start()
    except (OSError, ImportError) as exc:  # no netlink in a container, no libudev
        raise DeviceUnavailable("hot-plug monitor", "(udev netlink)", str(exc)) from None
    return monitor


class UdevHotplug(_Listeners):
    """pyudev netlink monitor on video4linux and sound, read from the asyncio loop."""

    def __init__(self, subsystems: tuple[str, ...] = SUBSYSTEMS, monitor_factory=None) -> None:
        """``monitor_factory(subsystems)`` returns a started pyudev-like monitor (tests)."""
        super().__init__()
        self._subsystems = subsystems
        self._monitor_factory = monitor_factory or netlink_monitor
        self._monitor = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        monitor = self._monitor_factory(self._subsystems)
        self._monitor = monitor
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(monitor.fileno(), self._readable)

    def _readable(self) -> None:
        while self._monitor is not None:
            device = self._monitor.poll(timeout=0)
            if device is None:
                return
            if device.action not in ("add", "remove"):
                continue
            self._deliver(HotplugEvent(device.action, device.subsystem, device.device_node, device.sys_name))

    def close(self) -> None:
        if self._monitor is not None and self._loop is not None:
            self._loop.remove_reader(self._monitor.fileno())
        self._monitor = None
        self._listeners.clear()
