"""The sd_notify protocol, by hand: a few lines over the ``NOTIFY_SOCKET`` datagram socket.

systemd starts ``videokiosk-booth.service`` with ``Type=notify`` and ``WatchdogSec=``: it waits for
``READY=1`` before starting the kiosk, and restarts the daemon when ``WATCHDOG=1`` stops arriving.
The protocol is one ``KEY=VALUE`` line per field in a single datagram, so it is written here rather
than pulled in from an unmaintained package.

Example::

    >>> notifier = SystemdNotifier.from_environment({})   # not under systemd: every call is a no-op
    >>> notifier.ready(status="serving on 127.0.0.1:8081")
    False
    >>> watchdog_interval({"WATCHDOG_USEC": "30000000"}, pid=1)
    15.0
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from typing import Protocol

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Where the daemon reports its state; systemd on a booth, a list in a test."""

    def send(self, *fields: str) -> bool:
        """Send ``KEY=VALUE`` fields as one message; True if it was delivered."""


def socket_address(notify_socket: str) -> str | bytes:
    """The address to send to: a path, or an abstract name (``@name`` means a leading NUL)."""
    if notify_socket.startswith("@"):
        return b"\0" + notify_socket[1:].encode()
    return notify_socket


class SystemdNotifier:
    """Sends sd_notify messages to the socket systemd names in ``NOTIFY_SOCKET``.

    Without a socket (run by hand, in the demo) every call does nothing and returns False, so the
    daemon calls it unconditionally. A send that fails is logged once and never raises: a
    missing watchdog ping must not become a crash of its own.
    """

    def __init__(self, notify_socket: str | None) -> None:
        self._address = socket_address(notify_socket) if notify_socket else None
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "SystemdNotifier":
        environ = os.environ if environ is None else environ
        return cls(environ.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, *fields: str) -> bool:
        if self._address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto(message, self._address)
        except OSError as exc:
            if not self._warned:
                log.warning("sd_notify: cannot reach the notify socket (%s); systemd will not hear us", exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Tell systemd the daemon is serving: units ordered after it (the kiosk) may start."""
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """A one-line status that ``systemctl status videokiosk-booth`` shows."""
        return self.send(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval(environ: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between pings: half of ``WatchdogSec=``, as sd_watchdog_enabled(3) advises.

    None when systemd asked for no watchdog, or when ``WATCHDOG_PID`` names another process
    (a child that inherited the environment must not ping on its parent's behalf).
    """
    environ = os.environ if environ is None else environ
    usec = environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    owner = environ.get("WATCHDOG_PID")
    if owner and int(owner) != (os.getpid() if pid is None else pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2_000_000 if value > 0 else None
