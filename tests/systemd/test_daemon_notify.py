"""The real `videokiosk booth` process, started the way systemd starts it: NOTIFY_SOCKET and
WATCHDOG_USEC in its environment. It must say READY=1 once serving, ping WATCHDOG=1, fall silent
while it is hung (SIGSTOP: every loop frozen at once, as in a deadlock), and say STOPPING=1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.systemd.test_watchdog import NotifySocket

WATCHDOG_USEC = 200_000  # WatchdogSec=0.2s: a ping every 0.1 s
START_PATIENCE = 90.0  # imports aiortc and opens the fake devices on a shared 2-core machine


@pytest.fixture
def booth_config(tmp_path):
    config = tmp_path / "booth.toml"
    config.write_text(f"""
[booth]
id = "jc-test-1"
name = "Test"
location = "Lab"

[store]
path = "{tmp_path / 'booth.db'}"

[hardware]
camera = "fake"
audio = "fake"
button = "fake"
hotplug = "fake"

[metrics]
enabled = false
""")
    return config


@pytest.fixture
def listener(tmp_path) -> Iterator[tuple[NotifySocket, str]]:
    path = str(tmp_path / "notify")
    sock = NotifySocket(path)
    yield sock, path
    sock.sock.close()


def test_the_daemon_notifies_ready_pings_and_falls_silent_when_hung(listener, booth_config):
    sock, path = listener
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    daemon = subprocess.Popen([sys.executable, "-m", "videokiosk.cli", "booth", "--config", str(booth_config),
                               "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = sock.recv(START_PATIENCE)
        assert first.startswith("READY=1\nSTATUS=serving the kiosk page at http://127.0.0.1:"), first
        assert "WATCHDOG=1" in sock.recv_until("WATCHDOG=1")

        daemon.send_signal(signal.SIGSTOP)
        os.waitpid(daemon.pid, os.WUNTRACED)  # returns once the process is really stopped
        sock.drain()
        sock.assert_silent(20 * WATCHDOG_USEC / 2e6)  # 20 missed pings: systemd would restart it

        daemon.send_signal(signal.SIGCONT)
        assert "WATCHDOG=1" in sock.recv_until("WATCHDOG=1")

        daemon.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in sock.recv_until("STOPPING=1")
        assert daemon.wait(timeout=60) == 0
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGCONT)
            daemon.kill()
            daemon.wait(timeout=30)
        daemon.stdout.close()
        daemon.stderr.close()
