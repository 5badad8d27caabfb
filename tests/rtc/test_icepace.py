"""Prompt ICE: connect() returns when the check list completes, not at the next pacing tick."""

from __future__ import annotations

import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy

from rtc.icepace import use_prompt_ice

HOUR = 3600.0


def _pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


async def _call(pacing_s: float | None) -> tuple[RTCPeerConnection, RTCPeerConnection]:
    offerer, answerer = _pc(), _pc()
    offerer.addTrack(VideoStreamTrack())
    offerer.createDataChannel("chat", negotiated=True, id=7)
    if pacing_s is not None:
        assert use_prompt_ice(offerer, check_interval_s=pacing_s)
    connected = asyncio.Event()
    offerer.on("connectionstatechange", lambda: offerer.connectionState == "connected" and connected.set())
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    answerer.addTrack(VideoStreamTrack())
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)
    await asyncio.wait_for(connected.wait(), 20)
    return offerer, answerer


async def test_an_hour_between_checks_still_connects_at_once():
    # With aioice's own connect() the offerer would sleep out the hour before noticing success.
    offerer, answerer = await _call(pacing_s=HOUR)
    connection = offerer.getTransceivers()[0].sender.transport.transport.iceGatherer._connection
    assert connection._query_consent_task is not None  # the tail of aioice's connect() ran too
    await offerer.close()
    await answerer.close()


async def test_every_ice_connection_of_the_peer_is_swapped_once():
    pc = _pc()
    pc.addTrack(VideoStreamTrack())
    pc.addTransceiver("audio")
    pc.createDataChannel("chat", negotiated=True, id=7)
    assert use_prompt_ice(pc)
    connections = {id(t.sender.transport.transport.iceGatherer._connection) for t in pc.getTransceivers()}
    assert len(connections) == 1  # max-bundle: one transport for everything
    await pc.close()


async def test_an_aioice_without_the_expected_parts_keeps_its_own_connect(caplog):
    pc = _pc()
    pc.addTrack(VideoStreamTrack())
    connection = pc.getTransceivers()[0].sender.transport.transport.iceGatherer._connection
    del connection._early_checks
    own = connection.connect
    assert not use_prompt_ice(pc)
    assert connection.connect == own
    assert "keeping its own ICE pacing" in caplog.text
    await pc.close()
