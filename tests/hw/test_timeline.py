"""Two tracks of one camera (the kiosk preview and the call) share frame objects through the relay:
each consumer must still see rising timestamps, read when its encoder gets to the frame."""

from __future__ import annotations

import asyncio

from hw.synthetic import SyntheticCamera


async def test_two_tracks_of_one_camera_each_see_rising_timestamps():
    camera = SyntheticCamera(width=64, height=48, fps=30)
    preview = camera.video_track()
    seen = {"preview": [], "call": []}
    try:
        for _ in range(5):  # the preview runs alone first, as in the device check
            seen["preview"].append(await asyncio.wait_for(preview.recv(), 5))
        call = camera.video_track()  # admitted: the call's track starts later on its own

        async def read(name, track):
            for _ in range(10):
                seen[name].append(await asyncio.wait_for(track.recv(), 5))

        await asyncio.gather(read("preview", preview), read("call", call))
        # Timestamps are read only now, like an encoder thread reading a frame it was handed earlier.
        for name, frames in seen.items():
            stamps = [f.pts for f in frames]
            assert stamps == sorted(set(stamps)), f"{name}: timestamps not rising: {stamps}"
        assert {id(f) for f in seen["call"]} & {id(f) for f in seen["preview"]}, "no frame was shared"
        call.stop()
    finally:
        preview.stop()
        await camera.close()
