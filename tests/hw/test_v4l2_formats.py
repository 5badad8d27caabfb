"""The V4L2 driver's choice of format, with PyAV's device opener stood in for (no webcam here):
H.264 passthrough when the camera offers it, MJPEG/raw decode otherwise, a clear error when none."""

from __future__ import annotations

import asyncio

import av
import pytest

import hw.v4l2 as v4l2
from hw.encoded import PrerecordedH264Track, encode_test_pattern
from hw.synthetic import SyntheticVideoTrack, looks_like_test_pattern


class FakePlayer:
    """Like aiortc's MediaPlayer on a webcam that can do the formats in ``offers``."""

    offers: set[str | None] = set()
    opened: list[tuple[str | None, bool]] = []

    def __init__(self, file, format=None, options=None, decode=True):
        fmt = (options or {}).get("input_format")
        if fmt not in self.offers:
            raise av.FFmpegError(22, f"Cannot find a proper format for codec '{fmt}'")
        FakePlayer.opened.append((fmt, decode))
        units = encode_test_pattern(160, 120, 10, seconds=1.0)
        self.video = PrerecordedH264Track(units, 10) if not decode else SyntheticVideoTrack(160, 120, 10)
        self.audio = None


@pytest.fixture
def device(tmp_path, monkeypatch):
    node = tmp_path / "video0"
    node.write_bytes(b"")  # exists, like a device node
    FakePlayer.opened = []
    monkeypatch.setattr(v4l2, "MediaPlayer", FakePlayer)
    return str(node)


async def test_h264_camera_is_passed_through(device, monkeypatch):
    FakePlayer.offers = {"h264", "mjpeg", None}
    monkeypatch.setattr(v4l2.V4l2Camera, "_offers", lambda self, fmt: fmt in FakePlayer.offers)
    cam = v4l2.V4l2Camera(device, width=160, height=120, fps=10)
    assert cam.passthrough_codec == "video/H264"  # known before the device is opened for a call
    track = cam.video_track(encoded=True)
    assert isinstance(await asyncio.wait_for(track.recv(), 5), av.Packet)
    assert FakePlayer.opened == [("h264", False)]
    decoded = cam.video_track()  # by default pictures, for a peer that may not do H.264

    async def first_picture():
        while True:
            frame = await decoded.recv()
            if isinstance(frame, av.VideoFrame):
                return frame

    assert looks_like_test_pattern(await asyncio.wait_for(first_picture(), 10))
    track.stop()
    decoded.stop()
    await cam.close()


async def test_mjpeg_camera_is_decoded(device):
    FakePlayer.offers = {"mjpeg", None}
    cam = v4l2.V4l2Camera(device, width=160, height=120, fps=10)
    assert cam.passthrough_codec is None
    track = cam.video_track()
    assert isinstance(await asyncio.wait_for(track.recv(), 5), av.VideoFrame)
    assert FakePlayer.opened == [("mjpeg", True)]
    track.stop()
    await cam.close()


async def test_camera_with_no_usable_format_is_unhealthy_with_the_reason(device):
    FakePlayer.offers = set()
    cam = v4l2.V4l2Camera(device, width=160, height=120, fps=10)
    track = cam.video_track()
    assert not cam.healthy
    assert "Cannot find a proper format" in cam._health.last.detail
    assert not looks_like_test_pattern(await asyncio.wait_for(track.recv(), 5))
    track.stop()
    await cam.close()


async def test_missing_node_is_unavailable(tmp_path):
    cam = v4l2.V4l2Camera(str(tmp_path / "video9"))
    track = cam.video_track()
    assert not cam.healthy and cam._health.last.hint == "check.camera.unavailable"
    track.stop()
    await cam.close()
