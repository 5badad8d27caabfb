"""The fleet board: the latest health report of every booth, what is wrong, and the audit trail.

Booths report over their hub link (rtc/protocol.py, fleet section); the hub keeps the newest report per
booth in ``booth_health`` (one row a booth, replaced each time) and every technician's action in
``fleet_audit`` (who, what, when, which booth, forced or not, how it went; never a customer's
data: the hub refuses an action on a busy booth before anything about a customer could matter).
:class:`FleetCollector` shows the same figures to Prometheus with a ``booth`` label.

Example::

    >>> from hub.storage import open_database
    >>> board = FleetBoard(open_database(":memory:"))
    >>> board.audit("tom", "jc-halle-1", "selftest", forced=False, outcome="ok", at="2026-01-01T10:00:00+00:00")
    >>> board.audit_rows()[0]["action"]
    'selftest'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from .storage import Database
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import BaseModel, ConfigDict, Field

from rtc import protocol as p

HOT_C = 80.0  # a Pi throttles from 80 °C on: worth a look before it does
AUDIT_ROWS = 200


class FleetBoard:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, booth_id: str, health: p.Health, at: datetime) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO booth_health (booth_id, report, received_at) VALUES (?, ?, ?) ON CONFLICT (booth_id) "
                            "DO UPDATE SET report = excluded.report, received_at = excluded.received_at",
                            [booth_id, p.encode(health), at.isoformat(timespec="seconds")])

    def latest(self) -> dict[str, tuple[p.Health, str]]:
        """booth id -> (its newest report, when it arrived)."""
        rows = self.db.execute("SELECT booth_id, report, received_at FROM booth_health").fetchall()
        return {booth_id: (p.Health.model_validate_json(report), at) for booth_id, report, at in rows}

    def audit(self, username: str, booth_id: str, action: str, *, forced: bool, outcome: str, at: str) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO fleet_audit (at, username, booth_id, action, forced, outcome) VALUES (?, ?, ?, ?, ?, ?)",
                            [at, username, booth_id, action, int(forced), outcome[:40]])

    def rollout(self) -> str | None:
        """The rollout under way or last ended (hub/rollout.py), as its JSON; None when there was none."""
        row = self.db.execute("SELECT state FROM fleet_rollout WHERE id = 1").fetchone()
        return row[0] if row else None

    def change_rollout(self, change: Callable[[str | None], str | None], at: str) -> str | None:
        """Read, change and write the rollout in one write transaction: two hub instances sharing
        this database never both start a rollout, nor lose each other's booth states."""
        with self.db.exclusive("fleet_rollout", wait=True), self.db.transaction():
            row = self.db.execute("SELECT state FROM fleet_rollout WHERE id = 1").fetchone()
            text = change(row[0] if row else None)  # raising here writes nothing
            if text is not None:
                self.db.execute("INSERT INTO fleet_rollout (id, state, updated_at) VALUES (1, ?, ?) ON CONFLICT (id) "
                                "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at", [text, at])
        return text

    def audit_rows(self, limit: int = AUDIT_ROWS) -> list[dict[str, Any]]:
        cursor = self.db.execute("SELECT at, username, booth_id, action, forced, outcome FROM fleet_audit "
                                 "ORDER BY id DESC LIMIT ?", [limit])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row), forced=bool(row[4])) for row in cursor.fetchall()]


def problems(online: bool, health: p.Health | None) -> list[str]:
    """What a technician should look at, most severe first (an empty list: all well)."""
    if not online:
        return ["offline"]
    if health is None:
        return ["no_report"]
    found = []
    if health.activity == "out_of_service":
        found.append("out_of_service")
    found += [f"{device}_{state}" for device, state in health.devices.items() if state == "fault"]
    if health.selftest is not None and not health.selftest.ok:
        found.append("selftest_failed")
    if health.update.state in ("failed", "rolled_back"):
        found.append(f"update_{health.update.state}")
    if health.cpu_temp_c is not None and health.cpu_temp_c >= HOT_C:
        found.append("hot")
    return found


