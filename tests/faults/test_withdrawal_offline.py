"""A customer withdraws consent in the call just as the booth loses its hub (the network), and the
booth restarts before the network is back (a power cut, a watchdog). The withdrawal waits on the
booth's disk (appliance/store.py: ``withdrawals``), not in the old process's memory: the restarted
booth sends it, and the hub deletes the call's rows (which would otherwise have stayed 14 days) and
confirms.
"""

from __future__ import annotations

import asyncio

from tests.appliance.helpers import until
from tests.support import watched_store

from .advisor import AdvisorPeer
from .booth import into_waiting_room, start_booth
from .hubserver import PASSWORD, serving_hub
from .lb import TcpBalancer


async def test_a_withdrawal_made_offline_survives_a_restart_and_reaches_the_hub(tmp_path):
    async with serving_hub({"path": str(tmp_path / "hub.db")}) as hub:
        url, parts, token = hub.url, hub.parts, hub.token
        network = await TcpBalancer.start([hub.port])  # the booth's way to the hub, to be cut
        advisor = await AdvisorPeer.log_in(url, "anna", PASSWORD, ice_servers=[])
        booth = await start_booth(f"http://127.0.0.1:{network.port}", token, tmp_path)
        try:
            session_id = await into_waiting_room(booth)
            while (await advisor.next_waiting())["session_id"] != session_id:
                pass
            call_id = await advisor.admit(session_id)
            await until(booth.session, lambda s: s["state"] == "call", 15)
            assert parts.db["calls"].count == 1
            await network.close()
            await advisor.expect("call_state", 15, call_id=call_id, state="reconnecting")  # the hub saw it go
            assert await booth.session.handle("withdraw")
            assert booth.store.rows("consents") == []  # the booth's own rows went at once
            await booth.stop()
            store = watched_store(tmp_path / "booth-1.db")  # the file start_booth gives booth-1
            booth = await start_booth(url, token, tmp_path, store=store)  # restarted, and the network is back
            await advisor.expect("call_state", 15, call_id=call_id, state="ended")
            await asyncio.wait_for(store.confirmed.wait(), 15)  # the hub confirms once the rows are gone
            assert parts.db["calls"].count == 0 and parts.db["call_sessions"].count == 0
            assert store.pending_withdrawals() == []  # not sent again
        finally:
            await booth.stop()
            await advisor.close()
