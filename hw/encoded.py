"""A pre-encoded H.264 camera: the synthetic pattern, encoded once, replayed as ``av.Packet``.

It stands in for a hardware encoder (Pi 4 camera, UVC H.264 webcam) wherever there is none: tests
and the benchmark exercise aiortc's passthrough path (``RTCRtpSender`` packs packets without
decoding or re-encoding) exactly as the real drivers use it.

Example::

    cam = PrerecordedH264Camera(width=640, height=480, fps=30)
    track = cam.video_track()          # yields av.Packet; negotiate H.264 (cam.passthrough_codec)
"""

from __future__ import annotations

import fractions
import time

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .camera import SupervisedCamera
from .pacing import Pacer
from .synthetic import pattern_image

H264 = "video/H264"


def encode_test_pattern(width: int, height: int, fps: int, seconds: float = 2.0) -> list[bytes]:
    """Annex-B H.264 access units of the test pattern, starting with an IDR, in memory only.

    Constrained baseline like a hardware encoder set up for WebRTC; SPS/PPS are repeated at every
    keyframe and the loop is exactly one GOP long, so replaying it from the start always decodes.
    """
    count = max(1, int(fps * seconds))
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = 1_000_000
    codec.options = {
        "profile": "baseline",
        "level": "31",
        "tune": "zerolatency",
        "preset": "veryfast",
        "x264-params": f"keyint={count}:min-keyint={count}:scenecut=0:repeat-headers=1",
    }
    packets: list[bytes] = []
    base = time.time()
    for index in range(count):
        frame = av.VideoFrame.from_ndarray(pattern_image(width, height, index, base + index / fps), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        frame.pts = index
        packets.extend(bytes(p) for p in codec.encode(frame))
    packets.extend(bytes(p) for p in codec.encode(None))
    return packets


class PrerecordedH264Track(MediaStreamTrack):
    """Replays encoded access units in a loop, paced at ``fps``."""

    kind = "video"

    def __init__(self, access_units: list[bytes], fps: int) -> None:
        super().__init__()
        self._units = access_units
        self.fps = fps
        self._pacer = Pacer(1 / fps)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.wait()
        packet = av.Packet(self._units[index % len(self._units)])
        packet.pts = index
        packet.time_base = fractions.Fraction(1, self.fps)
        return packet


class PrerecordedH264Camera(SupervisedCamera):
    """A camera whose track carries H.264 packets, like one with a hardware encoder."""

    passthrough_codec = H264
    _units: list[bytes] | None = None

    def _open_source(self) -> MediaStreamTrack:
        if self._units is None:  # encoded on first use, once: about a second of CPU
            self._units = encode_test_pattern(self.width, self.height, self.fps)
        return PrerecordedH264Track(self._units, self.fps)
