"""H.264 passthrough: pre-encoded packets reach a real aiortc peer and decode to the test pattern."""

from __future__ import annotations

import asyncio

import av
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender

from hw.encoded import PrerecordedH264Camera, encode_test_pattern
from hw.synthetic import looks_like_test_pattern


def test_encoded_pattern_decodes():
    units = encode_test_pattern(320, 240, 10, seconds=1.0)
    assert len(units) == 10
    assert units[0].startswith(b"\x00\x00\x00\x01") or units[0].startswith(b"\x00\x00\x01")
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for unit in units for f in decoder.decode(av.Packet(unit))]
    assert frames and looks_like_test_pattern(frames[0])


@pytest.mark.slow
async def test_passthrough_packets_reach_the_advisor_as_the_pattern():
    cam = PrerecordedH264Camera(width=320, height=240, fps=15)
    booth, advisor = RTCPeerConnection(), RTCPeerConnection()
    track = cam.video_track(encoded=True)
    assert cam.passthrough_codec == "video/H264"
    transceiver = booth.addTransceiver(track, direction="sendonly")
    h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == cam.passthrough_codec]
    transceiver.setCodecPreferences(h264)
    got = asyncio.get_running_loop().create_future()
    advisor.on("track", lambda t: got.set_result(t))
    try:
        await booth.setLocalDescription(await booth.createOffer())
        await advisor.setRemoteDescription(booth.localDescription)
        await advisor.setLocalDescription(await advisor.createAnswer())
        await booth.setRemoteDescription(advisor.localDescription)
        remote = await asyncio.wait_for(got, 20)

        async def first_pattern():
            while True:
                frame = await remote.recv()
                if looks_like_test_pattern(frame):
                    return frame

        frame = await asyncio.wait_for(first_pattern(), 30)
        assert (frame.width, frame.height) == (320, 240)
        encoder = transceiver.sender._RTCRtpSender__encoder
        # Packed, not re-encoded: aiortc's H264Encoder never had to create its libx264 context.
        assert type(encoder).__name__ == "H264Encoder" and encoder.codec is None
    finally:
        await booth.close()
        await advisor.close()
        await cam.close()


async def test_default_track_of_a_passthrough_camera_yields_pictures():
    """Passthrough is opt-in: a caller that negotiated some other codec gets frames it can encode."""
    cam = PrerecordedH264Camera(width=320, height=240, fps=15)
    track = cam.video_track()
    frame = await asyncio.wait_for(track.recv(), 10)
    assert isinstance(frame, av.VideoFrame) and looks_like_test_pattern(frame)
    track.stop()
    await cam.close()
