"""The device-check screen's checks: the same ``hw.checks`` as ``videokiosk selftest``, plus the
upload/download rate, reported to the session one by one as they finish.

Each result is a plain dict the page renders: ``status`` ("pass", "warn", "fail"), ``hint`` (a
translation key under ``check.hints`` in kiosk_ui/i18n, None when there is nothing to say),
``detail`` (English, for logs) and ``kbps`` for the rates; ``retried`` when the check failed once
and ran again before the customer saw a verdict (:func:`retried_once`).

Example::

    checks = DeviceCheck(devices, speedtest_url="http://127.0.0.1:8080")
    await checks.run(report)          # report(name, result) awaited per check
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from hw.aio import cancel_and_wait
from rtc.errors import RtcError
from rtc.speedtest import measure

from .session_parts import rate_verdict

log = logging.getLogger("videokiosk.devicecheck")
Report = Callable[[str, dict[str, Any]], Awaitable[None]]


def from_hw(result: Any) -> dict[str, Any]:
    """Turn an ``hw.checks.CheckResult`` into what the page shows."""
    return {"status": "pass" if result.ok else "fail", "hint": None if result.ok else result.hint,
            "detail": result.detail}


def rate_result(kbps: int | None, detail: str = "") -> dict[str, Any]:
    verdict = rate_verdict(kbps)
    hint = {"pass": None, "warn": "check.rate.slow", "fail": "check.rate.low"}[verdict]
    if kbps is None:
        hint = "check.rate.unreachable"
    return {"status": verdict, "hint": hint, "kbps": kbps, "detail": detail or f"{kbps} kbit/s"}


class DeviceCheck:
    """Runs camera, audio (speaker tone heard by the microphone) and rate checks side by side."""

    def __init__(self, devices: Any, speedtest_url: str | Callable[[], str], *, camera_timeout: float = 5.0,
                 speedtest_timeout: float = 10.0, ssl: Any = None) -> None:
        self.devices = devices
        self._url = speedtest_url
        self.camera_timeout = camera_timeout
        self.speedtest_timeout = speedtest_timeout
        self.ssl = ssl

    async def run(self, report: Report) -> None:
        from hw import checks  # hw is the booth's hardware edge; imported when a check runs

        async def camera(report: Report) -> None:
            await report("camera", from_hw(await checks.check_camera(self.devices.camera, timeout=self.camera_timeout)))

        async def audio(report: Report) -> None:
            mic, speaker = await checks.check_audio(self.devices.microphone, self.devices.speaker)
            await report("microphone", from_hw(mic))
            await report("speaker", from_hw(speaker))

        async def rates(report: Report) -> None:
            url = self._url() if callable(self._url) else self._url
            try:
                connector = aiohttp.TCPConnector(ssl=self.ssl) if self.ssl is not None else None
                async with aiohttp.ClientSession(connector=connector) as http:
                    up, down = await measure(url, http, timeout_s=self.speedtest_timeout)
            except RtcError as exc:
                log.warning("speed test failed: %s", exc)
                await report("upload", rate_result(None, str(exc)))
                await report("download", rate_result(None, str(exc)))
                return
            await report("upload", rate_result(up))
            await report("download", rate_result(down))

        await asyncio.gather(
            retried_once(("camera",), camera, self.camera_timeout + 5, report),
            retried_once(("microphone", "speaker"), audio, 15, report),
            retried_once(("upload", "download"), rates, 2 * self.speedtest_timeout + 5, report),
        )


Check = Callable[[Report], Awaitable[None]]


async def guarded(names: tuple[str, ...], check: Check, limit: float, report: Report) -> None:
    """Whatever hangs, the customer gets a verdict and "Erneut prüfen", not an endless spinner."""
    try:
        await asyncio.wait_for(check(report), limit)
    except Exception as exc:
        log.warning("device check %s did not finish: %r", "/".join(names), exc)
        for name in names:
            await report(name, {"status": "fail", "hint": "check.error", "detail": repr(exc)})


async def retried_once(names: tuple[str, ...], check: Check, limit: float, report: Report) -> None:
    """A check that fails runs once more before the customer sees the failure: a moment of load
    on the booth (an update unpacking, a busy loop) must not read as a broken device. Passes show
    at once; a failure waits for the retry, whose results say ``"retried": True`` and carry the
    first attempt's detail."""
    failed: dict[str, dict[str, Any]] = {}

    async def first(name: str, result: dict[str, Any]) -> None:
        if result["status"] == "fail":
            failed[name] = result
        else:
            await report(name, result)

    async def again(name: str, result: dict[str, Any]) -> None:
        earlier = failed.get(name, {}).get("detail") or "passed"
        await report(name, {**result, "retried": True, "detail": f"{result.get('detail', '')} (retried; first: {earlier})"})

    await guarded(names, check, limit, first)
    if failed:
        log.info("device check %s failed once, retrying", "/".join(sorted(failed)))
        await guarded(names, check, limit, again)


class MicMeter:
    """Feeds the level meter while the device check is on screen: ``on_level(0..1)`` ~10x/s."""

    def __init__(self, microphone: Any, on_level: Callable[[float], None]) -> None:
        self.microphone = microphone
        self.on_level = on_level
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        from hw.checks import microphone_levels
        from hw.levels import to_meter

        try:
            async for dbfs in microphone_levels(self.microphone):
                self.on_level(round(to_meter(dbfs), 3))
        except asyncio.CancelledError:
            raise
        except Exception:  # a broken meter must not take the device check down with it
            log.exception("microphone level meter stopped")
