"""After an update the new slot is marked good only when the booth is well (self-test passed and
hub reached); otherwise bad, so the bootloader goes back. An ordinary boot only renews its slot's
boot attempts."""

from __future__ import annotations

import argparse
import asyncio
from types import SimpleNamespace

from appliance.config import FleetSection
from appliance.daemon import Booth
from appliance.fleet import SelfTest
from appliance.mark_good import mark, read_figures, run
from hw.checks import CheckResult
from videokiosk.clock import FakeClock

from .helpers import booth_config

ATTEMPTS = FleetSection().selftest_attempts  # the image's rule: config.py says why


class Clock:
    """Time for mark(): each pause moves it on, so nobody sleeps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def pause(self, seconds: float) -> None:
        self.t += seconds


def verdict(readings: list[dict], timeout_s: float = 10.0) -> tuple[str, list[str]]:
    told, clock, queue = [], Clock(), list(readings)
    result = mark(lambda: queue.pop(0) if queue else {}, lambda cmd: told.append(cmd) or 0, timeout_s=timeout_s,
                  attempts=ATTEMPTS, now=clock.now, pause=clock.pause)
    return result, told


def test_good_only_after_a_passed_self_test_with_the_hub_reached():
    starting = {"videokiosk_booth_hub_connected": 0.0}
    tested = {"videokiosk_booth_hub_connected": 0.0, "videokiosk_booth_selftest_passed": 1.0}
    well = {"videokiosk_booth_hub_connected": 1.0, "videokiosk_booth_selftest_passed": 1.0}
    assert verdict([{}, starting, tested, well]) == ("good", ["mark-good"])
    failed_for_good = {"videokiosk_booth_selftest_passed": 0.0, "videokiosk_booth_selftest_failed_in_a_row": ATTEMPTS}
    assert verdict([starting, failed_for_good]) == ("bad", ["mark-bad"])
    assert verdict([tested] * 100, timeout_s=10) == ("bad", ["mark-bad"])  # never reached the hub in time


async def test_the_daemon_serves_its_self_test_verdict_for_mark_good(tmp_path):
    config = booth_config(tmp_path)
    config = config.model_copy(update={"metrics": config.metrics.model_copy(update={"enabled": True, "port": 0})})
    booth = Booth(config)
    await booth.start(port=0)
    try:
        url = booth.metrics_server.url
        figures = await asyncio.to_thread(read_figures, url)
        assert "videokiosk_booth_selftest_passed" not in figures  # no verdict yet: mark-good waits
        await booth.selftest.run()
        figures = await asyncio.to_thread(read_figures, url)
        assert figures["videokiosk_booth_selftest_passed"] == (1.0 if booth.selftest.last.ok else 0.0)
        # What mark-good counts before it calls a failure lasting.
        assert figures["videokiosk_booth_selftest_failed_in_a_row"] == booth.selftest.failed_in_a_row
    finally:
        await booth.stop()


def test_an_ordinary_boot_only_renews_its_slots_boot_attempts(tmp_path, capsys):
    (tmp_path / "booth.toml").write_text(f'[booth]\nid = "jc-1"\nname = "A"\nlocation = "B"\n'
                                         f'[store]\npath = "{tmp_path / "booth.db"}"\n')
    told: list[str] = []
    args = argparse.Namespace(config=tmp_path / "booth.toml", timeout=1.0)
    # No self-test wait and never bad: boot.cmd spends an attempt per boot, this gives it back.
    assert run(args, rauc=lambda command: told.append(command) or 0) == 0
    assert told == ["mark-good"] and "boot attempts renewed" in capsys.readouterr().out
    # RAUC failing here must not reboot a well booth (the unit's FailureAction): a warning only.
    assert run(args, rauc=lambda command: 1) == 0
    assert "could not renew" in capsys.readouterr().err


async def test_the_image_has_the_daemon_run_its_self_test_at_start(tmp_path):
    config = booth_config(tmp_path)
    # One try: here its hub is missing, and the retries are the subject of the tests above.
    config = config.model_copy(update={"fleet": config.fleet.model_copy(update={"selftest_at_start": True,
                                                                              "selftest_attempts": 1})})
    booth = Booth(config)
    await booth.start(port=0)
    try:
        await asyncio.wait_for(asyncio.shield(booth._selftest_task), 60)
        assert booth.selftest.last is not None and booth.selftest.last.at
    finally:
        await booth.stop()


class Checks:
    """The self-test's checks: the clock unsynchronised for the first ``unsynced`` runs (a Pi before NTP)."""

    def __init__(self, unsynced: int) -> None:
        self.unsynced, self.runs = unsynced, 0

    async def __call__(self) -> list:
        self.runs += 1
        synced = self.runs > self.unsynced
        return [CheckResult("camera", True, "ok", "check.camera.ok"),
                CheckResult("clock", synced, "NTP-synchronised" if synced else "not NTP-synchronised",
                            "check.clock.ok" if synced else "check.clock.not_synced")]


async def after_start(unsynced: int) -> tuple[str, list[str], int]:
    """The daemon's self-test at start (its retries' pauses recorded, not slept) and mark-good
    reading the figures the daemon serves after each run, as the unit does while it waits."""
    checks = Checks(unsynced)
    selftest = SelfTest(SimpleNamespace(fleet=FleetSection()), devices=None, clock=FakeClock(), checks=checks)
    readings: list[dict] = []
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        readings.append(figures())

    def figures() -> dict:
        return {"videokiosk_booth_hub_connected": 1.0, "videokiosk_booth_selftest_passed": float(selftest.last.ok),
                "videokiosk_booth_selftest_failed_in_a_row": float(selftest.failed_in_a_row)}

    await selftest.run_until_passed(pause)
    readings.append(figures())
    assert pauses == [FleetSection().selftest_retry_s] * (checks.runs - 1)
    result, told = verdict(readings, timeout_s=3600)
    return result, told, checks.runs


async def test_a_self_test_that_fails_until_ntp_answers_keeps_the_update():
    """Promise: a booth whose clock is set a minute after boot is not rolled back for it."""
    assert await after_start(unsynced=ATTEMPTS - 1) == ("good", ["mark-good"], ATTEMPTS)


async def test_a_self_test_that_keeps_failing_rolls_the_update_back():
    assert await after_start(unsynced=ATTEMPTS + 10) == ("bad", ["mark-bad"], ATTEMPTS)  # no run after the last try
