"""A video jitter buffer that hands a frame on as soon as its last packet is in.

aiortc's :class:`~aiortc.jitterbuffer.JitterBuffer` only knows a video frame is complete when the
first packet of the *next* frame arrives, so every frame (the first one included) waits one frame
interval, 33 ms at 30 fps, before it is decoded. RTP marks the last packet of a video frame with
the marker bit (RFC 7741 for VP8, RFC 6184 for H.264); this buffer uses it, and falls back to
aiortc's rule for a sender that does not set it.

:func:`use_marker_jitter_buffer` swaps it into one peer connection's video receivers. The
receiver keeps its buffer in a private attribute, so the swap is checked and skipped (with a
log line) if a future aiortc renames it; the call then simply works as before.

Example::

    pc = RTCPeerConnection(config)
    pc.addTrack(camera_track)                  # creates the transceivers and their receivers
    use_marker_jitter_buffer(pc)               # before any packet arrives
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

log = logging.getLogger("videokiosk.jitter")
_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"  # where aiortc's RTCRtpReceiver keeps it
#: Sees each complete frame with the packets it came in (rtc/forward.py forwards it still encoded).
Tap = Callable[[list[RtpPacket], JitterFrame], None]


class MarkerJitterBuffer(JitterBuffer):
    def __init__(self, capacity: int = 512, tap: Tap | None = None) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self._tap = tap

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        packets = []
        timestamp = None
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self._capacity]
            if packet is None:
                return None  # a gap: wait for the missing packet (or NACK / PLI recovery)
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                break  # the next frame began: the one before is complete (aiortc's own rule)
            packets.append(packet)
            if packet.marker:
                break  # the frame's last packet
        else:
            return None
        self.remove(len(packets))
        frame = JitterFrame(data=b"".join(p._data for p in packets), timestamp=timestamp)
        if self._tap is not None:
            self._tap(packets, frame)
        return frame


def use_marker_jitter_buffer(pc: RTCPeerConnection, tap_for: Callable[[RTCRtpTransceiver], Tap] | None = None) -> bool:
    """Give every video receiver of ``pc`` a :class:`MarkerJitterBuffer`; False if not possible.

    ``tap_for(transceiver)``: the tap of that transceiver's buffer (none without it).
    """
    video = [t for t in pc.getTransceivers() if t.kind == "video"]
    if not all(isinstance(getattr(t.receiver, _ATTRIBUTE, None), JitterBuffer) for t in video):
        log.warning("aiortc's receiver has no %s any more: keeping its own jitter buffer", _ATTRIBUTE)
        return False
    for transceiver in video:
        setattr(transceiver.receiver, _ATTRIBUTE, MarkerJitterBuffer(tap=tap_for(transceiver) if tap_for else None))
    return bool(video)
