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
            results.append(await checks.check_camera(devices.camera, timeout=args.camera_timeout))
            results.extend(await checks.check_audio(devices.microphone, devices.speaker))
            if args.button and cfg.hardware.button == "none":
                results.append(checks.CheckResult("button", True, "no button configured", "check.button.skipped", skipped=True))
            elif args.button:
                print(f"Press the call button now (within {args.button_timeout:.0f} s) ...", flush=True)
                results.append(await checks.check_button(devices.button, timeout=args.button_timeout))
            else:
                results.append(checks.CheckResult("button", True, "not asked for", "check.button.skipped", skipped=True))
        finally:
            await devices.close()
    results.append(checks.check_disk(cfg.store.path.parent))
    results.append(await checks.check_clock())
    if args.no_hub:
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


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"selftest: {exc}", file=sys.stderr)
        return 2
    results = asyncio.run(_run_checks(cfg, args))
    print(format_table(results))
    failed = [r.name for r in results if not r.ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} checks passed" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
