"""``videokiosk mark-good``: after an update, keep the new slot only if the booth is really well.

systemd/videokiosk-mark-good.service runs this after videokiosk-booth.service is READY (it is
``Type=notify``, so ``After=`` waits for READY=1). When the booth has just booted into a freshly
installed slot (appliance/update.py says ``installed``), this waits until the daemon's own
metrics say its self-test passed and its hub link is up, then runs ``rauc status mark-good
booted``. If that does not happen within ``--timeout``, or the self-test keeps failing (``[fleet]
selftest_attempts`` times in a row: the daemon runs it again meanwhile, so a clock that NTP sets
a minute after boot is no reason to go back), it runs ``rauc status mark-bad booted`` and exits
1; the unit's ``FailureAction=reboot`` then boots the old slot.
A slot never marked good also runs out of boot attempts by itself (provisioning/rauc/boot.cmd),
so a daemon that crashes before it gets here is rolled back too.

On an ordinary boot (no update pending) it only renews the running slot's boot attempts (``rauc
status mark-good booted``, at once): a broken camera must never make a booth switch slots, and a
slot whose attempts boot.cmd used up would be left for the other one.

Example::

    >>> decide({"videokiosk_booth_selftest_passed": 1.0, "videokiosk_booth_hub_connected": 1.0}, attempts=5)
    'good'
    >>> decide({"videokiosk_booth_selftest_passed": 0.0, "videokiosk_booth_selftest_failed_in_a_row": 1.0}, attempts=5)
    'wait'
    >>> decide({"videokiosk_booth_selftest_passed": 0.0, "videokiosk_booth_selftest_failed_in_a_row": 5.0}, attempts=5)
    'bad'
    >>> decide({"videokiosk_booth_hub_connected": 1.0}, attempts=5)
    'wait'
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .config import load_for_command

DEFAULT_CONFIG = Path("/etc/videokiosk/booth.toml")
POLL_S = 2.0


def decide(figures: dict[str, float], *, attempts: int) -> str:
    """'good', 'bad' (the self-test failed ``attempts`` times in a row) or 'wait' (no verdict, a
    failure the daemon is still trying again, or no hub link yet)."""
    selftest = figures.get("videokiosk_booth_selftest_passed")
    if selftest == 0:
        return "bad" if figures.get("videokiosk_booth_selftest_failed_in_a_row", 0) >= attempts else "wait"
    if selftest == 1 and figures.get("videokiosk_booth_hub_connected") == 1:
        return "good"
    return "wait"


def read_figures(url: str, timeout: float = 3.0) -> dict[str, float]:
    from .status_cli import read_samples

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return {}  # the daemon is not serving (yet): keep waiting
    return {name: value for name, labels, value in read_samples(text) if not labels}


def mark(read: Callable[[], dict[str, float]], rauc: Callable[[str], int], *, timeout_s: float, attempts: int,
         now: Callable[[], float] = time.monotonic, pause: Callable[[float], None] = time.sleep) -> str:
    """Wait for a verdict, then tell RAUC. Returns 'good' or 'bad'."""
    deadline = now() + timeout_s
    verdict = "wait"
    while verdict == "wait" and now() < deadline:
        verdict = decide(read(), attempts=attempts)
        if verdict == "wait":
            pause(POLL_S)
    verdict = "good" if verdict == "good" else "bad"
    rauc(f"mark-{verdict}")
    return verdict


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"booth config (default {DEFAULT_CONFIG})")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S",
                        help="how long the booth has to pass its self-test and reach the hub (600)")


def rauc_status(command: str) -> int:
    return subprocess.run(["rauc", "status", command, "booted"], check=False).returncode


def run(args: argparse.Namespace, rauc: Callable[[str], int] = rauc_status) -> int:
    from videokiosk import __version__

    from .maintenance import Requests
    from .update import UpdateTracker

    config = load_for_command(args.config, "videokiosk mark-good")
    if config is None:
        return 2
    tracker = UpdateTracker(Path(config.store.path).parent, __version__,
                            install_failure=Requests(config.fleet.request_dir).install_failure)
    if tracker.state().state != "installed":
        # The running slot proved itself before (or is the one the bootloader fell back to): only its
        # boot attempts are renewed. boot.cmd spends one per boot, so without this an ordinary booth
        # would run out of them after three reboots and start the other slot. Never a failure: the
        # unit's FailureAction would reboot a booth that is well.
        if rauc("mark-good") != 0:
            print("videokiosk mark-good: no freshly installed update to confirm; RAUC could not renew this slot's "
                  "boot attempts", file=sys.stderr)
            return 0
        print("videokiosk mark-good: no freshly installed update to confirm; this slot's boot attempts renewed")
        return 0
    host = config.metrics.host if ":" not in config.metrics.host else f"[{config.metrics.host}]"
    url = f"http://{host}:{config.metrics.port}/metrics"
    verdict = mark(lambda: read_figures(url), rauc, timeout_s=args.timeout, attempts=config.fleet.selftest_attempts)
    if verdict == "good":
        tracker.mark_good()
        print(f"videokiosk mark-good: version {__version__} is well: slot marked good")
        return 0
    print(f"videokiosk mark-good: version {__version__} did not pass its self-test (up to "
          f"{config.fleet.selftest_attempts} tries) and reach the hub within {args.timeout:.0f} s: slot marked bad, "
          "the booth goes back to the previous version", file=sys.stderr)
    return 1
