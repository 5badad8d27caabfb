"""Real booth daemons with fake hardware, for tests that need booths at a hub: the e2e stack's
(tests/e2e/harness.py, its hub in the test's process) and the A/B update test's (tests/vm/
test_update.py, a hub process with TLS beside the VM booth). Each runs on the test's
:class:`~tests.support.LoopThread`, like the daemon's own loop.

Example::

    booth = lt.run(start_booth("booth-1", "Kiosk 1", "Aachen", hub_url=url, token=token, state_dir=tmp / "booth-1"))
    lt.run(to_waiting(booth))
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.call import BoothCall
from appliance.config import parse_config
from appliance.daemon import Booth as BoothDaemon
from appliance.hublink import HubConnection
from appliance.peerlink import PeerLinks
from appliance.session import Session
from tests.appliance.helpers import until

SMALL_CAMERA = {"width": 320, "height": 240}  # fake frames cost CPU on a shared test machine
QUICK_BACKOFF_S = (0.1, 0.5)  # reconnect quickly in tests
CONNECT_S = 10.0


@dataclass
class Booth:
    daemon: BoothDaemon
    url: str

    @property
    def session(self) -> Session:
        return self.daemon.session

    @property
    def link(self) -> HubConnection:
        return self.daemon.session.hub

    @property
    def call(self) -> BoothCall:
        return self.daemon.session.calls

    @property
    def peer_links(self) -> PeerLinks:
        return self.daemon.peer_links

    @property
    def speaker(self):
        return self.daemon.devices.speaker


async def start_booth(booth_id: str, name: str, location: str, *, hub_url: str, token: str, state_dir: Path,
                      ca_file: Path | None = None, sections: dict | None = None, hardware: dict | None = None,
                      devices: Callable[[Any], Any] | None = None) -> Booth:
    """A booth daemon registered at the hub as ``booth_id`` with ``token``, connected to it.
    ``sections``: more config sections (e.g. ``[fleet]``); ``hardware``: settings over the small
    fake camera; ``devices``: builds its devices from its hardware settings instead of the daemon."""
    config = parse_config({
        **(sections or {}),
        "booth": {"id": booth_id, "name": name, "location": location},
        "hub": {"url": hub_url, "token": token, **({"ca_file": str(ca_file)} if ca_file else {})},
        "ui": {"port": 0},
        "store": {"path": str(state_dir / "booth.db")},  # own state dir per booth
        "hardware": SMALL_CAMERA | (hardware or {}),
        "metrics": {"enabled": False},
    })
    daemon = BoothDaemon(config, hub_backoff_s=QUICK_BACKOFF_S,
                         devices=devices(config.hardware) if devices else None)
    url = await daemon.start(port=0)
    await asyncio.wait_for(daemon.session.hub.connected.wait(), CONNECT_S)
    return Booth(daemon, url)


async def to_waiting(booth: Booth) -> str:
    """The customer's three touches: start, consent, continue. Returns the session id."""
    await booth.session.handle("start")
    await booth.session.handle("accept")
    await until(booth.session, lambda s: s.get("checks", {}).get("passed") is True)
    assert await booth.session.handle("continue")
    return booth.session.session_id
