"""What every aiortc peer connection of the booth is built with: its configuration, the other
side's trickled candidates, and the other side's video (watched, and shown on the kiosk page).

The booth's call (appliance/call.py) and each peer link of a group call (appliance/peerlink.py)
build their :class:`~aiortc.RTCPeerConnection` from these, so both behave the same.

Example::

    pc = RTCPeerConnection(rtc_configuration(link.ice_servers))
    candidates = RemoteCandidates(pc)
    await candidates.add(msg)               # held until the other side's description is set
    await pc.setRemoteDescription(answer)
    await candidates.described()            # now the held ones go in, and later ones at once
    watcher = show_remote_video(track, loopback.set_remote_video, on_frame=count, encoded=taps.for_track(track))
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiortc import RTCConfiguration, RTCIceCandidate, RTCIceServer, RTCPeerConnection
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.sdp import candidate_from_sdp

from . import protocol as p
from .forward import EncodedVideo


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


class RemoteCandidates:
    """The other side's trickled candidates for one peer connection: aiortc takes them only once
    the other side's description is set, so until then they wait here, in order."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self._pc = pc
        self._pending: list[p.Candidate] = []
        self.ready = False

    async def add(self, msg: p.Candidate) -> None:
        if not self.ready:
            self._pending.append(msg)
        elif (candidate := remote_candidate(msg)) is not None:
            await self._pc.addIceCandidate(candidate)

    async def described(self) -> None:
        """The other side's description is set: the held candidates go in now."""
        self.ready = True
        pending, self._pending = self._pending, []
        for msg in pending:
            await self.add(msg)


def show_remote_video(track: MediaStreamTrack, show: Callable[[MediaStreamTrack, EncodedVideo | None], None] | None,
                      on_frame: Callable[[Any | None], None], encoded: EncodedVideo | None = None) -> asyncio.Task:
    """The other side's video: one copy to ``show`` (the kiosk page's tile; None: nowhere) with
    ``encoded``, the same video's encoded frames (rtc/forward.py); one drained here so nothing
    queues up, each decoded frame (memory only) to ``on_frame``, and None for each frame that
    reached the page still encoded and was not decoded here. Returns the drain's task."""
    relay = MediaRelay()
    watched = relay.subscribe(track, buffered=False)

    async def drain() -> None:
        try:
            while True:
                on_frame(await watched.recv())
        except MediaStreamError:
            return

    task = asyncio.ensure_future(drain())
    if encoded is not None:
        encoded.when_undecoded(lambda: on_frame(None))
    if show is not None:
        show(relay.subscribe(track), encoded)
    return task
