"""The booth's Prometheus endpoint for technicians, on its own registry, served on ``[metrics]``.

Names and labels are a contract (dashboards, alerts and ``videokiosk status`` read them):

================================================ ======= ======================================
``videokiosk_booth_info``                        gauge   1, labelled ``booth``
``videokiosk_booth_uptime_seconds``              gauge   since the daemon started
``videokiosk_booth_state``                       gauge   1 for the current ``state``, else 0
``videokiosk_booth_sessions_total``              counter sessions by ``outcome`` (call, declined,
                                                         cancelled, timeout, withdrawn,
                                                         check_failed), from the anonymous
                                                         daily statistics, so they survive restarts
``videokiosk_booth_call_seconds_total``          counter time spent in calls
``videokiosk_booth_last_call_quality``           gauge   1 for the ``grade`` of the last sample
``videokiosk_booth_last_call_upload_kbps``       gauge   and its rates
``videokiosk_booth_last_call_download_kbps``     gauge
``videokiosk_booth_device_healthy``              gauge   1/0 by ``device`` (camera, microphone,
                                                         speaker, button)
``videokiosk_booth_hub_connected``               gauge   1/0 (absent without a hub)
``videokiosk_booth_selftest_passed``             gauge   1/0 for the last self-test (absent before one)
``videokiosk_booth_selftest_failed_in_a_row``    gauge   failed self-tests since the last passed one
``videokiosk_booth_cpu_temperature_celsius``     gauge   from /sys/class/thermal (absent if none)
``videokiosk_booth_cpu_throttled``               gauge   1/0, a Pi's firmware ``get_throttled``
``videokiosk_booth_undervoltage``                gauge   1/0, same source (absent elsewhere)
``videokiosk_booth_disk_free_bytes``             gauge   on the store's file system
``videokiosk_booth_purge_runs_total``            counter purge runs
``videokiosk_booth_purged_rows_total``           counter rows deleted, by ``table``
================================================ ======= ======================================

Nothing here names a person or a session. The endpoint listens on loopback or a management
network address only (:func:`check_listen_host`); a Pi's readings come from sysfs, not vcgencmd.

Example::

    metrics = BoothMetrics(booth)
    server = await MetricsServer(metrics, "127.0.0.1", 9101).start()   # http://127.0.0.1:9101/metrics
"""

from __future__ import annotations

import ipaddress
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from .errors import ConfigError
from .journey import State

# Outcome label -> the anonymous daily counter it is read from (appliance/store.py).
OUTCOMES = {"call": "calls", "declined": "declined", "cancelled": "cancelled", "timeout": "timeouts",
            "withdrawn": "withdrawn", "check_failed": "checks_failed"}
DEVICES = ("camera", "microphone", "speaker", "button")
THERMAL = Path("sys/class/thermal")
# The Raspberry Pi firmware driver exposes the same bits as `vcgencmd get_throttled` here.
THROTTLED = Path("sys/devices/platform/soc/soc:firmware/get_throttled")
UNDERVOLTAGE_NOW, THROTTLED_NOW = 0x1, 0x4


