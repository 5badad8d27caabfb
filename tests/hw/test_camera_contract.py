"""Every camera driver keeps the Camera contract: live frames of the configured size, that change."""

from __future__ import annotations

import asyncio

import av
import pytest

from hw.base import Camera
from hw.synthetic import SyntheticCamera, looks_like_test_pattern, moving_bar_x

from .conftest import real_video_device, skip_with_reason


def make_fake():
    return SyntheticCamera(width=320, height=240, fps=25)


def make_v4l2():
    node = real_video_device()
    if node is None:
        skip_with_reason("no /dev/video* on this machine: V4L2 camera driver not exercised")
    from hw.v4l2 import V4l2Camera

    return V4l2Camera(device=node, width=320, height=240, fps=25)


def make_picamera2():
    try:
        import picamera2  # noqa: F401
    except ImportError:
        skip_with_reason("picamera2 is not installed (only on a Raspberry Pi): Pi camera driver not exercised")
    from hw.picamera import PiCamera

    return PiCamera(width=320, height=240, fps=25)


@pytest.fixture(params=[make_fake, make_v4l2, make_picamera2], ids=["synthetic", "v4l2", "picamera2"])
async def camera(request):
    cam = request.param()
    yield cam
    await cam.close()


async def test_camera_is_a_camera(camera):
    assert isinstance(camera, Camera)


async def test_frames_arrive_and_change(camera):
    track = camera.video_track()
    items = [await asyncio.wait_for(track.recv(), 10) for _ in range(3)]
    track.stop()
    assert camera.healthy
    assert all(isinstance(i, (av.VideoFrame, av.Packet)) for i in items)
    pts = [i.pts for i in items]
    assert pts == sorted(pts) and len(set(pts)) == 3, pts
    if camera.passthrough_codec is None:
        assert (items[0].width, items[0].height) == (camera.width, camera.height)
        assert items[0].to_ndarray(format="gray").tobytes() != items[2].to_ndarray(format="gray").tobytes()


async def test_stopped_track_ends(camera):
    track = camera.video_track()
    await asyncio.wait_for(track.recv(), 10)
    track.stop()
    with pytest.raises(Exception):
        await track.recv()


async def test_synthetic_pattern_is_recognisable_and_moves():
    cam = make_fake()
    track = cam.video_track()
    first = await track.recv()
    for _ in range(4):
        last = await track.recv()
    track.stop()
    await cam.close()
    assert looks_like_test_pattern(first) and looks_like_test_pattern(last)
    assert moving_bar_x(last) > moving_bar_x(first)


async def test_two_consumers_share_one_source():
    cam = make_fake()
    a, b = cam.video_track(), cam.video_track()
    fa, fb = await asyncio.wait_for(asyncio.gather(a.recv(), b.recv()), 10)
    assert looks_like_test_pattern(fa) and looks_like_test_pattern(fb)
    a.stop()
    assert cam._source is not None  # b still watches
    b.stop()
    assert cam._source is None  # nobody watches: the device is released
    await cam.close()
