"""Guest script pieces and their checks that more than one VM test uses (tests/vm/test_*.py).

A script piece is bash run by the guest's test agent after ``machine.PRELUDE`` (``say``, ``await``);
the host side reads its ``VK ...`` lines with ``Machine.wait_for``.
"""

from __future__ import annotations

import re
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.provisioning.rootfs import CannotBootstrap

from .image import booth_image
from .machine import QEMU, Machine

WATCHDOG_SEC = 30  # systemd/videokiosk-booth.service
BOOT_S = 1800  # TCG boot plus the first imports; a loaded 2-core host reached basic.target only after ~7 min

# Every boot's script starts here: the guest imports aiortc, av and numpy ~15x slower than a Pi, so
# the daemon's first start gets room (a drop-in on the root: every boot needs it again).
SLOW_START = r"""
unit=videokiosk-booth
mkdir -p /etc/systemd/system/$unit.service.d
printf '[Service]\nTimeoutStartSec=600\n' > /etc/systemd/system/$unit.service.d/vm-slow.conf
systemctl daemon-reload
"""

# The booth unit is up: READY=1 reached systemd (Type=notify), and the daemon's own status line.
READY = r"""
await 900 systemctl is-active -q $unit
say ready pid=$(systemctl show -p MainPID --value $unit) status="$(systemctl show -p StatusText --value $unit)"
"""
READY_LINE = r"^VK ready pid=(\d+) status=(.*)$"

# videokiosk-keep-state has done its work (or failed, which the caller checks): the journal and the
# timer stamps are on the state partition from here on.
STATE_SETTLED = r"""
settled() { case "$(systemctl is-active videokiosk-keep-state)" in active|failed) return 0 ;; *) return 1 ;; esac; }
await 600 settled
"""

# Where the guest's time goes (printed by the test; the slow steps are what to cut).
TIMING = r"""
say timing "$(systemd-analyze time | head -1)" / "$(systemd-analyze blame --no-pager | head -6 | tr -s ' ' | paste -sd ';')"
"""

# Freeze the daemon: systemd's watchdog must kill and restart it.
WATCHDOG = r"""
old=$(systemctl show -p MainPID --value $unit)
frozen=$(date +%s.%N)
kill -STOP "$old"
restarted() { local now; now=$(systemctl show -p MainPID --value $unit); [ "$now" != "$old" ] && [ "$now" != 0 ]; }
await 600 restarted
# systemd's own verdict, timed by its journal line: how long after the freeze it gave up on the
# daemon (the kill, the core and the restart after it depend on how much CPU the host lends the guest).
noticed=$(journalctl -u $unit -b --no-pager -o short-unix | grep 'Watchdog timeout' | tail -1 | cut -d' ' -f1)
say watchdog-restarted noticed=$(awk "BEGIN { printf \"%d\", $noticed - $frozen + 0.5 }") \
  after=$(awk "BEGIN { printf \"%d\", $(date +%s.%N) - $frozen }") new=$(systemctl show -p MainPID --value $unit)
say watchdog-journal $(journalctl -u $unit -b --no-pager | grep -c 'Watchdog timeout')
"""


# The purge timer: an expired row (consented 15 days ago), the timer fires, the sandboxed purge
# service deletes it. Rows that are not expired (a call's consent earlier in the boot) stay. The
# drop-in only makes the timer fire now instead of at its hourly calendar time with a random delay.
PURGE = r"""
systemctl stop videokiosk-kiosk $unit
runuser -u videokiosk -- /opt/videokiosk/venv/bin/python - <<'PY'
from datetime import datetime, timedelta, timezone
from appliance.store import BoothStore
from videokiosk.clock import FakeClock
store = BoothStore("/var/lib/videokiosk/booth.db", clock=FakeClock(datetime.now(timezone.utc) - timedelta(days=15)))
store.record_consent("vm-expired", "de", "0" * 64)
store.close()
PY
consents() { runuser -u videokiosk -- /opt/videokiosk/venv/bin/python -c "import sqlite3; db = sqlite3.connect('/var/lib/videokiosk/booth.db'); print(*db.execute(\"select count(*) filter (where session_id = 'vm-expired'), count(*) from consents\").fetchone())"; }
say expired-rows $(consents)
# The purge this piece waits for is a run after the row was written: on a boot after an earlier one
# the timer may already have caught up (Persistent=) and purged nothing, or still be at it.
ran=$(systemctl show -p InvocationID --value videokiosk-purge)
mkdir -p /etc/systemd/system/videokiosk-purge.timer.d
printf '[Timer]\nOnActiveSec=5s\nRandomizedDelaySec=0\n' > /etc/systemd/system/videokiosk-purge.timer.d/vm-now.conf
systemctl daemon-reload
systemctl restart videokiosk-purge.timer
purged() { [ "$(systemctl show -p InvocationID --value videokiosk-purge)" != "$ran" ] \
  && case "$(systemctl show -p ActiveState --value videokiosk-purge)" in inactive|failed) true ;; *) false ;; esac; }
await 600 purged
say purge-journal "$(journalctl _SYSTEMD_INVOCATION_ID="$(systemctl show -p InvocationID --value videokiosk-purge)" \
  --no-pager -o cat | grep 'purged: ' | tail -1)"
say rows-left $(consents)
say timer-stamp $(stat -c %Y /var/lib/systemd/timers/stamp-videokiosk-purge.timer)
"""

