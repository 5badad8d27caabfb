"""Out of service: when the booth takes itself out, when a technician does, and when it comes back.

Two reasons keep a booth out of service: a technician said so (remembered in a small file in the
booth's state directory, so a restart or a reboot does not bring a booth back that somebody took
out), or a camera, microphone or speaker has been missing longer than
``[out_of_service] after_device_missing_s``. When neither holds any more, the booth is back by
itself. A booth with a customer waiting or in a call is taken out only when the technician forced
it after the warning; a device missing during a call waits for the session to end.

Example::

    >>> from appliance.config import OutOfServiceSection
    >>> from appliance.session import Session
    >>> from videokiosk.clock import FakeClock
    >>> import asyncio
    >>> mode = ServiceMode(Session(), devices=None, settings=OutOfServiceSection(), clock=FakeClock())
    >>> asyncio.run(mode.set_by_technician(True))
    True
    >>> mode.reason
    'technician'
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from videokiosk.clock import Clock

from .config import OutOfServiceSection
from .journey import State

log = logging.getLogger("videokiosk.service")
WATCHED = ("camera", "microphone", "speaker")
CHECK_EVERY_S = 1.0


class ServiceMode:
    def __init__(self, session: Any, devices: Any, settings: OutOfServiceSection, clock: Clock,
                 flag_file: Path | None = None) -> None:
        self.session = session
        self.devices = devices
        self.settings = settings
        self.clock = clock
        self.flag_file = flag_file
        self.by_technician = bool(flag_file and flag_file.exists())
        self._missing_since: dict[str, float] = {}

    @property
    def reason(self) -> str | None:
        if self.by_technician:
            return "technician"
        return "device_missing" if self.missing_too_long() else None

    def missing_too_long(self) -> list[str]:
        now = self.clock.monotonic()
        return [name for name, since in self._missing_since.items()
                if now - since >= self.settings.after_device_missing_s]

    def busy(self) -> bool:
        """A customer is at the booth (anything but the idle screen or out of service)."""
        return self.session.state not in (State.IDLE, State.OUT_OF_SERVICE)

    async def set_by_technician(self, out: bool, force: bool = False) -> bool:
        """Take the booth out (or back). False: refused, a customer is there and ``force`` is not set."""
        if out and self.busy() and not force:
            return False
        self.by_technician = out
        if self.flag_file is not None:
            try:
                if out:
                    self.flag_file.write_text("technician\n")
                else:
                    self.flag_file.unlink(missing_ok=True)
            except OSError as exc:  # the booth still follows the technician; only a restart forgets
                log.error("out-of-service flag not kept at %s: %s", self.flag_file, exc.strerror)
        log.info("out of service by technician: %s%s", "on" if out else "off", " (forced)" if force else "")
        await self.apply(force=force)
        return True

    async def tick(self) -> None:
        """Note which devices are missing since when, then follow the reasons."""
        if self.devices is not None:
            now = self.clock.monotonic()
            for name in WATCHED:
                if getattr(self.devices, name).healthy:
                    self._missing_since.pop(name, None)
                else:
                    self._missing_since.setdefault(name, now)
        await self.apply()

    async def apply(self, force: bool = False) -> None:
        reason, state = self.reason, self.session.state
        if reason is not None and (state is State.IDLE or force or (state is State.OUT_OF_SERVICE
                                                                    and self._shown_reason() != reason)):
            if reason == "device_missing":
                log.warning("out of service: %s missing for more than %.0f s", ", ".join(self.missing_too_long()),
                            self.settings.after_device_missing_s)
            await self.session.handle("out_of_service", reason=reason, notice=self.notice())
        elif reason is None and state is State.OUT_OF_SERVICE:
            log.info("back in service")
            await self.session.handle("back_in_service")

    def notice(self) -> dict[str, str]:
        return {"opening_hours": self.settings.opening_hours, "nearest_booth": self.settings.nearest_booth}

    def _shown_reason(self) -> str | None:
        return (self.session.snapshot().get("out_of_service") or {}).get("reason")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            try:
                await self.tick()
            except Exception:  # never leave the booth stuck in or out of service silently
                log.exception("out-of-service check failed")
