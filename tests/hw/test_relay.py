"""One device, many readers (hw/relay.py): what each reader keeps when it lags.

The promise: a booth whose event loop is late loses none of the customer's voice. Before, the
microphone's readers kept only the latest frame, and every late turn of the loop cut 20 ms out of
the voice (issue 20's bench saw the audio's timestamps fall behind by one frame at a time).
"""

from __future__ import annotations

import asyncio
import time

import av
import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from hw.audio_fake import ToneMicrophone
from hw.camera import SupervisedCamera
from hw.levels import samples_of
from hw.microphone import SupervisedMicrophone
from hw.relay import Relay
from hw.supervised import AUDIO_BACKLOG_S
from hw.switchable import AUDIO_PTIME, silence
from hw.tone import FRAME_SAMPLES, tone_samples

LEVEL_DBFS = -20.0
FREQUENCY = 440.0


class Counting(MediaStreamTrack):
    """A source that delivers 0, 1, 2, ... as the test lets it (:meth:`deliver`), or fails with ``error``."""

    kind = "audio"

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.n, self.error = 0, error
        self._allowed: asyncio.Queue[None] = asyncio.Queue()

    def deliver(self, count: int) -> None:
        for _ in range(count):
            self._allowed.put_nowait(None)

    async def recv(self):
        if self.error is not None:
            raise self.error
        await self._allowed.get()
        if self.readyState != "live":
            raise MediaStreamError
        self.n += 1
        return self.n - 1


async def _read_until(track: MediaStreamTrack, item: int) -> None:
    while await asyncio.wait_for(track.recv(), 5) < item:
        pass


async def test_a_late_booth_loses_none_of_the_voice():
    """The call's microphone track, read one frame, then the loop stalls for a busy 100 ms."""
    mic = ToneMicrophone(frequency=FREQUENCY, level_dbfs=LEVEL_DBFS)  # no room: the pure tone
    track = mic.audio_track()
    try:
        frames = [await asyncio.wait_for(track.recv(), 5)]
        time.sleep(0.1)  # noqa: ASYNC251 -- the fault: the event loop blocked (five frames fall due meanwhile)
        frames += [await asyncio.wait_for(track.recv(), 5) for _ in range(6)]
    finally:
        track.stop()
        await mic.close()
    heard = np.concatenate([samples_of(f) for f in frames])
    spoken = tone_samples(FREQUENCY, LEVEL_DBFS, 0, len(frames) * FRAME_SAMPLES)
    lost = [i for i in range(len(frames)) if not np.allclose(heard[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES],
                                                              spoken[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES], atol=1e-3)]
    assert not lost, f"after the stall the call's audio jumped: frames {lost} are not the voice's next 20 ms"


async def test_a_reader_that_stopped_reading_holds_only_the_backlog():
    relay, source = Relay(), Counting()
    keep = round(AUDIO_BACKLOG_S / AUDIO_PTIME)
    meter, call = relay.subscribe(source, keep=keep), relay.subscribe(source, keep=keep)
    try:
        source.deliver(1)
        assert await asyncio.gather(meter.recv(), call.recv()) == [0, 0]
        source.deliver(50)
        await _read_until(call, 50)  # the call reads on; the meter's screen went away unread
        assert await meter.recv() == 50 - keep + 1, "the oldest beyond the backlog should be gone"
    finally:
        meter.stop(), call.stop(), source.stop()


@pytest.mark.parametrize("keep, next_after_lag", [(1, 20), (None, 1)], ids=["latest only (raw video)", "every item (encoded)"])
async def test_what_a_lagging_reader_gets_next(keep, next_after_lag):
    relay, source = Relay(), Counting()
    lagging, other = relay.subscribe(source, keep=keep), relay.subscribe(source, keep=None)
    try:
        source.deliver(1)
        assert await asyncio.gather(lagging.recv(), other.recv()) == [0, 0]
        source.deliver(20)
        await _read_until(other, 20)
        assert await lagging.recv() == next_after_lag
    finally:
        lagging.stop(), other.stop(), source.stop()


async def test_the_devices_error_reaches_every_reader_at_once():
    relay, source = Relay(), Counting(error=OSError("the camera's driver failed"))
    readers = [relay.subscribe(source, keep=1), relay.subscribe(source, keep=None)]
    for reader in readers:
        with pytest.raises(OSError, match="driver failed"):
            await asyncio.wait_for(reader.recv(), 5)
        with pytest.raises(MediaStreamError):  # and it stays ended
            await reader.recv()


async def test_a_source_that_ends_ends_its_readers():
    relay, source = Relay(), Counting()
    reader = relay.subscribe(source, keep=4)
    source.deliver(3)
    assert await reader.recv() == 0
    source.stop()
    source.deliver(1)  # its next read finds it stopped
    with pytest.raises(MediaStreamError):
        for _ in range(10):  # what was delivered before the end, then the end
            await asyncio.wait_for(reader.recv(), 5)


class _WarmingUpCamera(SupervisedCamera):
    """A camera whose driver is read only when someone reads it: ``reading`` is set at its first
    read (a V4L2 camera's capture starts there, and its first frame takes its time)."""

    def __init__(self) -> None:
        self.reading = asyncio.Event()
        super().__init__(width=160, height=120, fps=25)

    def _open_source(self):
        return _Driver("video", self.reading)


class _WarmingUpMicrophone(SupervisedMicrophone):
    def __init__(self) -> None:
        self.reading = asyncio.Event()
        super().__init__()

    def _open_source(self):
        return _Driver("audio", self.reading)


class _Driver(MediaStreamTrack):
    """A device's driver: sets ``reading`` at its first read, then gives a frame each 20 ms."""

    def __init__(self, kind: str, reading: asyncio.Event) -> None:
        super().__init__()
        self.kind, self.reading = kind, reading

    async def recv(self):
        self.reading.set()
        await asyncio.sleep(AUDIO_PTIME)  # the pacing of a device, not a wait of the test's
        return silence() if self.kind == "audio" else av.VideoFrame(160, 120, "yuv420p")


async def test_the_calls_camera_is_read_from_the_admit_on_not_from_aiortcs_first_ask():
    """The call's camera track is made at the admit; aiortc asks it for a frame only once the
    connection is up. The camera must start then (so its first frame is at hand), not wait for
    that first ask. On loopback (bench_call, synthetic camera) the sender's first frame was
    encoded 17-19 ms after the connection that way, 12 ms now; a real camera's start is far
    longer than the 70 ms the connection takes, and now runs beside it."""
    camera = _WarmingUpCamera()
    track = camera.video_track()  # what the call does at the admit; no one reads it yet
    try:
        await asyncio.wait_for(camera.reading.wait(), 5)
        frame = await asyncio.wait_for(track.recv(), 5)
        assert (frame.width, frame.height) == (160, 120)
    finally:
        track.stop()
        await camera.close()


async def test_the_calls_microphone_is_read_from_aiortcs_first_ask():
    """The microphone's reader keeps a backlog (above): read from the admit on, it would start that
    much behind the customer's voice, for the whole call."""
    microphone = _WarmingUpMicrophone()
    track = microphone.audio_track()
    try:
        for _ in range(20):
            await asyncio.sleep(0)  # turns of the loop, in which the camera's driver is read (above)
        assert not microphone.reading.is_set()
        await asyncio.wait_for(track.recv(), 5)
        assert microphone.reading.is_set()
    finally:
        track.stop()
        await microphone.close()
