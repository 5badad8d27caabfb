"""sd_notify and the watchdog against a real AF_UNIX datagram socket, as systemd would listen.

No sleeps: every wait is a ``recv`` with a timeout. "No ping" is proven by a recv that times out
after many ping intervals while the loop is known to be blocked (or a check known to fail).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from appliance.sdnotify import SystemdNotifier, watchdog_interval
from appliance.watchdog import Heartbeat, Watchdog
from videokiosk.clock import FakeClock, SystemClock

INTERVAL = 0.02  # seconds between pings; tiny so that "ten missed pings" is a short wait
QUIET = 20 * INTERVAL  # how long silence must last to count as "stopped pinging"
PATIENCE = 10.0  # generous: the machine is shared


class NotifySocket:
    """The listening end systemd would hold."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)

    def recv(self, timeout: float = PATIENCE) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def recv_until(self, wanted: str, timeout: float = PATIENCE) -> list[str]:
        seen = []
        while wanted not in seen:
            seen.append(self.recv(timeout))
        return seen

    def drain(self) -> None:
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recv(4096)
        except BlockingIOError:
            pass

    def assert_silent(self, seconds: float = QUIET, prefix: str = "WATCHDOG=1") -> None:
        """No ``prefix`` message for ``seconds``."""
        self.sock.settimeout(seconds)
        try:
            while True:
                message = self.sock.recv(4096).decode()
                assert not message.startswith(prefix), f"got {message!r} while it should be silent"
        except TimeoutError:
            return


@pytest.fixture
def listener(tmp_path) -> Iterator[tuple[NotifySocket, str]]:
    path = str(tmp_path / "notify")
    sock = NotifySocket(path)
    yield sock, path
    sock.sock.close()


async def _start(dog: Watchdog) -> asyncio.Task:
    return asyncio.get_running_loop().create_task(dog.run())


def test_ready_and_status_reach_the_socket(listener):
    sock, path = listener
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": path})
    assert notifier.ready(status="serving on 127.0.0.1:8081")
    assert sock.recv() == "READY=1\nSTATUS=serving on 127.0.0.1:8081"
    notifier.close()


def test_abstract_socket_names_work():
    name = f"videokiosk-test-{os.getpid()}-{id(object())}"
    sock = NotifySocket(b"\0" + name.encode())
    try:
        notifier = SystemdNotifier(f"@{name}")
        assert notifier.watchdog()
        assert sock.recv() == "WATCHDOG=1"
        notifier.close()
    finally:
        sock.sock.close()


def test_without_systemd_nothing_is_sent_and_nothing_breaks(tmp_path):
    assert SystemdNotifier.from_environment({}).ready() is False
    gone = SystemdNotifier(str(tmp_path / "nobody-listens"))
    assert gone.watchdog() is False  # logged once, never raised


def test_watchdog_interval_is_half_of_watchdog_sec_and_only_for_us():
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, pid=42) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "41"}, pid=42) is None
    assert watchdog_interval({}, pid=42) is None


def test_watchdog_stops_pinging_while_the_event_loop_is_blocked(listener, loop_thread):
    sock, path = listener
    dog = Watchdog(SystemdNotifier(path), interval=INTERVAL, health_checks=[], clock=SystemClock())
    task = loop_thread.run(_start(dog))
    assert sock.recv() == "WATCHDOG=1"

    blocked, release = threading.Event(), threading.Event()

    def hang() -> None:  # what a blocking call in the daemon would do to the loop
        blocked.set()
        release.wait(PATIENCE * 3)

    loop_thread.loop.call_soon_threadsafe(hang)
    assert blocked.wait(PATIENCE)
    sock.drain()  # pings sent before the loop hung
    try:
        sock.assert_silent()
    finally:
        release.set()
    assert sock.recv() == "WATCHDOG=1"  # the loop is back, so are the pings
    loop_thread.loop.call_soon_threadsafe(task.cancel)


def test_watchdog_withholds_pings_while_a_hardware_loop_is_stale(listener, loop_thread):
    sock, path = listener
    clock = FakeClock()
    camera = Heartbeat("camera", max_age=5.0, clock=clock)
    camera.beat()
    dog = Watchdog(SystemdNotifier(path), interval=INTERVAL, health_checks=[camera], clock=clock)
    task = loop_thread.run(_start(dog))
    assert sock.recv() == "WATCHDOG=1"

    clock.advance(timedelta(seconds=6))  # the camera thread missed its beats
    sock.recv_until("STATUS=unhealthy: camera")
    sock.assert_silent()

    camera.beat()
    assert sock.recv_until("WATCHDOG=1")[0] == "STATUS=healthy"
    loop_thread.loop.call_soon_threadsafe(task.cancel)


def test_a_check_that_raises_counts_as_unhealthy(listener):
    sock, path = listener

    def broken() -> bool:
        raise RuntimeError("audio device vanished")

    dog = Watchdog(SystemdNotifier(path), interval=INTERVAL, health_checks=[broken], clock=SystemClock())
    assert dog.tick() is False
    assert sock.recv() == "STATUS=unhealthy: broken"


def test_a_heartbeat_that_never_beat_is_unhealthy():
    assert Heartbeat("button", max_age=5.0, clock=FakeClock())() is False


def test_booth_checks_cover_its_tasks_and_device_loops_but_not_device_presence(loop_thread):
    from types import SimpleNamespace

    from appliance.watchdog import booth_health_checks

    camera_alive = threading.Event()
    camera_alive.set()
    camera = SimpleNamespace(healthy=False, loop_alive=camera_alive.is_set)  # unplugged, loop fine
    task = loop_thread.run(_forever())
    booth = SimpleNamespace(_tasks=[task], devices=SimpleNamespace(camera=camera, microphone=SimpleNamespace()))
    dog = Watchdog(SystemdNotifier(None), interval=INTERVAL, health_checks=booth_health_checks(booth), clock=SystemClock())
    assert dog.failing_checks() == []  # an unplugged camera is the booth's fault screen, not a restart
    camera_alive.clear()
    assert dog.failing_checks() == ["camera loop"]
    loop_thread.loop.call_soon_threadsafe(task.cancel)
    loop_thread.run(asyncio.wait([task]))
    assert dog.failing_checks() == ["event loop tasks", "camera loop"]


async def _forever() -> asyncio.Task:
    return asyncio.get_running_loop().create_task(asyncio.Event().wait())
