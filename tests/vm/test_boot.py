"""The real booth image under systemd in a VM (TCG): the booth unit as a booth runs it.

The first boot proves, in order: the booth unit reaches READY=1 (Type=notify, active); the state
partition is made and journal, timer stamps, machine id and host keys are kept on it; a daemon
frozen with SIGSTOP is killed by the watchdog and restarted within WatchdogSec; the purge timer
fires and its sandboxed service purges an expired row; and a daemon that keeps failing ends in the
unit's StartLimitAction (a reboot, which ends qemu because it runs with -no-reboot). The second
boot, on the same card with its root as flashed (what overlayroot leaves after a reboot), finds the
first boot's journal, machine id, host key and timer stamp. Then power cuts: SIGKILL on qemu during
consent writes, a purge and a call's writes; each next boot finds the store whole, every
acknowledged write there and the booth READY again.

Measured on the shared 2-core machine at load 14-20 (2 Dec 2026): OS layer from scratch 131 s,
image 82-174 s, READY=1 90-166 s after qemu started, the first boot's proofs 330-455 s, the second
boot's 82 s, each power-cut boot 130-150 s. The enrolment and call (with READY=1, the watchdog, the
purge timer and the start limit) and the kiosk screen are tests/vm/test_appliance.py, in `make test`.

The guest is 15-19 times slower than the host: its waits are generous, and the test drops in two
settings for speed only where the unit's own values would make the test wait for nothing (the
timer's hourly calendar and random delay, the count of failures before the limit). The watchdog
and start-limit action are the unit's own.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from .machine import Machine
from .proofs import (BOOT_S, HOST_CLOCK, PURGE, READY, SLOW_START, START_LIMIT, STATE_SETTLED, TIMING, WATCHDOG, check_purge,
                     check_ready, check_start_limit, check_watchdog, fresh_card, image_or_skip)

pytestmark = [
    pytest.mark.slow, pytest.mark.timeout(3600),
    # Opt-in (`make vm-test`): at load 20-35 the image took 8-9 min and a boot 10-17 min to READY=1;
    # at load 14-20 (numbers above) these tests take about 20 minutes from a clean cache, far over
    # `make test`'s 6 minutes; see `make vm-test`. make test boots the image twice: test_appliance.py.
    pytest.mark.skipif(os.environ.get("VIDEOKIOSK_VM_TESTS") != "1",
                       reason="VM boot tests take tens of minutes under TCG (tests/vm/test_boot.py): "
                              "VIDEOKIOSK_VM_TESTS=1 or make vm-test"),
]

# What must outlive the RAM overlay: where it is kept, and the booth's identity.
KEPT = STATE_SETTLED + r"""
say kept "$(systemctl is-active videokiosk-keep-state)" journal=$(findmnt -no SOURCE /var/log/journal) \
  timers=$(findmnt -no SOURCE /var/lib/systemd/timers)
say identity machine-id=$(cat /etc/machine-id) \
  host-key=$(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)
"""

BOOTH_PROOFS = SLOW_START + HOST_CLOCK + r"""
# The venv's numpy is Debian's (python3-numpy; picamera2 is built against it), and the daemon's
# media stack imports together with it.
say imports "$(/opt/videokiosk/venv/bin/python -c 'import numpy, av, aiortc; print(numpy.__file__, numpy.__version__, av.__version__, aiortc.__version__)')"
""" + READY + r"""
say state-partition $(findmnt -no SOURCE,FSTYPE,LABEL /var/lib/videokiosk)
""" + KEPT + TIMING + r"""
# --- watchdog: freeze the daemon, systemd must kill and restart it -------------------------------
""" + WATCHDOG + r"""
await 900 systemctl is-active -q $unit
say ready-again