def fleet_rows(booths: list[Any], presence: dict[str, p.BoothInfo], latest: dict[str, tuple[p.Health, str]]) -> list[dict]:
    """One row per registered booth for the fleet page, problems first."""
    rows = []
    for booth in booths:
        info = presence.get(booth.booth_id)
        online = info is not None and info.state != "offline"
        health, seen = latest.get(booth.booth_id, (None, None))
        rows.append({
            "booth_id": booth.booth_id, "name": booth.name, "location": booth.location, "online": online,
            "last_seen": seen, "health": health.model_dump(exclude={"type", "seq"}) if health else None,
            "problems": problems(online, health),
        })
    rows.sort(key=lambda r: (not r["problems"], r["location"], r["name"]))
    return rows


class FleetCollector:
    """Per-booth gauges for Prometheus, from the board and the presence read at scrape time."""

    def __init__(self, board: FleetBoard) -> None:
        self.board = board
        self._presence: dict[str, p.BoothInfo] = {}

    async def refresh(self, hub: Any) -> None:
        self._presence = {b.booth_id: b for b in await hub.state.presence()}

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        def family(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"videokiosk_fleet_booth_{name}", doc, labels=["booth", *labels])

        up = family("up", "1 while the booth is connected to the hub")
        seen = family("last_seen_timestamp_seconds", "When the booth's last health report arrived")
        info = family("info", "1, with the booth's software version and OS", "version", "os")
        uptime = family("uptime_seconds", "Seconds since the booth daemon started")
        rtt = family("link_rtt_seconds", "Round trip of the booth's hub link")
        restarts = family("watchdog_restarts", "Daemon runs that did not end cleanly (watchdog, crash)")
        device = family("device_ok", "1 when the device works (absent devices are not listed)", "device")
        selftest = family("selftest_passed", "1 when the last self-test passed")
        selftest_at = family("selftest_timestamp_seconds", "When the last self-test ran")
        disk = family("disk_free_bytes", "Free bytes where the booth keeps its data")
        temp = family("cpu_temperature_celsius", "CPU temperature")
        activity = family("activity", "1 for what the booth is doing", "activity")
        update = family("update_state", "1 for where the booth stands with an update", "state")
        for booth_id, (health, at) in sorted(self.board.latest().items()):
            info_now = self._presence.get(booth_id)
            up.add_metric([booth_id], 1 if info_now is not None and info_now.state != "offline" else 0)
            seen.add_metric([booth_id], datetime.fromisoformat(at).timestamp())
            info.add_metric([booth_id, health.version, health.os], 1)
            uptime.add_metric([booth_id], health.uptime_s)
            if health.link_rtt_ms is not None:
                rtt.add_metric([booth_id], health.link_rtt_ms / 1000)
            restarts.add_metric([booth_id], health.watchdog_restarts)
            for name, state in health.devices.items():
                if state != "absent":
                    device.add_metric([booth_id, name], 1 if state == "ok" else 0)
            if health.selftest is not None:
                selftest.add_metric([booth_id], 1 if health.selftest.ok else 0)
                selftest_at.add_metric([booth_id], datetime.fromisoformat(health.selftest.at).timestamp())
            if health.disk_free_bytes is not None:
                disk.add_metric([booth_id], health.disk_free_bytes)
            if health.cpu_temp_c is not None:
                temp.add_metric([booth_id], health.cpu_temp_c)
            for name in ("idle", "in_use", "out_of_service"):
                activity.add_metric([booth_id, name], 1 if health.activity == name else 0)
            update.add_metric([booth_id, health.update.state], 1)
        yield from (up, seen, info, uptime, rtt, restarts, device, selftest, selftest_at, disk, temp, activity, update)


class ActionRequest(BaseModel):
    """A technician's action on one booth, as the fleet page and a staged rollout ask for it."""

    model_config = ConfigDict(extra="forbid")
    action: p.ActionName
    force: bool = False
    hours: int | None = Field(default=None, ge=1, le=168)
