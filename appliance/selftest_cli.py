"""`videokiosk selftest`: check every configured device, the hub, the clock and the disk.

Prints one line per check (pass/fail/skip, what was seen, what to do) and exits 1 if any check
failed, 2 if the config itself is broken. The booth's device-check screen runs the same checks
(``hw.checks``).

Example::

    $ videokiosk selftest --config /etc/videokiosk/booth.toml --button
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .config import BoothConfig, load_config
from .errors import ConfigError

DEFAULT_CONFIG = Path("/etc/videokiosk/booth.toml")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"booth config (default {DEFAULT_CONFIG})")
    parser.add_argument("--button", action="store_true", help="also wait for a press of the call button")
    parser.add_argument("--button-timeout", type=float, default=30.0, metavar="S", help="how long to wait for it (30)")
    parser.add_argument("--no-hub", action="store_true", help="skip the hub check (e.g. before enrolment)")
    parser.add_argument("--camera-timeout", type=float, default=5.0, metavar="S", help="time for frames to arrive (5)")


async def _run_checks(cfg: BoothConfig, args: argparse.Namespace) -> list:
    from hw import checks
    from hw.devices import build_audio, build_button_and_led, build_camera, build_hotplug
    from hw.errors import HardwareError

    # Each device is built on its own: one that cannot be set up is a failed line, and every other
    # device is still checked and shown.
    hw = cfg.hardware
    results = []
    opened: list = []

    def build(names: tuple[str, ...], make):
        try:
            return make()
        except HardwareError as exc:
            results.extend(checks.CheckResult(name, False, str(exc), f"check.{name}.unavailable") for name in names)
            return None

    hotplug = build(("hotplug",), lambda: build_hotplug(hw.hotplug))
    if hotplug is not None:
        try:
            await hotplug.start()
            opened.append(hotplug)
        except HardwareError as exc:  # no udev here: devices still work, hot-plug does not
            results.append(checks.CheckResult("hotplug", False, str(exc), "check.hotplug.unavailable"))
    try:
        camera = build(("camera",), lambda: build_camera(hw, hotplug))
        if camera is not None:
            opened.append(camera)
            results.append(await checks.check_camera(camera, timeout=args.camera_timeout))
        audio = build(("microphone", "speaker"), lambda: build_audio(hw, hotplug))
        if audio is not None:
            opened.extend(audio)
            results.extend(await checks.check_audio(*audio))
        button, led, _, degraded = build_button_and_led(hw, None)
        opened.extend((button, led))
        if degraded:
            results.append(checks.CheckResult("button", False, " ".join(degraded), "check.button.unavailable"))
        else:
            results.append(await _check_button(cfg, button, args.button, args.button_timeout))
    finally:
        for device in reversed(opened):
            closed = device.close()
            if asyncio.iscoroutine(closed):
                await closed
    results.extend(await check_system(cfg, hub=not args.no_hub))
    return results


async def check_devices(cfg: BoothConfig, devices, *, button: bool = False, button_timeout: float = 30.0,
                        camera_timeout: float = 5.0) -> list:
    """Camera, microphone, speaker (and the button if asked) on devices that are already open: the
    running daemon's (a technician's remote self-test, appliance/fleet.py)."""
    from hw import checks

    results = [await checks.check_camera(devices.camera, timeout=camera_timeout)]
    results.extend(await checks.check_audio(devices.microphone, devices.speaker))
    results.append(await _check_button(cfg, devices.button, button, button_timeout))
    return results


async def _check_button(cfg: BoothConfig, button, asked: bool, timeout: float):
    from hw import checks

    if asked and cfg.hardware.button == "none":
        return checks.CheckResult("button", True, "no button configured", "check.button.skipped", skipped=True)
    if asked:
        print(f"Press the call button now (within {timeout:.0f} s) ...", flush=True)
        return await checks.check_button(button, timeout=timeout)
    return checks.CheckResult("button", True, "not asked for", "check.button.skipped", skipped=True)


async def check_system(cfg: BoothConfig, *, hub: bool = True) -> list:
    """Disk, clock and (unless ``hub`` is False) the hub and this booth's credential at it."""
    from hw import checks

    results = [checks.check_disk(cfg.store.path.parent), await checks.check_clock()]
    if not hub:
        results.append(checks.CheckResult("hub", True, "--no-hub given", "check.hub.skipped", skipped=True))
        return results
    ssl = None
    if cfg.hub.ca_file is not None:
        import ssl as ssl_module

        ssl = ssl_module.create_default_context(cafile=str(cfg.hub.ca_file))
    reached = await checks.check_hub(cfg.hub.url, ssl=ssl)
    results.append(reached)
    if not reached.ok:
        results.append(checks.CheckResult("credential", False, "hub unreachable", "check.credential.unreachable"))
    else:
        try:
            results.append(await checks.check_credential(cfg.hub.url, cfg.hub_token(), ssl=ssl))
        except ConfigError as exc:  # the token file is missing or unreadable
            results.append(checks.CheckResult("credential", False, str(exc), "check.credential.missing"))
    return results


def format_table(results: list) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{'CHECK':<{width}}  RESULT  DETAIL"]
    for r in results:
        lines.append(f"{r.name:<{width}}  {r.status.upper():<6}  {r.detail}")
        if r.status != "pass" and r.hint_text:
            lines.append(f"{'':<{width}}  {'':<6}  -> {r.hint_text}")
    return "\n".join(lines)


def format_report(results: list) -> str:
    """The table and the one-line verdict under it; a skipped check is not a passed one."""
    failed = [r.name for r in results if r.status == "fail"]
    skipped = [r.name for r in results if r.status == "skip"]
    passed = len(results) - len(failed) - len(skipped)
    verdict = f"{passed} of {len(results)} checks passed"
    verdict += f"; skipped (not proven): {', '.join(skipped)}" if skipped else ""
    verdict += f"; failed: {', '.join(failed)}" if failed else ""
    return f"{format_table(results)}\n\n{verdict}"


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"selftest: {exc}", file=sys.stderr)
        return 2
    results = asyncio.run(_run_checks(cfg, args))
    print(format_report(results))
    return 1 if any(r.status == "fail" for r in results) else 0
