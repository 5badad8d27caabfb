"""Short-lived TURN credentials (hub/turn.py): the coturn shared-secret scheme, checked by the
scheme's definition and by a real coturn allocating a relay with them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json

import pytest
from aioice.turn import create_turn_endpoint

from hub.config import HubConfig
from hub.service import Hub
from hub.state import InMemoryState
from hub.storage import open_database
from hub.turn import TurnConfig, credential_valid, turn_credentials, turn_ice_servers
from tests.faults.servers import TurnServer
from videokiosk.clock import SystemClock

NOW = 1_700_000_000


def test_username_is_expiry_and_a_random_name_and_credential_is_base64_hmac_sha1():
    username, credential = turn_credentials("top-secret", 600, now=NOW)
    expiry, name = username.split(":")
    assert expiry == str(NOW + 600) and len(name) == 16
    assert turn_credentials("top-secret", 600, now=NOW)[0] != username  # a fresh name each time
    expected = base64.b64encode(hmac.new(b"top-secret", username.encode(), hashlib.sha1).digest()).decode()
    assert credential == expected
    assert credential_valid("top-secret", username, credential, now=NOW + 599)
    assert not credential_valid("top-secret", username, credential, now=NOW + 601)  # expired
    assert not credential_valid("other-secret", username, credential, now=NOW)
    assert not credential_valid("top-secret", f"{NOW + 600}:booth-2", credential, now=NOW)  # not transferable


def test_ice_config_offers_udp_tcp_and_tls_with_the_minted_credential():
    cfg = TurnConfig(host="turn.example.org", secret="top-secret-123", ttl_s=3600)
    stun, turn = turn_ice_servers(cfg, now=NOW)
    assert stun.urls == ["stun:turn.example.org:3478"] and stun.username is None
    assert turn.urls == ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp",
                         "turns:turn.example.org:5349?transport=tcp"]
    assert turn.username.startswith(f"{NOW + 3600}:")
    assert credential_valid("top-secret-123", turn.username, turn.credential, now=NOW)
    only_tls = TurnConfig(host="t.example", secret="top-secret-123", transports=["tls"])
    assert turn_ice_servers(only_tls, now=NOW)[1].urls == ["turns:t.example:5349?transport=tcp"]


def test_config_refuses_weak_or_odd_values():
    for bad in ({"host": "t", "secret": "short"}, {"host": "t x", "secret": "long-enough"},
                {"host": "t", "secret": "long-enough", "ttl_s": 10}, {"host": "t", "secret": "long-enough", "transports": ["sctp"]}):
        with pytest.raises(ValueError):
            TurnConfig(**bad)


@pytest.fixture(scope="module")
def coturn(tmp_path_factory):
    with TurnServer(tmp_path_factory.mktemp("coturn"), secret="coturn-shared-secret") as server:
        yield server


async def _allocate(port: int, username: str, password: str, transport: str = "udp"):
    t, _ = await asyncio.wait_for(create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", port), username, password,
                                                       transport=transport), 5)
    try:
        return t.get_extra_info("sockname")  # the relayed address coturn allocated
    finally:
        t.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_coturn_allocates_a_relay_with_a_minted_credential(coturn, transport):
    username, credential = turn_credentials(coturn.secret, 600)
    relayed = await _allocate(coturn.port, username, credential, transport)
    assert relayed[0] == "127.0.0.1" and relayed[1] > 0


async def test_coturn_refuses_a_wrong_or_expired_credential(coturn):
    wrong = turn_credentials("not-the-secret", 600)
    expired = turn_credentials(coturn.secret, 600, now=NOW)  # expired in 2023
    for username, credential in (wrong, expired):
        with pytest.raises(Exception):
            await _allocate(coturn.port, username, credential)


async def test_coturns_log_names_no_advisor_booth_or_home_participant(tmp_path):
    """coturn, verbose as offices often run it, logs each session's user name beside the client's
    address, in a log kept as long as the office likes: the hub's credentials must name nobody."""
    with TurnServer(tmp_path, secret="coturn-shared-secret", verbose=True) as coturn:
        await _allocate_as_anna(coturn)


async def _allocate_as_anna(coturn: TurnServer) -> None:
    config = HubConfig.model_validate({"turn": {"host": "127.0.0.1", "port": coturn.port, "secret": coturn.secret}})
    state = InMemoryState()
    hub = Hub(config, state, open_database(":memory:"), SystemClock())
    sent: list[str] = []
    state.subscribe("advisor:x", sent.append)
    await hub.advisor_connected("anna", "advisor:x")  # her console's first message carries her servers
    turn = next(s for s in json.loads(sent[0])["ice_servers"] if s.get("username"))
    await _allocate(coturn.port, turn["username"], turn["credential"])
    deadline = asyncio.get_running_loop().time() + 10
    while turn["username"] not in coturn.log.read_text():  # coturn does log it (it writes as it goes)
        assert asyncio.get_running_loop().time() < deadline, "coturn never logged the session's user name"
        await asyncio.sleep(0.05)
    assert "anna" not in coturn.log.read_text()
