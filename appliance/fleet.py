"""The booth's side of fleet management, over its existing hub link (nothing new listens here).

:class:`FleetAgent` sends a :class:`~rtc.protocol.Health` report every ``[fleet]
health_interval_s`` and at once when something a technician cares about changes (activity,
a device, the link coming up), measures the link's round trip from the hub's ``health_ack``, and
carries out a technician's :class:`~rtc.protocol.FleetAction`, answering with an
``action_result``. With a customer waiting or in a call an action is refused unless forced (the
hub warns first; this is the second line, for a customer who arrived in between).

:class:`SelfTest` runs the same checks as ``videokiosk selftest`` on the daemon's open devices
and keeps the last verdict with its time (the fleet page and the update's mark-good read it).

Example (the daemon builds it; see appliance/daemon.py)::

    agent = FleetAgent(booth, link.send, requests=Requests(cfg.fleet.request_dir))
    link.on_message(p.HealthAck, agent.on_ack)
    link.on_message(p.FleetAction, agent.on_action)
"""

from __future__ import annotations

import asyncio
import logging
import platform
from datetime import timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from rtc import protocol as p
from videokiosk import __version__

from .journey import State
from .maintenance import Requests, read_journal
from .metrics import cpu_temperature_c, disk_free_bytes

log = logging.getLogger("videokiosk.fleet")
RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: systemd's Restart=on-failure starts the daemon again
Send = Callable[[p.Message], Awaitable[bool]]


Checks = Callable[[], Awaitable[list]]


