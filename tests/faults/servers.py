"""Real servers the fault tests start and stop themselves: redis-server on a free loopback port.

Example::

    with RedisServer(tmp_path) as redis:
        state = await RedisState.connect(redis.url)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Until something accepts on 127.0.0.1:port (polling a connect is the only signal a server gives)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)  # poll interval of a connect probe, not a wait for a result
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def stop(proc: subprocess.Popen | None) -> None:
    """Terminate a server started here; kill it if it does not go within 5 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class RedisServer:
    """``redis-server`` on 127.0.0.1 and a free port, no persistence, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> "RedisServer":
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is missing: run `make test` (scripts/system-packages.txt installs it)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)


class TurnServer:
    """coturn's ``turnserver`` with the shared-secret scheme, on ``listen_ip`` (loopback by default).

    ``relay_ip`` is the address it relays from (a namespace's address in the netns test).
    """

    def __init__(self, directory: Path, secret: str = "test-shared-secret", listen_ip: str | None = "127.0.0.1",
                 relay_ip: str | None = None, port: int | None = None, netns: str | None = None) -> None:
        self.directory = directory
        self.secret = secret
        self.listen_ip = listen_ip
        self.relay_ip = relay_ip or listen_ip
        self.port = port or free_port()
        self.netns = netns
        self.proc: subprocess.Popen | None = None
        self.log = directory / f"turnserver-{self.port}.log"

    def __enter__(self) -> "TurnServer":
        exe = shutil.which("turnserver") or "/usr/bin/turnserver"
        if not Path(exe).exists():
            pytest.fail("turnserver is missing: run `make test` (scripts/system-packages.txt installs coturn)")
        relay_port = 40000 + self.port % 20000
        listen = ["--listening-ip", self.listen_ip] if self.listen_ip else []  # None: every address (of a netns)
        cmd = [exe, "-n", *listen, "--listening-port", str(self.port),
               "--relay-ip", self.relay_ip, "--use-auth-secret", "--static-auth-secret", self.secret,
               "--realm", "videokiosk", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
               "--min-port", str(relay_port), "--max-port", str(relay_port + 200), "--fingerprint",
               "--log-file", str(self.log), "--simple-log", "--pidfile", str(self.directory / f"turn-{self.port}.pid"),
               "--no-multicast-peers"]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not self.netns:
            wait_for_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)