# A config that keeps the daemon failing: the unit's StartLimitAction (reboot) follows. The drop-in
# only lowers the count of failures before it (each failed start imports the daemon: slow here).
START_LIMIT = r"""
printf '[Unit]\nStartLimitBurst=3\n[Service]\nRestartSec=1\n' > /etc/systemd/system/$unit.service.d/vm-fewer.conf
echo 'this is not toml' > /etc/videokiosk/booth.toml
systemctl daemon-reload
sync
say start-limit-armed
systemctl start $unit
"""

# The guest's clock from the host (TimeServer below): qemu's user network reaches no NTP server, and
# the self-test and the daemon's start fail an unsynchronised clock. A booth gets its time from the
# office's network.
HOST_CLOCK = r"""
mkdir -p /etc/systemd/timesyncd.conf.d
printf '[Time]\nNTP=10.0.2.2\n' > /etc/systemd/timesyncd.conf.d/vm-host.conf
systemctl try-restart systemd-timesyncd
"""


class GoAhead:
    """The host's word to the guest that it may go on: the guest's script waits at ``wait(limit)``
    until the host calls ``give()`` (the host has seen what it reads from outside, such as the
    screen, before the script stops it). The host listens on 127.0.0.1 (the guest's 10.0.2.2) only
    from ``give()`` on; until then the guest's connections are refused.

    Example::

        ahead = GoAhead()
        vm = Machine(workdir, card, "say shown\\n" + ahead.wait(600) + "say going-on\\n").start()
        vm.wait_for("^VK shown$", 300)
        ahead.give()
        vm.wait_for("^VK going-on$", 300)
    """

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))  # bound, not listening: the port is ours and refuses
        self.port = self.sock.getsockname()[1]

    def wait(self, limit: int) -> str:
        """The guest's script piece that waits for the word (bash's own /dev/tcp: no tool needed)."""
        return f"""
ahead() {{ (: > /dev/tcp/10.0.2.2/{self.port}) 2> /dev/null; }}
await {limit} ahead
"""

    def give(self) -> None:
        self.sock.listen()

    def close(self) -> None:
        self.sock.close()


class TimeServer:
    """An SNTP server on the host's loopback, port 123 (the guest's 10.0.2.2:123): the host's clock."""

    UNIX_TO_NTP = 2208988800

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 123))
        threading.Thread(target=self._serve, daemon=True).start()

    @classmethod
    def _stamp(cls, t: float) -> bytes:
        seconds = t + cls.UNIX_TO_NTP
        return struct.pack("!II", int(seconds), int((seconds % 1) * 2**32))

    def _serve(self) -> None:
        while True:
            try:
                request, client = self.sock.recvfrom(512)
            except OSError:  # closed
                return
            if len(request) < 48:
                continue
            received = time.time()
            # LI 0, version 4, mode 4 (server); stratum 1 ("GPS"); the client's transmit time as origin.
            reply = (struct.pack("!BBbb", 0x24, 1, 6, -20) + struct.pack("!II", 0, 1 << 10) + b"GPS\0"
                     + self._stamp(received) + request[40:48] + self._stamp(received) + self._stamp(time.time()))
            self.sock.sendto(reply, client)

    def close(self) -> None:
        self.sock.close()


