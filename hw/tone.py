"""A sine tone as a live 48 kHz mono audio track: the fake microphone's voice and the test tone.

Example::

    >>> track = ToneTrack(frequency=1000, level_dbfs=-12, seconds=0.5)
    >>> # await track.recv() -> av.AudioFrame of 960 samples; after 0.5 s it raises MediaStreamError
"""

from __future__ import annotations

import fractions
import math
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .pacing import Pacer

SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960  # 20 ms, what Opus sends


def tone_samples(frequency: float, level_dbfs: float, start: int, count: int) -> np.ndarray:
    """Float samples of a sine with RMS ``level_dbfs``, continuing at sample index ``start``."""
    amplitude = math.sqrt(2) * 10 ** (level_dbfs / 20)
    t = (start + np.arange(count)) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def s16_frame(samples: np.ndarray, pts: int) -> av.AudioFrame:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
    return frame


class ToneTrack(MediaStreamTrack):
    """Paced 20 ms frames of a tone (``level_dbfs=None``: silence), plus whatever ``extra(start,
    count)`` adds (the fake room's echo, noise). Ends after ``seconds`` if given."""

    kind = "audio"

    def __init__(
        self,
        frequency: float = 440.0,
        level_dbfs: float | None = -20.0,
        seconds: float | None = None,
        extra: Callable[[int, int], np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.frequency, self.level_dbfs = frequency, level_dbfs
        self._limit = None if seconds is None else int(seconds * SAMPLE_RATE)
        self._extra = extra
        self._sent = 0
        self._pacer = Pacer(FRAME_SAMPLES / SAMPLE_RATE)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live" or (self._limit is not None and self._sent >= self._limit):
            self.stop()
            raise MediaStreamError
        await self._pacer.wait()
        if self.level_dbfs is None:
            samples = np.zeros(FRAME_SAMPLES, dtype=np.float32)
        else:
            samples = tone_samples(self.frequency, self.level_dbfs, self._sent, FRAME_SAMPLES)
        if self._extra is not None:
            samples = samples + self._extra(self._sent, FRAME_SAMPLES)
        frame = s16_frame(samples, self._sent)
        self._sent += FRAME_SAMPLES
        return frame
