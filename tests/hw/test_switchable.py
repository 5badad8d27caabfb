"""The track a peer connection keeps while its source comes and goes."""

from __future__ import annotations

import asyncio

import av
from aiortc.mediastreams import MediaStreamTrack

from hw.switchable import SwitchableTrack, silence, unavailable_picture
from hw.synthetic import SyntheticVideoTrack, looks_like_test_pattern
from hw.tone import ToneTrack


class BrokenTrack(MediaStreamTrack):
    kind = "video"

    async def recv(self):
        raise OSError(19, "No such device")


async def test_timestamps_never_go_back_across_switches():
    track = SwitchableTrack("video", unavailable_picture(160, 120), fps=25)
    pts = []
    for source in (SyntheticVideoTrack(160, 120, 25), None, SyntheticVideoTrack(160, 120, 25)):
        track.set_source(source)
        for _ in range(3):
            pts.append((await asyncio.wait_for(track.recv(), 5)).pts)
    track.stop()
    assert pts == sorted(pts) and len(set(pts)) == len(pts), pts


async def test_a_failing_driver_gives_the_placeholder_and_a_report():
    reasons = []
    track = SwitchableTrack("video", unavailable_picture(160, 120), fps=25, on_source_failed=reasons.append)
    track.set_source(BrokenTrack())
    frame = await asyncio.wait_for(track.recv(), 5)
    assert isinstance(frame, av.VideoFrame) and not looks_like_test_pattern(frame)
    assert track.source is None and "No such device" in reasons[0]
    track.stop()


async def test_audio_placeholder_is_paced_silence():
    track = SwitchableTrack("audio", silence(), fps=50)
    track.set_source(ToneTrack(440, -20))
    loud = await track.recv()
    track.set_source(None)
    quiet = [await asyncio.wait_for(track.recv(), 5) for _ in range(3)]
    assert loud.to_ndarray().any() and not any(f.to_ndarray().any() for f in quiet)
    assert [f.pts for f in quiet] == [960, 1920, 2880]
    track.stop()


async def test_stopping_the_track_stops_its_source():
    source = SyntheticVideoTrack(160, 120, 25)
    track = SwitchableTrack("video", unavailable_picture(160, 120))
    track.set_source(source)
    await track.recv()
    track.stop()
    assert source.readyState == "ended"


class HungTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.never = asyncio.Event()

    async def recv(self):
        await self.never.wait()  # a driver that blocks forever


async def test_a_hung_driver_shows_the_placeholder_then_is_given_up():
    reasons = []
    track = SwitchableTrack("video", unavailable_picture(160, 120), fps=25, on_source_failed=reasons.append,
                            stall_s=0.1, hung_s=0.5)
    hung = HungTrack()
    track.set_source(hung)
    first = await asyncio.wait_for(track.recv(), 5)
    assert not looks_like_test_pattern(first) and reasons == []  # stalled: placeholder, no verdict yet

    async def until_given_up():
        while not reasons:
            await track.recv()

    await asyncio.wait_for(until_given_up(), 10)
    assert "no data" in reasons[0] and hung.readyState == "ended" and track.source is None
    track.stop()