def serving_time() -> TimeServer | None:
    """A TimeServer for the guest, or None where an SNTP server already answers on the port (another
    VM test on this machine serving the same host clock: both cannot bind it). A port held by
    anything else fails the test, saying so."""
    try:
        return TimeServer()
    except OSError as exc:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(2)
            probe.sendto(b"\x23" + bytes(47), ("127.0.0.1", 123))  # version 4, mode 3 (client)
            try:
                if len(probe.recv(512)) >= 48:
                    return None
            except OSError:
                pass
        pytest.fail(f"the guest's time server needs the host's UDP port 123 on 127.0.0.1: {exc}")


def check_ready(vm: Machine) -> int:
    """The daemon's pid once the booth unit is active after its READY=1."""
    ready = vm.wait_for(READY_LINE, BOOT_S)
    assert int(ready.group(1)) > 0
    assert "serving the kiosk page" in ready.group(2), ready.group(0)  # the daemon's STATUS= after READY=1
    return int(ready.group(1))


def check_watchdog(vm: Machine, frozen_pid: int) -> re.Match:
    """The WATCHDOG piece's verdict: systemd noticed the frozen daemon at the watchdog deadline and
    started a new one."""
    restarted = vm.wait_for(r"^VK watchdog-restarted noticed=(\d+) after=(\d+) new=(\d+)$", 900)
    # The deadline counts from the last ping, which came up to half of WatchdogSec before the freeze
    # (the daemon pings every WatchdogSec/2, appliance/sdnotify.py).
    assert WATCHDOG_SEC / 2 - 2 <= int(restarted.group(1)) <= WATCHDOG_SEC + 10, restarted.group(0)
    assert int(restarted.group(3)) not in (0, frozen_pid), restarted.group(0)
    assert int(vm.wait_for(r"^VK watchdog-journal (\d+)$", 60).group(1)) >= 1
    return restarted


def check_purge(vm: Machine) -> tuple[int, int]:
    """The PURGE piece's verdict: the expired row was there and the timer's service deleted it. The
    timer's stamp (seconds) and the consents that stayed (not expired) are returned."""
    before = vm.wait_for(r"^VK expired-rows (\d+) (\d+)$", 600)
    assert before.group(1) == "1", before.group(0)
    assert "consent" in vm.wait_for(r"^VK purge-journal (.*)$", 700).group(1)
    after = vm.wait_for(r"^VK rows-left (\d+) (\d+)$", 120)
    assert after.group(1) == "0", after.group(0)
    assert int(after.group(2)) == int(before.group(2)) - 1, (before.group(0), after.group(0))  # only the expired one
    return int(vm.wait_for(r"^VK timer-stamp (\d+)$", 120).group(1)), int(after.group(2))


def check_start_limit(vm: Machine) -> None:
    """The START_LIMIT piece's verdict: StartLimitAction=reboot rebooted the guest, and qemu (run with
    -no-reboot) exited by itself."""
    vm.wait_for(r"^VK start-limit-armed$", 900)
    assert vm.wait_exit(900) == 0
    assert re.search(r"reboot: Restarting system", vm.console.read_text(errors="replace")), vm.tail()


def built_or_skip(build: Callable[[], Path], what: str) -> Path:
    """``build()``'s result (the image, the A/B root; cached after the first use), timed, or a skip
    saying why this machine cannot boot one: no qemu, not root, no debootstrap, no Debian mirror or
    kernel. A build step that fails where it can run (BuildFailed) is an error, not a skip."""
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed: no TCG or KVM here (scripts/system-packages.txt)")
    started = time.monotonic()
    try:
        built = build()
    except CannotBootstrap as exc:
        pytest.skip(f"cannot build the {what} here: {exc}")
    print(f"\nvm: {what} ready in {time.monotonic() - started:.0f} s ({built.name})")
    return built


def image_or_skip() -> Path:
    return built_or_skip(booth_image, "booth image")


def fresh_card(cached: Path, dest: Path) -> Path:
    """A copy of the cached image to boot (the VM writes to it; sparse: 3 GB, mostly holes)."""
    subprocess.run(["cp", "--sparse=always", "--reflink=auto", str(cached), str(dest)], check=True, timeout=600)
    return dest
