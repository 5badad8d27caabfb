"""The systemd watchdog: ping ``WATCHDOG=1`` only while the daemon is really healthy.

The ping runs as a task on the daemon's event loop, so a blocked loop stops it by itself. The
hardware loops (camera capture, audio, button) run on threads of their own; each reports through a
:class:`Heartbeat`, and a stale heartbeat is a failed health check, so systemd restarts a daemon
whose camera thread hangs although its event loop is fine.

Example::

    >>> from datetime import timedelta
    >>> from videokiosk.clock import FakeClock
    >>> clock = FakeClock()
    >>> camera = Heartbeat("camera", max_age=5.0, clock=clock)
    >>> camera.beat()
    >>> sent = []
    >>> class ListNotifier:
    ...     def send(self, *fields):
    ...         sent.append(fields)
    ...         return True
    >>> dog = Watchdog(ListNotifier(), interval=10.0, health_checks=[camera], clock=clock)
    >>> dog.tick()
    True
    >>> _ = clock.advance(timedelta(seconds=6))
    >>> dog.tick()
    False
    >>> sent[-1]
    ('STATUS=unhealthy: camera',)
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from videokiosk.clock import Clock

from .sdnotify import Notifier

log = logging.getLogger(__name__)

HealthCheck = Callable[[], bool]


class Heartbeat:
    """A hardware loop calls :meth:`beat` every round; the watchdog asks whether it is fresh.

    Thread-safe: beats come from device threads, checks from the event loop.
    """

    def __init__(self, name: str, max_age: float, clock: Clock) -> None:
        self.name = name
        self.max_age = max_age
        self._clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()

    def beat(self) -> None:
        with self._lock:
            self._last = self._clock.monotonic()

    def __call__(self) -> bool:
        with self._lock:
            last = self._last
        # A loop that never beat is not known to be alive: it must beat once as it starts.
        return last is not None and self._clock.monotonic() - last <= self.max_age

    def __repr__(self) -> str:
        return f"Heartbeat({self.name!r})"


def check_name(check: HealthCheck) -> str:
    return getattr(check, "name", None) or getattr(check, "__name__", None) or repr(check)


class Watchdog:
    """Sends ``WATCHDOG=1`` every ``interval`` seconds while every health check passes.

    A check that raises counts as failed. When health changes, a ``STATUS=`` line names the
    failing checks, so ``systemctl status`` says why a restart is coming.
    """

    def __init__(
        self,
        notifier: Notifier,
        interval: float,
        health_checks: Sequence[HealthCheck],
        clock: Clock,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"watchdog interval must be positive, got {interval}")
        self.notifier = notifier
        self.interval = interval
        self.health_checks = list(health_checks)
        self._clock = clock
        self._failing: list[str] = []

    def add_check(self, check: HealthCheck) -> None:
        self.health_checks.append(check)

    def failing_checks(self) -> list[str]:
        failing = []
        for check in self.health_checks:
            try:
                ok = bool(check())
            except Exception:  # a broken check must read as unhealthy, not kill the watchdog
                log.exception("watchdog: health check %s raised", check_name(check))
                ok = False
            if not ok:
                failing.append(check_name(check))
        return failing

    def tick(self) -> bool:
        """One round: ping if healthy. Returns whether a ping was sent."""
        failing = self.failing_checks()
        if failing != self._failing:
            if failing:
                log.warning("watchdog: withholding pings, unhealthy: %s", ", ".join(failing))
                self.notifier.send(f"STATUS=unhealthy: {', '.join(failing)}")
            else:
                log.info("watchdog: healthy again")
                self.notifier.send("STATUS=healthy")
            self._failing = failing
        if failing:
            return False
        return self.notifier.send("WATCHDOG=1")

    async def run(self) -> None:
        """Ping until cancelled. Runs on the daemon's loop: if the loop blocks, pings stop."""
        while True:
            self.tick()
            await asyncio.sleep(self.interval)


def tasks_alive(tasks: Callable[[], Sequence[asyncio.Task]], name: str = "event loop tasks") -> HealthCheck:
    """Healthy while none of the daemon's background tasks (timers, purge) has died."""

    return named(name, lambda: all(not task.done() for task in tasks()))


def booth_health_checks(booth: object) -> list[HealthCheck]:
    """What the booth's watchdog watches: its own loop tasks, and every device whose driver runs
    a loop of its own and reports on it through a ``loop_alive() -> bool`` method.

    An unplugged camera is not a hung loop: the booth shows that fault and hot-plug recovers it,
    so device presence (``healthy``) is deliberately not a watchdog check; a restart would not help.
    """
    checks: list[HealthCheck] = [tasks_alive(lambda: getattr(booth, "_tasks", []))]
    devices = getattr(booth, "devices", None)
    for role in ("camera", "microphone", "speaker", "button"):
        probe = getattr(getattr(devices, role, None), "loop_alive", None)
        if callable(probe):
            checks.append(named(f"{role} loop", probe))
    return checks


def named(name: str, check: HealthCheck) -> HealthCheck:
    """``check`` under a name the STATUS line and the log can show."""

    def wrapper() -> bool:
        return check()

    wrapper.name = name  # type: ignore[attr-defined]
    return wrapper


class ServiceManagerLink:
    """The daemon's side of systemd: READY=1 once serving, watchdog pings while healthy,
    STOPPING=1 on the way out. Outside systemd every part of it is a silent no-op.

    Example::

        link = ServiceManagerLink.start(notifier, booth_health_checks(booth), clock)
        link.ready("kiosk page at http://127.0.0.1:8081/")
        ...
        await link.close()
    """

    def __init__(self, notifier: Notifier, watchdog: Watchdog | None, task: asyncio.Task | None = None) -> None:
        self.notifier = notifier
        self.watchdog = watchdog
        self._task = task  # the watchdog's pings (start())

    @classmethod
    def start(cls, notifier: Notifier, checks: Sequence[HealthCheck], clock: Clock,
              interval: float | None) -> "ServiceManagerLink":
        """Start pinging every ``interval`` seconds (None: systemd asked for no watchdog)."""
        watchdog = Watchdog(notifier, interval, checks, clock) if interval else None
        task = asyncio.get_running_loop().create_task(watchdog.run()) if watchdog is not None else None
        return cls(notifier, watchdog, task)

    def ready(self, status: str) -> None:
        self.notifier.send("READY=1", f"STATUS={status}")

    async def close(self) -> None:
        self.notifier.send("STOPPING=1")
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
