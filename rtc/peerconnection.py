"""What every aiortc peer connection of the booth is built with: its configuration, and how a
trickled candidate from the other side is read.

The booth's call (appliance/call.py) and each peer link of a group call (appliance/peerlink.py)
build their :class:`~aiortc.RTCPeerConnection` from these, so both behave the same.

Example::

    pc = RTCPeerConnection(rtc_configuration(link.ice_servers))
    if (candidate := remote_candidate(msg)) is not None:
        await pc.addIceCandidate(candidate)
"""

from __future__ import annotations

from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.sdp import candidate_from_sdp

from . import protocol as p


def rtc_configuration(servers: list[p.IceServer]) -> RTCConfiguration:
    """An explicit (possibly empty) server list: aiortc would otherwise add a public STUN server."""
    ice = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in servers]
    # One transport for audio and video: half the gathering and half the connectivity checks.
    return RTCConfiguration(iceServers=ice, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


def remote_candidate(msg: p.Candidate) -> RTCIceCandidate | None:
    """The aiortc candidate of a trickled ``candidate`` message, or None (end-of-candidates, or
    one aiortc cannot read: it keeps checking what it has)."""
    text = msg.candidate.removeprefix("candidate:").strip()
    if not text:
        return None
    try:
        candidate = candidate_from_sdp(text)
    except (ValueError, IndexError):
        return None
    candidate.sdpMid = msg.sdp_mid
    candidate.sdpMLineIndex = msg.sdp_mline_index
    return candidate
