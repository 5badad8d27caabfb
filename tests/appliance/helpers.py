"""Test doubles at the edges of the session: a check runner with canned results, a hub that records."""

from __future__ import annotations

import asyncio
from typing import Any

from appliance.config import BoothConfig, parse_config
from appliance.session_parts import CHECK_NAMES


class CannedChecks:
    """Reports a fixed verdict for every device check (the real checks need hw/)."""

    def __init__(self, status: str = "pass") -> None:
        self.status = status
        self.runs = 0

    async def run(self, report) -> None:
        self.runs += 1
        for name in CHECK_NAMES:
            hint = None if self.status == "pass" else "check.rate.low" if name in ("upload", "download") else f"check.{name}.unavailable"
            result: dict[str, Any] = {"status": self.status, "hint": hint}
            if name in ("upload", "download"):
                result["kbps"] = 2000 if self.status == "pass" else 100
            await report(name, result)


class RecordingHub:
    """A HubLink that records every call, personal fields included (the test needs to see them)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.event = asyncio.Event()

    async def enter_waiting(self, ticket):
        self.calls.append(("enter_waiting", dict(ticket)))

    async def update_waiting(self, details):
        self.calls.append(("update_waiting", dict(details)))

    async def leave_waiting(self, reason):
        self.calls.append(("leave_waiting", reason))

    async def end_call(self):
        self.calls.append(("end_call", None))


async def until(session, predicate, timeout: float = 5.0) -> None:
    """Wait until ``predicate(snapshot)`` holds, woken by the session's own notifications."""
    changed = asyncio.Event()
    unsubscribe = session.subscribe(lambda snap: changed.set())
    try:
        async def wait() -> None:
            while not predicate(session.snapshot()):
                changed.clear()
                await changed.wait()
        await asyncio.wait_for(wait(), timeout)
    finally:
        unsubscribe()


def booth_config(tmp_path, **ui) -> BoothConfig:
    """A booth with fake hardware, a store under tmp_path and the UI on a free port."""
    return parse_config({
        "booth": {"id": "test-booth", "name": "Testkabine", "location": "Labor"},
        "ui": {"port": 0, "idle_timeout_s": 60, "still_there_countdown_s": 30, "goodbye_s": 2, **ui},
        "store": {"path": str(tmp_path / "booth.db")},
        "hardware": {"camera": "fake", "audio": "fake", "button": "fake", "hotplug": "fake",
                     "width": 320, "height": 240, "fps": 10},
    })
