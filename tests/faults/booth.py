"""A real booth daemon (fake hardware, real hub link and aiortc call) pointed at any hub URL,
and the customer's three touches into the waiting room.

Example::

    daemon = await start_booth(hub_url, token, tmp_path, "booth-1")
    session_id = await into_waiting_room(daemon)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.config import parse_config
from appliance.daemon import Booth as BoothDaemon
from tests.appliance.helpers import until


async def start_booth(hub_url: str, token: str, data_dir: Path, booth_id: str = "booth-1", store=None,
                      **sections) -> BoothDaemon:
    """``store``: one of the test's own, on ``data_dir / f"{booth_id}.db"`` (default: the daemon builds it)."""
    config = parse_config({
        "booth": {"id": booth_id, "name": "Kiosk 1", "location": "Musterstadt"},
        "hub": {"url": hub_url, "token": token},
        "ui": {"port": 0},
        "store": {"path": str(data_dir / f"{booth_id}.db")},
        "hardware": {"width": 320, "height": 240},
        "metrics": {"enabled": False},
        **sections,
    })
    daemon = BoothDaemon(config, store=store, hub_backoff_s=(0.1, 0.5))  # reconnect quickly in tests
    daemon.ui_url = await daemon.start(port=0)
    await asyncio.wait_for(daemon.session.hub.connected.wait(), 15)
    return daemon


async def into_waiting_room(daemon: BoothDaemon) -> str:
    """start, consent, (device check passes), continue. Returns the session's id."""
    session = daemon.session
    await session.handle("start")
    await session.handle("accept")
    await until(session, lambda s: s.get("checks", {}).get("passed") is True, 20)
    assert await session.handle("continue")
    return session.session_id


async def booth_frames(daemon: BoothDaemon, more: int, timeout: float = 30.0) -> None:
    """Until the booth has decoded ``more`` further frames of the advisor's video."""
    async def wait() -> None:
        stats = daemon.session.calls.stats
        target = stats.remote_frames + more
        while daemon.session.calls.stats.remote_frames < target:
            stats = daemon.session.calls.stats
            stats.frame_arrived.clear()
            await asyncio.wait_for(stats.frame_arrived.wait(), timeout)
    await asyncio.wait_for(wait(), timeout)
