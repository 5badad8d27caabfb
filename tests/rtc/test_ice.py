"""ICE server probing (rtc/ice.py) against a real coturn on loopback, a server that never answers
(a bound UDP socket that reads nothing) and a closed port; and aiortc handed only live servers."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc import RTCPeerConnection

from rtc.peerconnection import rtc_configuration
from rtc.ice import IceProber, filter_servers, parse_url, probe_url
from rtc.protocol import IceServer
from tests.faults.servers import TurnServer, free_port


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    with TurnServer(tmp_path_factory.mktemp("turn")) as server:
        yield server


def test_urls_are_taken_apart():
    assert parse_url("stun:stun.example.org").port == 3478
    u = parse_url("turn:10.0.0.1:3479?transport=tcp")
    assert (u.host, u.port, u.transport, u.is_turn) == ("10.0.0.1", 3479, "tcp", True)
    assert parse_url("turns:turn.example.org").transport == "tls" and parse_url("turns:turn.example.org").port == 5349
    assert parse_url("stun:[::1]:3478").host == "::1"
    for bad in ("http://x", "stun:", "turn:host?transport=sctp"):
        with pytest.raises(ValueError):
            parse_url(bad)


async def test_a_live_server_answers_over_udp_and_tcp(turn):
    for url in (f"stun:127.0.0.1:{turn.port}", f"turn:127.0.0.1:{turn.port}?transport=udp",
                f"turn:127.0.0.1:{turn.port}?transport=tcp"):
        result = await probe_url(url, timeout_s=2.0)
        assert result.ok, result
        assert result.rtt_ms is not None and result.rtt_ms >= 0


async def test_a_silent_or_closed_server_is_dead_within_the_timeout(blackhole):
    started = time.monotonic()
    results = await asyncio.gather(probe_url(f"stun:127.0.0.1:{blackhole}", 0.3),
                                   probe_url(f"turn:127.0.0.1:{free_port()}?transport=tcp", 0.3),
                                   probe_url("stun:nonsense", 0.3))
    assert [r.ok for r in results] == [False, False, False]
    assert "no answer" in results[0].error
    assert time.monotonic() - started < 3.0  # bounded by the timeout, not aiortc's 5 s


async def test_prober_hands_on_only_live_urls_and_reports_faults(turn, blackhole):
    servers = [
        IceServer(urls=[f"stun:127.0.0.1:{blackhole}"]),
        IceServer(urls=[f"turn:127.0.0.1:{turn.port}?transport=udp", f"turn:127.0.0.1:{free_port()}?transport=tcp"],
                  username="u", credential="c"),
    ]
    changes: list[list[str]] = []

    async def on_change(faults):
        changes.append(faults)

    prober = IceProber(timeout_s=0.5, on_change=on_change)
    assert prober.usable(servers) == servers  # nothing probed yet: an admit never waits for a probe
    await prober.probe(servers)
    usable = prober.usable(servers)
    assert [s.urls for s in usable] == [[f"turn:127.0.0.1:{turn.port}?transport=udp"]]
    assert usable[0].username == "u" and usable[0].credential == "c"
    assert prober.faults() == ["stun_unreachable", "turn_unreachable"] and changes == [prober.faults()]
    await prober.probe(servers[1:2])  # the dead STUN server was removed from the config
    assert prober.faults() == ["turn_unreachable"] and len(changes) == 2
    await prober.probe(servers[1:2])
    assert len(changes) == 2  # reported on change only


def test_filter_keeps_server_objects_when_everything_answers():
    servers = [IceServer(urls=["stun:a:1", "stun:b:2"])]
    assert filter_servers(servers, lambda url: True)[0] is servers[0]
    assert filter_servers(servers, lambda url: False) == []


async def test_aiortc_gathers_at_once_with_only_the_live_servers(turn, blackhole):
    servers = [IceServer(urls=[f"stun:127.0.0.1:{blackhole}"]), IceServer(urls=[f"stun:127.0.0.1:{turn.port}"])]
    prober = IceProber(timeout_s=0.3)
    await prober.probe(servers)
    pc = RTCPeerConnection(rtc_configuration(prober.usable(servers)))
    try:
        pc.addTransceiver("video")
        started = time.monotonic()
        await pc.setLocalDescription(await pc.createOffer())
        took = time.monotonic() - started
        assert "typ srflx" in pc.localDescription.sdp  # the live STUN server was asked
        assert took < 2.5, f"gathering took {took:.1f} s"  # aiortc alone would wait ~5 s on the dead one
    finally:
        await pc.close()
