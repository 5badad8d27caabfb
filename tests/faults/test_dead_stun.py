"""A booth in a locked-down network: the hub's config names a STUN server that never answers.
The booth probes it before the admit, leaves it out of the call (no 5 s wait inside aiortc) and
shows it on the hub as a fault."""

from __future__ import annotations


from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig
from tests.appliance.helpers import until

from .advisor import AdvisorPeer
from .booth import booth_frames, into_waiting_room, start_booth

PASSWORD = "s3cret-pass-12"


async def test_dead_stun_server_is_left_out_and_shown_as_a_fault(tmp_path, blackhole):
    parts = HubParts.open(HubConfig.model_validate({
        "store": {"path": str(tmp_path / "hub.db")},
        "ice_servers": [{"urls": [f"stun:127.0.0.1:{blackhole}"]}],
    }))
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    advisor = await AdvisorPeer.log_in(url, "anna", PASSWORD, ice_servers=[])  # a browser trickles: no wait
    booth = await start_booth(url, token, tmp_path)
    try:
        session_id = await into_waiting_room(booth)

        async def faulted() -> bool:
            info = await parts.state.get_presence("booth-1")
            return info is not None and "stun_unreachable" in info.faults

        fault_seen = advisor.expect("booth_status", 10)
        while not await faulted():
            await fault_seen
            fault_seen = advisor.expect("booth_status", 10)
        fault_seen.close()
        while (await advisor.next_waiting())["session_id"] != session_id:
            pass
        await advisor.admit(session_id)
        await until(booth.session, lambda s: s["state"] == "call", 15)
        await booth_frames(booth, 3)
        stats = booth.session.calls.stats
        assert stats.offer_sent_at - stats.started_at < 1.0  # aiortc would have waited ~5 s
        assert booth.session.calls._ice.usable(booth.session.hub.ice_servers) == []
    finally:
        await booth.stop()
        await advisor.close()
        await server.close()
