"""`videokiosk status`: the running booth's health as a terminal table, read from its metrics.

It asks the daemon's own endpoint (``[metrics]`` in the config), so it shows what Prometheus
would see and never opens the camera or the store itself. Exit code 0 when everything is well,
1 when the daemon is unreachable or a device or the hub link is down, 2 for a broken config.

Example::

    $ videokiosk status --config /etc/videokiosk/booth.toml
    videokiosk status: booth jc-halle-1 (http://127.0.0.1:9101/metrics)
      uptime              2 h 03 min
      state               waiting
      hub                 connected
      ...
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from .config import load_for_command

DEFAULT_CONFIG = Path("/etc/videokiosk/booth.toml")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"booth config (default {DEFAULT_CONFIG})")
    parser.add_argument("--url", help="metrics URL instead of the one the config names")
    parser.add_argument("--timeout", type=float, default=3.0, metavar="S", help="how long to wait for the daemon (3)")


def run(args: argparse.Namespace) -> int:
    config = load_for_command(args.config, "videokiosk status")
    if config is None:
        return 2
    host = config.metrics.host if ":" not in config.metrics.host else f"[{config.metrics.host}]"
    url = args.url or f"http://{host}:{config.metrics.port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"videokiosk status: the booth daemon does not answer at {url} ({reason}).\n"
              "  Is it running? `systemctl status videokiosk-booth`; is [metrics] enabled in the config?",
              file=sys.stderr)
        return 1
    samples = read_samples(text)
    rows, healthy = health_rows(samples)
    booth = next((labels.get("booth") for name, labels, _ in samples if name == "videokiosk_booth_info"), "?")
    print(f"videokiosk status: booth {booth} ({url})")
    print(table(rows))
    return 0 if healthy else 1


def read_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def _one(samples, name: str, **labels) -> float | None:
    for n, lab, value in samples:
        if n == name and all(lab.get(k) == v for k, v in labels.items()):
            return value
    return None


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min {int(seconds % 60)} s"


def health_rows(samples) -> tuple[list[tuple[str, str]], bool]:
    """The table's rows and whether everything is well."""
    healthy = True
    rows: list[tuple[str, str]] = []
    uptime = _one(samples, "videokiosk_booth_uptime_seconds")
    rows.append(("uptime", _duration(uptime) if uptime is not None else "?"))
    state = next((lab["state"] for n, lab, v in samples if n == "videokiosk_booth_state" and v == 1), "?")
    rows.append(("state", state))
    hub = _one(samples, "videokiosk_booth_hub_connected")
    if hub is not None:
        rows.append(("hub", "connected" if hub else "NOT CONNECTED"))
        healthy &= bool(hub)
    for n, lab, value in samples:
        if n == "videokiosk_booth_device_healthy":
            rows.append((lab["device"], "ok" if value else "FAULT"))
            healthy &= bool(value)
    temp = _one(samples, "videokiosk_booth_cpu_temperature_celsius")
    if temp is not None:
        rows.append(("CPU temperature", f"{temp:.1f} °C"))
    throttled = _one(samples, "videokiosk_booth_cpu_throttled")
    if throttled is not None:
        low_voltage = _one(samples, "videokiosk_booth_undervoltage")
        rows.append(("throttled", ("YES" if throttled else "no") + (", UNDER-VOLTAGE" if low_voltage else "")))
    free = _one(samples, "videokiosk_booth_disk_free_bytes")
    if free is not None:
        rows.append(("disk free", f"{free / 1e9:.1f} GB"))
    outcomes = [(lab["outcome"], int(v)) for n, lab, v in samples if n == "videokiosk_booth_sessions_total"]
    rows.append(("sessions", ", ".join(f"{o} {v}" for o, v in outcomes) or "none yet"))
    rows.append(("time in calls", _duration(_one(samples, "videokiosk_booth_call_seconds_total") or 0)))
    grade = next((lab["grade"] for n, lab, v in samples if n == "videokiosk_booth_last_call_quality" and v == 1), None)
    if grade is not None:
        up = _one(samples, "videokiosk_booth_last_call_upload_kbps")
        down = _one(samples, "videokiosk_booth_last_call_download_kbps")
        rates = f" (up {up:.0f} kbit/s, down {down:.0f} kbit/s)" if up is not None and down is not None else ""
        rows.append(("last call quality", grade + rates))
    runs = _one(samples, "videokiosk_booth_purge_runs_total") or 0
    purged = sum(v for n, _lab, v in samples if n == "videokiosk_booth_purged_rows_total")
    rows.append(("purge", f"{int(runs)} runs, {int(purged)} rows deleted"))
    return rows, healthy


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows) + 2
    return "\n".join(f"  {key:<{width}}{value}" for key, value in rows)