""" + PURGE + r"""
# --- the technician's self-test in the real root (fake devices in a VM) --------------------------
synced() { [ "$(timedatectl show --property=NTPSynchronized --value)" = yes ]; }
await 300 synced
runuser -u videokiosk -- videokiosk selftest --no-hub > /run/selftest.txt 2>&1
say selftest rc=$? $(grep -E '^(camera|microphone|speaker) ' /run/selftest.txt | awk '{print $1 "=" $2}' | tr '
' ' ')

""" + START_LIMIT


# The second boot, after a reboot as overlayroot makes it (tests/vm/machine.py): what the first boot
# left must be there. Then the first power cut's load.
REBOOT_PROOFS = SLOW_START + KEPT + r"""
say boots $(journalctl --list-boots --no-pager -q | grep -cE '[0-9a-f]{32}')
say previous-boot watchdog=$(journalctl -b -1 -u $unit --no-pager | grep -c 'Watchdog timeout') \
  start-limit=$(journalctl -b -1 --no-pager | grep -c 'Start request repeated too quickly')
say timer-stamp $(stat -c %Y /var/lib/systemd/timers/stamp-videokiosk-purge.timer) booted=$(date -d "$(uptime -s)" +%s)
"""
# After a power cut: the store whole, no acknowledged write lost (tests/vm/powercut/check.py), the
# booth back (READY=1, its status line). The store is read as the cut left it, before anything
# purges: the daemon purges at its start (appliance/daemon.py) and the purge timer may catch up at
# boot, and either would delete the expired rows a cut purge left behind. Checked after the booth was up, the first 21 cuts' "whole
# batches" could not have failed (2 Dec 2026). purged-before-check proves the order.
CUT_CHECK = SLOW_START + r"""
mounted() { findmnt -n /var/lib/videokiosk > /dev/null; }
await 600 mounted
cd /run/vk-test && runuser -u videokiosk -- /opt/videokiosk/venv/bin/python check.py
say purged-before-check $(journalctl -b -u $unit -u videokiosk-purge --no-pager -o cat | grep -c -e 'purge: deleted' -e 'purged: ')
await 900 systemctl is-active -q $unit
say ready-after-cut status="$(systemctl show -p StatusText --value $unit)"
"""
# The load the next power cut lands in (tests/vm/powercut/load.py), with the booth running beside it.
CUT_LOAD = r"""
await 900 systemctl is-active -q $unit
cd /run/vk-test && runuser -u videokiosk -- /opt/videokiosk/venv/bin/python load.py {mode}
"""
POWER_CUT_MODES = ("consent", "purge", "call")
# The issue asks for 20 rounds (make bench, or VIDEOKIOSK_VM_POWER_CUTS=20): each cut is a boot.
POWER_CUT_ROUNDS = int(os.environ.get("VIDEOKIOSK_VM_POWER_CUTS", "1"))
POWERCUT_SCRIPTS = Path(__file__).resolve().parent / "powercut"


@pytest.fixture(scope="module")
def cached_image() -> Path:
    return image_or_skip()


@pytest.fixture
def image(cached_image, tmp_path) -> Path:
    # Each test boots a fresh card: a first boot (state partition, machine id) is part of what it proves.
    return fresh_card(cached_image, tmp_path / "booth.ext4")


@pytest.mark.timeout(3600 + 900 * len(POWER_CUT_MODES) * POWER_CUT_ROUNDS)  # a boot per cut
def test_the_booth_unit_runs_under_systemd_keeps_its_state_and_survives_power_cuts(cached_image, image, tmp_path,
                                                                                  host_clock):
    # The card as flashed, for every reboot: a copy of its own (a rebuilt image replaces the cache's).
    pristine = fresh_card(cached_image, tmp_path / "pristine.ext4")
    # The screen is proven on its own boot (test_appliance.py): here Chromium would only take the slow guest's CPU.
    vm = Machine(tmp_path, image, BOOTH_PROOFS, cmdline="systemd.mask=videokiosk-kiosk.service").start()
    try:
        booted = time.monotonic()
        imports = vm.wait_for(r"^VK imports (\S+) (\S+) (\S+) (\S+)$", BOOT_S)
        assert imports.group(1).startswith("/usr/lib/python3/dist-packages/numpy/"), imports.group(0)
        ready_pid = check_ready(vm)
        print(f"vm: booth READY=1 {time.monotonic() - booted:.0f} s after qemu started")
        # The first boot made the state partition behind the root and mounted it for the store.
        assert vm.wait_for(r"^VK state-partition (.*)$", 60).group(1).split() == ["/dev/vda2", "ext4", "vkstate"]
        kept = vm.wait_for(r"^VK kept (\S+) journal=(\S+) timers=(\S+)$", 300)
        assert kept.groups() == ("active", "/dev/vda2[/os/journal]", "/dev/vda2[/os/timers]"), kept.group(0)
        identity = vm.wait_for(r"^VK identity machine-id=([0-9a-f]{32}) host-key=(SHA256:\S+)$", 300).groups()
        print(f"vm: {vm.wait_for(r'^VK timing (.*)$', 900).group(1)}")
        print(f"vm: {check_watchdog(vm, ready_pid).group(0)}")
        vm.wait_for(r"^VK ready-again$", 900)

        stamp, _ = check_purge(vm)

        selftest = vm.wait_for(r"^VK selftest rc=(\d+) (.*)$", 900)
        assert selftest.group(2).split() == ["camera=PASS", "microphone=PASS", "speaker=PASS"], selftest.group(0)
        assert selftest.group(1) == "0", selftest.group(0)  # every check, the clock too (HOST_CLOCK)
        check_start_limit(vm)
    finally:
        vm.kill()
    print(f"vm: first boot done {time.monotonic() - booted:.0f} s after qemu started")
    reboot_keeps_state_then_power_cuts(vm, pristine, identity, stamp)


def reboot_keeps_state_then_power_cuts(vm: Machine, pristine: Path, identity: tuple[str, str], stamp: int) -> None:
    """Boot 2 on the same card (its root as flashed, as overlayroot leaves it): the journal of boot 1,
    the machine id, the host key and the purge timer's stamp are still there. Then power cuts: each
    boot checks the last cut and starts the next load, SIGKILL on qemu lands in it."""
    seed = int(os.environ.get("VIDEOKIOSK_VM_SEED", str(time.time_ns() % 10**6)))
    chance = random.Random(seed)
    modes = list(POWER_CUT_MODES) * POWER_CUT_ROUNDS
    print(f"vm: power cuts {modes} (VIDEOKIOSK_VM_SEED={seed})")
    files = {name: (POWERCUT_SCRIPTS / name).read_text() for name in ("load.py", "check.py")}
    acked: list[str] = []
    checked = 0
    for boot, mode in enumerate([*modes, None], start=2):
        vm.reboot_as_overlayroot(pristine)
        script = (REBOOT_PROOFS if boot == 2 else CUT_CHECK) + (CUT_LOAD.format(mode=mode) if mode else "")
        vm.set_script(script, {**files, "acked.txt": "\n".join(acked) + "\n"})
        started = time.monotonic()
        vm.start()
        try:
            if boot == 2:
                assert vm.wait_for(r"^VK kept (\S+)", BOOT_S).group(1) == "active"
                again = vm.wait_for(r"^VK identity machine-id=(\S+) host-key=(\S+)$", 300).groups()
                assert again == identity, (identity, again)  # the same booth to journald and to ssh
                # journalctl lists boot 1 (whose journal is on the state partition) and this one.
                assert int(vm.wait_for(r"^VK boots (\d+)$", 300).group(1)) >= 2
                previous = vm.wait_for(r"^VK previous-boot watchdog=(\d+) start-limit=(\d+)$", 300)
                assert int(previous.group(1)) >= 1 and int(previous.group(2)) >= 1, previous.group(0)
                kept, booted = map(int, vm.wait_for(r"^VK timer-stamp (\d+) booted=(\d+)$", 300).groups())
                # The stamp boot 1 left (its timer may have fired again after the stamp was read), not
                # one made now; unless an hour boundary passed: the timer then catches up at boot.
                assert stamp <= kept < booted or booted // 3600 > stamp // 3600, (stamp, kept, booted)
                print(f"vm: boot 2 kept the journal, machine id, host key, timer stamp "
                      f"{time.monotonic() - started:.0f} s after qemu started")
            else:
                check = vm.wait_for(r"^VK powercut-check integrity=(\S+) acked=(\d+) missing=(\d+) "
                                    r"expired-left=(\d+) whole-batches=(\S+)$", BOOT_S)
                print(f"vm: boot {boot} after the cut: {check.group(0)} "
                      f"({time.monotonic() - started:.0f} s after qemu started)")
                assert check.group(1) == "ok" and int(check.group(2)) == len(acked), check.group(0)
                assert check.group(3) == "0" and check.group(5) == "True", check.group(0)
                assert vm.wait_for(r"^VK purged-before-check (\d+)$", 120).group(1) == "0", vm.tail()
                # The booth is back after the cut: READY=1 and its idle status line.
                assert "serving the kiosk page" in vm.wait_for(r"^VK ready-after-cut status=(.*)$", BOOT_S).group(1)
                checked += 1
            if mode is None:
                break
            acked = cut_the_power(vm, mode, chance)
            # Where it landed: the guest's last whole line before the plug was pulled ("begin purge N"
            # with no "purged" after it: inside the purge; "ack ID": in the write after that one).
            print(f"vm: boot {boot}: power cut during {mode} after {len(acked)} acknowledged writes, "
                  f"last line {vm.lines()[-1]!r} ({time.monotonic() - started:.0f} s after qemu started)")
        finally:
            vm.kill()
    assert checked == len(modes)  # every cut was checked on the boot after it


def cut_the_power(vm: Machine, mode: str, chance: random.Random) -> list[str]:
    """SIGKILL on qemu in the middle of ``mode``'s writes; the ids the guest saw acknowledged."""
    if mode == "purge":
        vm.wait_for(rf"^VK begin purge {chance.randint(1, 3)}$", BOOT_S)  # the purge is running now
        # The cut's place inside the (stretched, powercut/load.py) purge: a random point in its first
        # second, on top of the half second wait_for may take to see the line.
        time.sleep(chance.uniform(0, 1))
    else:
        vm.wait_for(rf"^VK ack cut-{mode}-{chance.randint(3, 30)}-", BOOT_S)  # the next write is running now
    vm.kill()
    return [line.split()[2] for line in vm.lines() if line.startswith("VK ack ")]
