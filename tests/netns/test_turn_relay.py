"""Booth and advisor in separate network namespaces with no route between them; hub and coturn
in a third that both reach. The call connects through the TURN relay (credentials minted with
hub/turn.py) and frames flow; then the booth's cable is pulled for 30 s mid-call, the booth
notices, and the call comes back by itself."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from hub.app import HubParts
from hub.config import HubConfig
from hub.turn import TurnConfig, turn_ice_servers
from tests.faults.servers import TurnServer
from tests.support import private_ca_server

from .netns import ADVISOR_IP, RELAY_A_IP, Topology, cannot_create_namespaces

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-pass-12"
HUB_PORT = 8080
DROP_S = 30.0


@pytest.fixture
def net():
    why = cannot_create_namespaces()
    if why:
        print(f"netns test skipped: {why}")
        pytest.skip(f"cannot create network namespaces: {why}")
    with Topology.create() as topology:
        yield topology


class Lines:
    """JSON lines from a process in a namespace; ``until`` waits for one that matches."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc, self.name = proc, name
        self.seen: list[dict] = []

    async def until(self, predicate, timeout: float, after: int = 0) -> dict:
        """The first event from index ``after`` on that matches (already seen, or still to come)."""
        async def read() -> dict:
            for event in self.seen[after:]:
                if predicate(event):
                    return event
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    raise AssertionError(f"{self.name} exited; saw {self.seen[-15:]}")
                if not line.startswith(b"{"):
                    continue
                event = json.loads(line)
                self.seen.append(event)
                if predicate(event):
                    return event
        try:
            return await asyncio.wait_for(read(), timeout)
        except asyncio.TimeoutError:
            events = [e for e in self.seen if "frames" not in e]
            frames = max([e.get("frames", 0) for e in self.seen] or [0])
            raise AssertionError(f"{self.name}: nothing matched in {timeout} s; saw {events}, frames up to {frames}") from None


def _reachable(net: Topology, where: str, ip: str, port: int) -> bool:
    probe = f"import socket; socket.create_connection(('{ip}', {port}), timeout=1).close()"
    return net.run(where, sys.executable, "-c", probe).returncode == 0


async def _until_reachable(net: Topology, where: str, ip: str, port: int) -> None:
    """Until coturn listens (the only sign a freshly started server gives is a connect that works)."""
    while not await asyncio.to_thread(_reachable, net, where, ip, port):
        await asyncio.sleep(0.1)


async def _spawn(net: Topology, where: str, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return await asyncio.create_subprocess_exec(*net.command(where, sys.executable, *args), cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)


async def test_call_through_turn_relay_survives_a_30_s_network_drop(net, tmp_path):
    turn_cfg = TurnConfig(host=RELAY_A_IP, secret="netns-shared-secret", transports=["udp", "tcp"])
    servers = turn_ice_servers(turn_cfg)
    db = tmp_path / "hub.db"
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(db)}}))
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    ca, _ = private_ca_server(tmp_path, RELAY_A_IP)  # a hub on the network speaks TLS, as in an office
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[server]\nhost = "0.0.0.0"\nport = {HUB_PORT}\ntls_cert = "{ca}"\ntls_key = "{tmp_path / "hub-key.pem"}"\n'
        f'[store]\npath = "{db}"\n'
        f'[calls]\nreconnect_timeout_s = 60\nheartbeat_s = 2\n'
        + "".join(f'[[ice_servers]]\nurls = {json.dumps(s.urls)}\n'
                  + (f'username = "{s.username}"\ncredential = "{s.credential}"\n' if s.username else "") for s in servers))
    hub_url = f"https://{RELAY_A_IP}:{HUB_PORT}"
    procs = []
    with TurnServer(tmp_path, secret=turn_cfg.secret, listen_ip=None, relay_ip=RELAY_A_IP, port=3478, netns=net.ns["relay"]):
        try:
            await asyncio.wait_for(_until_reachable(net, "booth", RELAY_A_IP, 3478), 15)
            await asyncio.wait_for(_until_reachable(net, "advisor", RELAY_A_IP, 3478), 15)
            assert not _reachable(net, "booth", ADVISOR_IP, 3478)  # really no route booth -> advisor
            hub = await _spawn(net, "relay", "-m", "videokiosk.cli", "hub", "serve", "--config", str(config))
            procs.append(hub)
            booth = Lines(await _spawn(net, "booth", "-m", "tests.netns.peer_proc", "booth", hub_url, token, str(tmp_path), str(ca)), "booth")
            procs.append(booth.proc)
            await booth.until(lambda e: "waiting" in e, 60)
            advisor = Lines(await _spawn(net, "advisor", "-m", "tests.netns.peer_proc", "advisor", hub_url, PASSWORD, str(ca)), "advisor")
            procs.append(advisor.proc)
            await advisor.until(lambda e: "admitted" in e, 30)
            await booth.until(lambda e: e.get("frames", 0) >= 20, 40)
            await advisor.until(lambda e: e.get("frames", 0) >= 20, 40)
            pair = await booth.until(lambda e: e.get("pair"), 10)
            assert "relay" in pair["pair"], pair  # booth and advisor meet only through coturn

            net.link("booth", up=False)
            try:
                await booth.until(lambda e: e.get("link") is False, 20)  # the booth notices: reconnecting
                mark = len(booth.seen)
                # The 30 s outage itself: the booth is cut off, so there is no event to wait for.
                await asyncio.sleep(DROP_S)
            finally:
                net.link("booth", up=True)
            await booth.until(lambda e: e.get("link") is True, 30, after=mark)
            frames_before = max(e.get("frames", 0) for e in advisor.seen)
            await advisor.until(lambda e: e.get("frames", 0) >= frames_before + 20, 40)
            await booth.until(lambda e: e.get("pc") == "connected", 30, after=mark)
            assert not any(e.get("state") == "survey" for e in booth.seen)  # the call never ended
            relayed = [e["pair"] for e in booth.seen if e.get("pair")]  # the pair in use now
            assert relayed and "relay" in relayed[-1]  # again through coturn
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
