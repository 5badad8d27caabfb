"""With ``[turn]`` configured the hub hands every booth and advisor its own short-lived TURN
credential (coturn's shared-secret scheme) wherever it hands out ICE servers, under a random name
(hub/turn.py: coturn's log must name nobody)."""

from __future__ import annotations

import pytest

from hub.config import HubConfig
from hub.turn import credential_valid

SECRET = "shared-with-coturn"


@pytest.fixture
def hub_config(tmp_path) -> HubConfig:
    return HubConfig.model_validate({
        "store": {"path": str(tmp_path / "hub.db")},
        "ice_servers": [{"urls": ["stun:stun.example.org:3478"]}],
        "turn": {"host": "turn.example.org", "secret": SECRET, "ttl_s": 600},
    })


def turn_user(servers: list[dict], now: float) -> str:
    """The TURN entry's user id, after checking coturn would accept its credential."""
    turn = next(s for s in servers if s.get("username"))
    assert any(url.startswith("turns:") for url in turn["urls"]) and any("transport=udp" in url for url in turn["urls"])
    assert credential_valid(SECRET, turn["username"], turn["credential"], now=now)
    assert not credential_valid(SECRET, turn["username"], turn["credential"], now=now + 601)  # short-lived
    return turn["username"].split(":", 1)[1]


async def test_booth_and_advisor_each_get_their_own_turn_credential(running_hub):
    now = running_hub.parts.clock.now().timestamp()
    booth = await running_hub.booth()
    advisor = await running_hub.advisor()
    try:
        await booth.send({"type": "waiting", "session_id": "s-turn-0001", "language": "de"})
        added = await advisor.expect("waiting_added")
        await advisor.send({"type": "admit", "session_id": added["entry"]["session_id"]})
        admitted = await booth.expect("admitted")
        result = await advisor.expect("admit_result", ok=True)
        names = {turn_user(admitted["ice_servers"], now), turn_user(result["ice_servers"], now)}
        assert len(names) == 2 and not names & {"jc-halle-1", "anna"}  # each their own, naming nobody
        assert admitted["ice_servers"][0]["urls"] == ["stun:stun.example.org:3478"]  # configured ones stay
    finally:
        await booth.close()
        await advisor.close()

