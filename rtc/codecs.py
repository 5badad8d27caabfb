"""Choosing a video codec on a transceiver: for cameras that deliver encoded video themselves.

A camera with a hardware H.264 encoder hands aiortc ``av.Packet`` objects (``hw`` Camera
``video_track(encoded=True)``); aiortc packs those without re-encoding only if the transceiver
negotiated that very codec, so the offer must list it alone.

Example::

    >>> from aiortc import RTCPeerConnection
    >>> from aiortc.mediastreams import VideoStreamTrack
    >>> pc = RTCPeerConnection()
    >>> prefer_codec([pc.addTransceiver(VideoStreamTrack())], "video/H264")
    True
"""

from __future__ import annotations

from collections.abc import Iterable

from aiortc import RTCRtpSender, RTCRtpTransceiver


def prefer_codec(transceivers: Iterable[RTCRtpTransceiver], mime: str) -> bool:
    """Offer only ``mime`` (e.g. "video/H264", every profile aiortc has) on each transceiver.

    Returns False, changing nothing, when this aiortc cannot send ``mime`` at all.
    """
    chosen = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType.lower() == mime.lower()]
    if not chosen:
        return False
    for transceiver in transceivers:
        transceiver.setCodecPreferences(chosen)
    return True
