"""Two encoders of one camera (the call's and the kiosk self-view's, or a peer link's): each must
see its timestamps rise. PyAV rebases the frame it encodes in place, in the encoder's thread, and
the call's AdaptiveVideoTrack rewrites timestamps in place: on a shared frame object the two
corrupted each other until libvpx refused a frame and the sender died."""

from __future__ import annotations

import asyncio
import fractions

import pytest

from hw.synthetic import SyntheticCamera
from rtc.adaptation import AdaptiveVideoTrack
from rtc.videocopy import OwnVideoTrack

MICROSECONDS = fractions.Fraction(1, 1_000_000)


@pytest.fixture
async def camera():
    cam = SyntheticCamera(width=160, height=120, fps=25)
    yield cam
    await cam.close()


def encoded(frame) -> fractions.Fraction:
    """What PyAV's encoder does to the frame it is given: rebase it in place (here: to µs, as
    libvpx's context asks); returns the frame's time in seconds as the encoder saw it."""
    seconds = frame.pts * frame.time_base
    frame.pts, frame.time_base = int(seconds / MICROSECONDS), MICROSECONDS
    return seconds


async def test_the_call_and_the_self_view_each_see_their_time_rise(camera):
    """Whichever encoder gets a frame first: on shared frames the call's in-place corrections and
    the encoders' rebasing fed each other until one saw time go back (the VP8 encoder then dies)."""
    call = AdaptiveVideoTrack(camera.video_track())
    page = OwnVideoTrack(camera.video_track())  # what the loopback and a peer link send
    seen: dict[str, list] = {"call": [], "page": []}
    for n in range(40):
        order = [("call", call), ("page", page)] if n % 2 else [("page", page), ("call", call)]
        for name, track in order:
            seen[name].append(encoded(await asyncio.wait_for(track.recv(), 10)))
    for name, times in seen.items():
        assert all(later > earlier for earlier, later in zip(times, times[1:])), name
    call.stop()
    page.stop()


async def test_copies_share_nothing_with_the_camera_frame(camera):
    shared, own = camera.video_track(), OwnVideoTrack(camera.video_track())
    original, copy = await asyncio.wait_for(asyncio.gather(shared.recv(), own.recv()), 10)
    pts = copy.pts
    encoded(original)  # another encoder rebases the camera's frame
    assert copy is not original and copy.pts == pts and copy.time_base == fractions.Fraction(1, 90_000)
    shared.stop()
    own.stop()