class BoothMetrics:
    """Everything a technician wants to see, read live from the booth at each scrape."""

    def __init__(self, booth: Any, *, sys_root: Path = Path("/"), now: Callable[[], float] = time.monotonic) -> None:
        self.booth = booth
        self.sys_root = Path(sys_root)
        self._now = now
        self.started = now()
        self.last_quality: dict[str, Any] | None = None
        # Plain numbers exposed by the collector (prometheus-client's Counter would add *_created).
        self.purge_runs = 0
        self.purged_rows: dict[str, int] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_LiveCollector(self))

    def uptime_s(self) -> float:
        return self._now() - self.started

    def purged(self, counts: dict[str, int]) -> None:
        self.purge_runs += 1
        for table, n in counts.items():
            self.purged_rows[table] = self.purged_rows.get(table, 0) + n

    def quality(self, grade: str | None, upload_kbps: float | None, download_kbps: float | None) -> None:
        self.last_quality = {"grade": grade, "upload_kbps": upload_kbps, "download_kbps": download_kbps}

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector:
    def __init__(self, metrics: BoothMetrics) -> None:
        self.m = metrics

    def describe(self) -> list[Metric]:
        return []  # read at scrape time; some metrics are absent on some machines

    def collect(self) -> Iterator[Metric]:
        m, booth = self.m, self.m.booth
        info = GaugeMetricFamily("videokiosk_booth_info", "The booth", labels=["booth"])
        info.add_metric([booth.config.booth.id], 1)
        yield info
        yield GaugeMetricFamily("videokiosk_booth_uptime_seconds", "Seconds since the daemon started",
                                value=round(m.uptime_s(), 3))
        state = GaugeMetricFamily("videokiosk_booth_state", "1 for the session's current state", labels=["state"])
        current = str(booth.session.state)
        for s in State:
            state.add_metric([str(s)], 1 if str(s) == current else 0)
        yield state
        yield from self._sessions(booth.store)
        yield from self._quality()
        yield from self._devices(booth)
        yield from self._selftest(booth)
        yield from self._machine(booth)
        yield from self._pi()
        yield CounterMetricFamily("videokiosk_booth_purge_runs", "Purge runs", value=m.purge_runs)
        rows = CounterMetricFamily("videokiosk_booth_purged_rows", "Personal rows deleted by the purge", labels=["table"])
        for table, n in sorted(m.purged_rows.items()):
            rows.add_metric([table], n)
        yield rows

    def _sessions(self, store) -> Iterator[Metric]:
        cols = ", ".join(f"COALESCE(SUM({c}), 0)" for c in (*OUTCOMES.values(), "call_s_total"))
        row = store.db.execute(f"SELECT {cols} FROM daily_stats").fetchone()
        sessions = CounterMetricFamily("videokiosk_booth_sessions", "Sessions by outcome", labels=["outcome"])
        for (outcome, _), value in zip(OUTCOMES.items(), row):
            sessions.add_metric([outcome], value)
        yield sessions
        yield CounterMetricFamily("videokiosk_booth_call_seconds", "Seconds spent in calls", value=row[-1])

    def _quality(self) -> Iterator[Metric]:
        last = self.m.last_quality
        if last is None:
            return
        grade = GaugeMetricFamily("videokiosk_booth_last_call_quality", "1 for the last measured grade", labels=["grade"])
        for g in ("good", "fair", "poor"):
            grade.add_metric([g], 1 if last["grade"] == g else 0)
        yield grade
        for name, key in (("upload", "upload_kbps"), ("download", "download_kbps")):
            if last[key] is not None:
                yield GaugeMetricFamily(f"videokiosk_booth_last_call_{name}_kbps", f"Last measured {name} rate (kbit/s)",
                                        value=last[key])

    def _devices(self, booth) -> Iterator[Metric]:
        healthy = GaugeMetricFamily("videokiosk_booth_device_healthy", "1 when the device works", labels=["device"])
        for name in DEVICES:
            device = getattr(booth.devices, name, None)
            if device is not None:
                healthy.add_metric([name], 1 if getattr(device, "healthy", True) else 0)
        yield healthy
        connected = getattr(booth.session.hub, "connected", None)
        if connected is not None:  # NullHubLink: a booth without a hub has no such metric
            yield GaugeMetricFamily("videokiosk_booth_hub_connected", "1 while the hub link is up",
                                    value=1 if connected.is_set() else 0)

    def _selftest(self, booth) -> Iterator[Metric]:
        last = booth.selftest.last
        if last is None:  # none ran since the daemon started
            return
        yield GaugeMetricFamily("videokiosk_booth_selftest_passed", "1 when the last self-test passed",
                                value=1 if last.ok else 0)
        yield GaugeMetricFamily("videokiosk_booth_selftest_failed_in_a_row",
                                "Failed self-tests since the last passed one (mark-good counts lasting failures only)",
                                value=booth.selftest.failed_in_a_row)

    def _machine(self, booth) -> Iterator[Metric]:
        free = disk_free_bytes(Path(booth.store.path))
        if free is not None:
            yield GaugeMetricFamily("videokiosk_booth_disk_free_bytes", "Free bytes where the store lives", value=free)

    def _pi(self) -> Iterator[Metric]:
        temp = cpu_temperature_c(self.m.sys_root)
        if temp is not None:
            yield GaugeMetricFamily("videokiosk_booth_cpu_temperature_celsius", "CPU temperature", value=temp)
        flags = _read(self.m.sys_root / THROTTLED)
        if flags is not None:
            try:
                bits = int(flags, 16)
            except ValueError:
                return
            yield GaugeMetricFamily("videokiosk_booth_cpu_throttled", "1 while the firmware throttles the CPU",
                                    value=1 if bits & THROTTLED_NOW else 0)
            yield GaugeMetricFamily("videokiosk_booth_undervoltage", "1 while the supply voltage is too low",
                                    value=1 if bits & UNDERVOLTAGE_NOW else 0)


def disk_free_bytes(store_path: Path) -> int | None:
    """Free bytes on the file system of the booth's store (None if it cannot be read)."""
    try:
        return shutil.disk_usage(store_path.parent if store_path.name else store_path).free
    except OSError:
        return None


def cpu_temperature_c(sys_root: Path = Path("/")) -> float | None:
    """The first thermal zone's temperature (None where the machine has none, e.g. many VMs)."""
    temp = _read(sys_root / THERMAL / "thermal_zone0" / "temp")
    try:
        return int(temp) / 1000 if temp is not None else None
    except ValueError:
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def check_listen_host(host: str) -> None:
    """Loopback or a management (private / link-local) address only: never a public or wildcard one."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"metrics.host = {host!r}: must be an IP address (loopback or the management network)") from None
    if address.is_unspecified or not (address.is_loopback or address.is_private or address.is_link_local):
        raise ConfigError(f"metrics.host = {host!r}: metrics are served on loopback or a private management "
                          "address only (e.g. 127.0.0.1 or 10.x.y.z), never on all or public addresses")


class MetricsServer:
    """``GET /metrics`` on its own small aiohttp site, apart from the kiosk page."""

    def __init__(self, metrics: BoothMetrics, host: str, port: int) -> None:
        check_listen_host(host)
        self.metrics = metrics
        self.host, self.port = host, port
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> "MetricsServer":
        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/metrics"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
