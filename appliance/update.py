"""Where the booth stands with a software update, for its health report.

An update is a RAUC bundle signed with the office's key (provisioning/rauc/). The hub asks for it
(``install_update``); the booth notes the version it expects and the boot it asked from in
``update.json`` in its state directory, and the root-side maintenance service installs the bundle
into the other slot and reboots (appliance/maintenance.py). After the reboot:

- running the expected version: ``installed``, until ``videokiosk mark-good`` (a systemd unit that
  runs only after the daemon is READY, its self-test passed and it reached the hub) makes it
  ``good``;
- running another version on a new boot: the bootloader fell back to the old slot by itself
  (the new one never got marked good): ``rolled_back``;
- the install itself was refused (a bundle signed with another key, say): ``failed``, with RAUC's
  reason.

Example::

    >>> import tempfile
    >>> updates = UpdateTracker(Path(tempfile.mkdtemp()), "1.0", install_failure=lambda: None, boot_id=lambda: "boot-a")
    >>> updates.installing("1.1"); updates.state().state
    'installing'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from rtc import protocol as p

from .statefile import write_whole

log = logging.getLogger("videokiosk.update")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
KERNEL_CMDLINE = Path("/proc/cmdline")


def current_boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return "unknown"


def booted_slot(cmdline: Path = KERNEL_CMDLINE) -> str | None:
    """The A/B slot this boot runs from, as the bootloader told the kernel (``rauc.slot=B``, what
    boot.cmd sets and RAUC itself reads); None on a machine without slots.

    >>> import tempfile
    >>> line = Path(tempfile.mkdtemp()) / "cmdline"; _ = line.write_text("root=/dev/mmcblk0p3 rauc.slot=B rootwait\\n")
    >>> booted_slot(line)
    'B'
    """
    try:
        words = cmdline.read_text().split()
    except OSError:
        return None
    slots = [word.removeprefix("rauc.slot=") for word in words if word.startswith("rauc.slot=")]
    return slots[-1] if slots and slots[-1].isalnum() else None


class UpdateTracker:
    def __init__(self, state_dir: Path, version: str, *, install_failure: Callable[[], str | None],
                 boot_id: Callable[[], str] = current_boot_id, booted_slot: str | None = None) -> None:
        self.file = state_dir / "update.json"
        self.version = version
        self.install_failure = install_failure
        self.boot_id = boot_id
        self.booted_slot = booted_slot

    def installing(self, target_version: str | None) -> None:
        self._write({"target": target_version, "boot": self.boot_id(), "state": "installing"})

    def mark_good(self) -> None:
        record = self._read()
        if record:
            self._write({**record, "state": "good"})

    def state(self) -> p.UpdateState:
        record = self._read()
        if not record:
            return p.UpdateState(booted_slot=self.booted_slot)
        target, state = record.get("target"), record.get("state", "installing")
        detail = ""
        if state == "installing":
            failure = self.install_failure()
            rebooted = record.get("boot") != self.boot_id()
            if failure is not None:
                state, detail = "failed", failure
            elif rebooted:
                state = "installed" if target in (None, self.version) else "rolled_back"
                if state == "rolled_back":
                    detail = f"still on {self.version}: the new slot did not come up good"
        return p.UpdateState(state=state, booted_slot=self.booted_slot, target_version=target, detail=detail[:200])

    def _read(self) -> dict:
        try:
            record = json.loads(self.file.read_text())
            return record if isinstance(record, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write(self, record: dict) -> None:
        try:
            write_whole(self.file, json.dumps(record))  # read by the health report and mark-good
        except OSError as exc:
            log.error("update state not kept at %s: %s", self.file, exc.strerror)
