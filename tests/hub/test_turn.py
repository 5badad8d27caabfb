"""Short-lived TURN credentials (hub/turn.py): the coturn shared-secret scheme, checked by the
scheme's definition and by a real coturn allocating a relay with them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

import pytest
from aioice.turn import create_turn_endpoint

from hub.turn import TurnConfig, credential_valid, turn_credentials, turn_ice_servers
from tests.faults.servers import TurnServer

NOW = 1_700_000_000


def test_username_is_expiry_and_id_and_credential_is_base64_hmac_sha1():
    username, credential = turn_credentials("top-secret", "booth-1", 600, now=NOW)
    assert username == f"{NOW + 600}:booth-1"
    expected = base64.b64encode(hmac.new(b"top-secret", username.encode(), hashlib.sha1).digest()).decode()
    assert credential == expected
    assert credential_valid("top-secret", username, credential, now=NOW + 599)
    assert not credential_valid("top-secret", username, credential, now=NOW + 601)  # expired
    assert not credential_valid("other-secret", username, credential, now=NOW)
    assert not credential_valid("top-secret", f"{NOW + 600}:booth-2", credential, now=NOW)  # not transferable
    with pytest.raises(ValueError):
        turn_credentials("top-secret", "a:b", 600)


def test_ice_config_offers_udp_tcp_and_tls_with_the_minted_credential():
    cfg = TurnConfig(host="turn.example.org", secret="top-secret-123", ttl_s=3600)
    stun, turn = turn_ice_servers(cfg, "advisor-anna", now=NOW)
    assert stun.urls == ["stun:turn.example.org:3478"] and stun.username is None
    assert turn.urls == ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp",
                         "turns:turn.example.org:5349?transport=tcp"]
    assert turn.username == f"{NOW + 3600}:advisor-anna"
    assert credential_valid("top-secret-123", turn.username, turn.credential, now=NOW)
    only_tls = TurnConfig(host="t.example", secret="top-secret-123", transports=["tls"])
    assert turn_ice_servers(only_tls, "b-1", now=NOW)[1].urls == ["turns:t.example:5349?transport=tcp"]


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
    username, credential = turn_credentials(coturn.secret, "booth-1", 600)
    relayed = await _allocate(coturn.port, username, credential, transport)
    assert relayed[0] == "127.0.0.1" and relayed[1] > 0


async def test_coturn_refuses_a_wrong_or_expired_credential(coturn):
    wrong = turn_credentials("not-the-secret", "booth-1", 600)
    expired = turn_credentials(coturn.secret, "booth-1", 600, now=NOW)  # expired in 2023
    for username, credential in (wrong, expired):
        with pytest.raises(Exception):
            await _allocate(coturn.port, username, credential)
