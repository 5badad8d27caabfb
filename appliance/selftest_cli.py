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
    from hw.devices import build_devices
    from hw.errors import HardwareError

    results = []
    try:
        devices = build_devices(cfg.hardware)
    except HardwareError as exc:
        results.append(checks.CheckResult("devices", False, str(exc), "check.devices.unavailable"))
        devices = None
    if devices is not None:
        try:
            await devices.start()
        except HardwareError as exc:  # no udev here: devices still work, hot-plug does not
            results.append(checks.CheckResult("hotplug", False, str(exc), "check.hotplug.unavailable"))
        try:
            results.extend(await check_devices(cfg, devices, button=args.button, button_timeout=args.button_timeout,
                                               camera_timeout=args.camera_timeout))
        finally:
            await devices.close()
    results.extend(await check_system(cfg, hub=not args.no_hub))
    return results


async def check_devices(cfg: BoothConfig, devices, *, button: bool = False, button_timeout: float = 30.0,
                        camera_timeout: float = 5.0) -> list:
    """Camera, microphone, speaker (and the button if asked) on devices that are already open:
    the command's own, or the running daemon's (a technician's remote self-test, appliance/fleet.py)."""
    from hw import checks

    results = [await checks.check_camera(devices.camera, timeout=camera_timeout)]
    results.extend(await checks.check_audio(devices.microphone, devices.speaker))
    if button and cfg.hardware.button == "none":
        results.append(checks.CheckResult("button", True, "no button configured", "check.button.skipped", skipped=True))
    elif button:
        print(f"Press the call button now (within {button_timeout:.0f} s) ...", flush=True)
        results.append(await checks.check_button(devices.button, timeout=button_timeout))
    else:
        results.append(checks.CheckResult("button", True, "not asked for", "check.button.skipped", skipped=True))
    return results


async def check_system(cfg: BoothConfig, *, hub: bool = True) -> list:
    """Disk, clock and (unless ``hub`` is False) the hub's /healthz."""
    from hw import checks

    results = [checks.check_disk(cfg.store.path.parent), await checks.check_clock()]
    if not hub:
        results.append(checks.CheckResult("hub", True, "--no-hub given", "check.hub.skipped", skipped=True))
    else:
        ssl = None
        if cfg.hub.ca_file is not None:
            import ssl as ssl_module

            ssl = ssl_module.create_default_context(cafile=str(cfg.hub.ca_file))
        results.append(await checks.check_hub(cfg.hub.url, ssl=ssl))
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
    """The table and the one-line verdict under it."""
    failed = [r.name for r in results if not r.ok]
    verdict = f"{len(results) - len(failed)} of {len(results)} checks passed" + (f"; failed: {', '.join(failed)}" if failed else "")
    return f"{format_table(results)}\n\n{verdict}"


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"selftest: {exc}", file=sys.stderr)
        return 2
    results = asyncio.run(_run_checks(cfg, args))
    print(format_report(results))
    return 1 if any(not r.ok for r in results) else 0
