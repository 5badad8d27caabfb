"""One speaker, several voices: the booth plays the advisor and an interpreter at once.

The booth has one speaker, and :class:`~hw.base.Speaker` plays one track. In a group call the booth
receives a track from the advisor and one from each further participant (appliance/peerlink.py).
:class:`AudioMixer` is one track made of them all: each input is resampled to 48 kHz mono s16 as
it arrives and buffered briefly; every 20 ms the mixer takes a frame's worth from each input and
sums them with clipping. An input that is late adds nothing to that frame (silence, not a stall).
Everything stays in memory; nothing is written anywhere.

:class:`MixingSpeaker` wraps the real speaker for the call handler: its ``play``/``stop`` set the
advisor's voice (the call's main input, replaced on a re-offer), ``add``/``discard`` the others.

Example::

    mixer = AudioMixer()
    mixer.add(advisor_track)
    mixer.add(interpreter_track)
    await speaker.play(mixer)             # hw Speaker: plays the sum
    mixer.discard(interpreter_track)      # the interpreter left; the advisor plays on
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from hw.base import Speaker

log = logging.getLogger("videokiosk.audiomix")

RATE = 48_000
FRAME = 960  # 20 ms
PRIME = 2 * FRAME  # an input plays once this much is buffered: rides out a little network jitter
MAX_BUFFERED = 10 * FRAME  # beyond 200 ms the oldest samples go: latency must not build up
# A burst (the network, or this loop, stalled and then caught up) leaves more buffered than PRIME,
# and since frames come in as fast as they are played, it would stay: every later word heard that
# much later (make bench measured the advisor's voice 210 ms mouth-to-ear, 2.3-2.8x Chromium's,
# its buffer near MAX_BUFFERED). More than PRIME after a take for this many frames in a row (200 ms:
# not a moment's jitter): the oldest go, down to PRIME, in one cut. A loaded booth stalls again and
# again (make bench at load 10: 100-160 ms still buffered when the drain took a frame per half
# second); one cut per stall is one audible glitch, where the stall itself already was one.
SETTLE_FRAMES = 10
SILENT_DBFS = -100.0


class _Input:
    """One voice: its reader task, its resampled samples waiting to be mixed, its last level."""

    def __init__(self) -> None:
        self.buffer = np.zeros(0, dtype=np.int16)
        self.primed = False
        self.level_dbfs = SILENT_DBFS
        self.loudest_dbfs = SILENT_DBFS
        self.frames = 0
        self.over = 0  # takes in a row that left more than PRIME buffered
        self.task: asyncio.Task | None = None

    def push(self, samples: np.ndarray) -> None:
        self.buffer = np.concatenate([self.buffer, samples])[-MAX_BUFFERED:]
        self.frames += 1
        rms = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0
        self.level_dbfs = 20 * math.log10(rms / 32768) if rms > 0 else SILENT_DBFS
        self.loudest_dbfs = max(self.loudest_dbfs, self.level_dbfs)
        self.primed = self.primed or self.buffer.size >= PRIME

    def take(self) -> np.ndarray | None:
        if not self.primed:
            return None
        if self.buffer.size < FRAME:
            self.primed = False  # ran dry: buffer a little again before playing on
        out, self.buffer = self.buffer[:FRAME], self.buffer[FRAME:]
        self.over = self.over + 1 if self.buffer.size > PRIME else 0
        if self.over >= SETTLE_FRAMES:
            self.buffer, self.over = self.buffer[-PRIME:], 0
        return out


class AudioMixer(MediaStreamTrack):
    """A 48 kHz mono track that is the clipped sum of its inputs, paced at 20 ms frames."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._inputs: dict[MediaStreamTrack, _Input] = {}
        self._sent = 0
        self._next_at: float | None = None

    @property
    def inputs(self) -> list[MediaStreamTrack]:
        return list(self._inputs)

    def levels(self) -> list[tuple[int, float]]:
        """Per input: frames received so far and the loudest frame's level (dBFS). For tests."""
        return [(i.frames, i.loudest_dbfs) for i in self._inputs.values()]

    def buffered_ms(self) -> list[float]:
        """Per input: how much of it waits to be played, in ms (``make bench``: where a voice's delay sits)."""
        return [1000 * i.buffer.size / RATE for i in self._inputs.values()]

    def add(self, track: MediaStreamTrack) -> None:
        if track in self._inputs:
            return
        entry = self._inputs[track] = _Input()
        entry.task = asyncio.ensure_future(self._read(track, entry))

    def discard(self, track: MediaStreamTrack) -> None:
        entry = self._inputs.pop(track, None)
        if entry is not None and entry.task is not None:
            entry.task.cancel()

    async def _read(self, track: MediaStreamTrack, entry: _Input) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        try:
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):
                    entry.push(out.to_ndarray().reshape(-1))
        except MediaStreamError:
            pass  # that voice ended (its peer connection closed)
        except av.FFmpegError as exc:
            log.warning("an audio input could not be resampled and is left out: %s", exc)
        if self._inputs.get(track) is entry:
            del self._inputs[track]

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._pace()
        mixed = np.zeros(FRAME, dtype=np.int32)
        for entry in list(self._inputs.values()):
            samples = entry.take()
            if samples is not None:
                mixed[: samples.size] += samples
        frame = av.AudioFrame.from_ndarray(np.clip(mixed, -32768, 32767).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame

    async def _pace(self) -> None:
        now = time.monotonic()
        if self._next_at is None or now - self._next_at > 0.1:
            self._next_at = now  # first frame, or nobody read for a while: start afresh, no burst
        wait = self._next_at - now
        self._next_at += FRAME / RATE
        if wait > 0:
            await asyncio.sleep(wait)

    def stop(self) -> None:
        for track in list(self._inputs):
            self.discard(track)
        super().stop()


class MixingSpeaker:
    """The call handler's speaker: plays the call's voice plus any further participants' voices.

    ``play(track)``/``stop()`` as :class:`~hw.base.Speaker` (the call's main voice, replaced on each
    re-offer); ``add(track)``/``discard(track)`` for the others. The device plays while any voice
    is there, and is released when none is.
    """

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker
        self.mixer = AudioMixer()
        self._main: MediaStreamTrack | None = None
        self._playing = False

    async def play(self, track: MediaStreamTrack) -> None:
        if self._main is not None:
            self.mixer.discard(self._main)
        self._main = track
        await self.add(track)

    async def stop(self) -> None:
        main, self._main = self._main, None
        if main is not None:
            await self.discard(main)

    async def add(self, track: MediaStreamTrack) -> None:
        self.mixer.add(track)
        if not self._playing:
            self._playing = True
            await self.speaker.play(self.mixer)

    async def discard(self, track: MediaStreamTrack) -> None:
        self.mixer.discard(track)
        if not self.mixer.inputs and self._playing:
            self._playing = False
            await self.speaker.stop()

    def __getattr__(self, name: str):
        # Everything else a Speaker has (healthy, on_change, play_test_tone, close) is the device's.
        return getattr(self.speaker, name)
