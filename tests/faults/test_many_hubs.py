"""Two hub processes sharing one real redis-server behind a load balancer: a booth on hub A is
admitted by an advisor on hub B and the call connects; hub A is SIGKILLed mid-call and the booth
reconnects through the balancer to hub B, where the call is restored and frames flow again."""

from __future__ import annotations

import asyncio

import pytest

from hub.app import HubParts
from hub.config import HubConfig
from tests.appliance.helpers import until
from tests.hub.conftest import store_for

from .advisor import AdvisorPeer
from .booth import booth_frames, into_waiting_room, start_booth
from .hubproc import HubProcess
from .lb import TcpBalancer

pytestmark = pytest.mark.slow
PASSWORD = "s3cret-pass-12"


@pytest.fixture
def two_hubs(tmp_path, redis_server, hub_database):
    """Two hub processes on one Redis: on one machine's SQLite file, and on PostgreSQL with nothing
    shared on disk (each its own folder), as hubs on two machines are."""
    parts = HubParts.open(HubConfig.model_validate({"store": store_for(hub_database)}))
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    parts.db.close()
    hubs = [HubProcess(tmp_path / name, db=hub_database, redis_url=redis_server.url, reconnect_timeout_s=20)
            for name in ("a", "b")]
    try:
        for hub in hubs:
            hub.start()
        yield hubs, token
    finally:
        for hub in hubs:
            hub.stop()


async def test_booth_on_hub_a_admitted_on_hub_b_survives_hub_a_dying(two_hubs, tmp_path):
    (hub_a, hub_b), token = two_hubs
    lb = await TcpBalancer.start([hub_a.port, hub_b.port])  # booths land on A while it lives
    advisor = await AdvisorPeer.log_in(hub_b.url, "anna", PASSWORD)
    booth = await start_booth(f"http://127.0.0.1:{lb.port}", token, tmp_path)
    try:
        assert set(lb.connections) == {hub_a.port}
        session_id = await into_waiting_room(booth)
        entry = await advisor.next_waiting()  # announced on B although the booth is on A
        assert entry["session_id"] == session_id
        await advisor.send({"type": "seen", "session_id": session_id})
        await until(booth.session, lambda s: s.get("waiting", {}).get("advisor_informed") is True, 10)

        call_id = await advisor.admit(session_id)
        await until(booth.session, lambda s: s["state"] == "call", 15)
        await advisor.wait_frames(5)
        await booth_frames(booth, 5)
        first_pc = booth.session.calls._pc

        hub_a.kill()
        await advisor.expect("call_state", 30, call_id=call_id, state="resumed")
        assert lb.connections[-1] == hub_b.port  # the booth came back through the balancer, to B
        await advisor.wait_frames(10)
        await booth_frames(booth, 10)
        assert booth.session.state == "call" and booth.session.calls._pc is not first_pc
        assert advisor.offers == 2

        await advisor.hang_up()
        await until(booth.session, lambda s: s["state"] == "survey", 15)
    finally:
        await booth.stop()
        await advisor.close()
        await lb.close()