class SelfTest:
    """The daemon's own self-test, on its open devices; ``last`` is the newest verdict and
    ``failed_in_a_row`` how many verdicts in a row were failures (mark-good reads both)."""

    def __init__(self, config: Any, devices: Any, clock: Any, *, checks: Checks | None = None) -> None:
        """``checks``: what one run checks (default: ``videokiosk selftest``'s device and system checks)."""
        self.config, self.devices, self.clock = config, devices, clock
        self.checks = checks or self._all_checks
        self.last: p.SelfTestSummary | None = None
        self.failed_in_a_row = 0
        self._lock = asyncio.Lock()

    async def _all_checks(self) -> list:
        from .selftest_cli import check_devices, check_system

        return [*await check_devices(self.config, self.devices), *await check_system(self.config)]

    async def run(self) -> str:
        """Run every check; returns the table a technician reads (as `videokiosk selftest` prints it)."""
        from .selftest_cli import format_report

        async with self._lock:
            results = await self.checks()
        failed = [r.name for r in results if not r.ok]
        at = self.clock.now().astimezone(timezone.utc).isoformat(timespec="seconds")
        self.last = p.SelfTestSummary(ok=not failed, at=at, failed=failed)
        self.failed_in_a_row = self.failed_in_a_row + 1 if failed else 0
        log.info("self-test: %s", "passed" if not failed else f"failed: {', '.join(failed)}")
        return format_report(results)

    async def run_until_passed(self, pause: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> bool:
        """The self-test at start: again every ``[fleet] selftest_retry_s`` until it passes, at most
        ``selftest_attempts`` runs (config.py says why). True when one passed."""
        fleet = self.config.fleet
        for attempt in range(fleet.selftest_attempts):
            if attempt:
                await pause(fleet.selftest_retry_s)
            await self.run()
            if self.last is not None and self.last.ok:
                return True
        return False


def activity(state: State) -> str:
    if state is State.OUT_OF_SERVICE:
        return "out_of_service"
    return "idle" if state is State.IDLE else "in_use"


class FleetAgent:
    def __init__(self, booth: Any, send: Send, *, requests: Requests, os_name: str | None = None) -> None:
        self.booth = booth
        self.send = send
        self.requests = requests
        self.os_name = os_name or f"{platform.system()} {platform.release()}"[:80]
        self._seq = 0
        self._sent_at: dict[int, float] = {}
        self.rtt_ms: float | None = None
        self._last_activity: str | None = None
        self._wake = asyncio.Event()

    # --- health -------------------------------------------------------------------------------

    def health(self) -> p.Health:
        b = self.booth
        hw = b.config.hardware
        devices = {name: "ok" if getattr(b.devices, name).healthy else "fault"
                   for name in ("camera", "microphone", "speaker")}
        devices["button"] = "absent" if hw.button == "none" else "ok" if b.devices.button.healthy else "fault"
        devices["led"] = ("absent" if hw.button == "none" or hw.led_pin is None
                          else "ok" if b.devices.led.healthy else "fault")
        temp = cpu_temperature_c()
        return p.Health(
            seq=self._seq, version=__version__, os=self.os_name, uptime_s=round(b.metrics.uptime_s(), 1),
            link_rtt_ms=self.rtt_ms, watchdog_restarts=b.restarts.count, devices=devices,
            selftest=b.selftest.last, disk_free_bytes=disk_free_bytes(Path(b.store.path)),
            cpu_temp_c=max(-50.0, min(150.0, temp)) if temp is not None else None,
            activity=activity(b.session.state),
            out_of_service_reason=b.service.reason if b.session.state is State.OUT_OF_SERVICE else None,
            update=b.updates.state(),
        )

    async def report(self) -> None:
        self._seq += 1
        health = self.health()
        self._sent_at = {health.seq: self.booth.clock.monotonic()}  # only the newest is measured
        await self.send(health)

    def changed(self, *_: Any) -> None:
        """Something shown on the fleet page changed: report soon (called on the loop)."""
        self._wake.set()

    def follow_state(self, snapshot: dict[str, Any]) -> None:
        now = activity(State(snapshot["state"]))
        if now != self._last_activity:
            self._last_activity = now
            self._wake.set()

    async def run(self) -> None:
        interval = self.booth.config.fleet.health_interval_s
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
                # meets a wake-up, and the daemon's stop() then waits for this loop for ever.
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                self._reboot_into_update()
                await self.report()
            except Exception:  # a report must never take the daemon down
                log.exception("health report failed")

    async def on_ack(self, msg: p.HealthAck) -> None:
        sent = self._sent_at.pop(msg.seq, None)
        if sent is not None:
            self.rtt_ms = round((self.booth.clock.monotonic() - sent) * 1000, 1)

    def _reboot_into_update(self) -> None:
        """An installed update waits for the booth to be free: checked at every report, and a
        customer leaving wakes the loop (follow_state)."""
        if self.requests.installed() and not self.booth.service.busy():
            log.info("update installed, no customer at the booth: rebooting into it")
            self.requests.reboot()

    # --- actions ------------------------------------------------------------------------------

    async def on_action(self, msg: p.FleetAction) -> None:
        b = self.booth
        log.info("technician's action %s (%s)%s", msg.action, msg.action_id, " forced" if msg.force else "")
        read_only = msg.action in ("fetch_logs", "back_in_service")
        if not read_only and b.service.busy() and not msg.force:
            await self._answer(msg, False, "a customer is at the booth: not done", refused="busy")
            return
        try:
            ok, detail, refused = await self._carry_out(msg)
        except Exception as exc:  # report, never crash the link
            log.exception("action %s failed", msg.action)
            ok, detail, refused = False, f"{msg.action} failed ({type(exc).__name__})", "failed"
        await self._answer(msg, ok, detail, refused=refused)
        self._wake.set()
        if ok and msg.action == "restart":
            b.request_exit(RESTART_EXIT_CODE)

    async def _carry_out(self, msg: p.FleetAction) -> tuple[bool, str, str | None]:
        b = self.booth
        match msg.action:
            case "selftest":
                table = await b.selftest.run()
                return b.selftest.last.ok, table, None
            case "restart":
                return True, "the daemon restarts now", None
            case "reboot":
                self.requests.reboot()
                return True, "reboot requested", None
            case "out_of_service" | "back_in_service":
                await b.service.set_by_technician(msg.action == "out_of_service", force=msg.force)
                return True, f"booth is {'out of' if b.service.reason else 'back in'} service", None
            case "fetch_logs":
                ok, text = await read_journal(b.config.fleet.journal_command, msg.hours or 1, p.ACTION_DETAIL_MAX - 4096)
                return ok, text, None if ok else "failed"
            case "install_update":
                if not msg.bundle_url:
                    return False, "no bundle given", "failed"
                self.requests.install(msg.bundle_url, msg.version)  # first: a failure here leaves no stale note
                b.updates.installing(msg.version)
                return True, "update requested: it installs into the other slot, then the booth reboots when no customer is there", None
        return False, f"{msg.action} is not supported by this booth", "unsupported"

    async def _answer(self, msg: p.FleetAction, ok: bool, detail: str, refused: str | None = None) -> None:
        await self.send(p.ActionResult(action_id=msg.action_id, ok=ok, refused=refused, detail=detail))
