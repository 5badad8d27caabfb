"""Clicks on the wall clock's beat, and finding them again where the sound comes out.

A click is a short full-scale burst at every multiple of :data:`PERIOD_S` of the wall clock. Where
the sound is played (the booth's speaker path, a browser's WebAudio), :func:`onsets` finds the
bursts; the time since the last beat is the mouth-to-ear latency (it must stay under one period).
``make bench`` mixes clicks into the fake microphone (:class:`ClickingTrack`) and into the
advisor's browser microphone (bench/stamp.js, from the numbers here).

Example::

    >>> block = np.zeros(960, np.float32)
    >>> add_clicks(block, first_sample_s=9.99, sample_rate=48_000)   # a beat at 10.0 s
    >>> onsets(block)
    [480]
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from .levels import samples_of
from .tone import s16_frame

PERIOD_S = 0.5
CLICK_S = 0.002
LEVEL = 0.9  # far above a -20 dBFS tone (0.14 peak) and the fake room's echo of a click (0.28)
THRESHOLD = 0.5  # an onset: the first sample this loud after at least QUIET_S below it
QUIET_S = 0.1


def add_clicks(samples: np.ndarray, first_sample_s: float, sample_rate: int) -> None:
    """Add the clicks that fall into ``samples`` (mono floats), whose first sample is heard at
    wall-clock ``first_sample_s``, in place."""
    n = samples.size
    end_s = first_sample_s + n / sample_rate
    beat = math.ceil(first_sample_s / PERIOD_S - 1e-9) * PERIOD_S
    # A click that began in the block before may still be sounding.
    beat_before = beat - PERIOD_S
    for start_s in (beat_before, beat):
        first = round((start_s - first_sample_s) * sample_rate)
        last = first + round(CLICK_S * sample_rate)
        if last <= 0 or first >= n or start_s >= end_s:
            continue
        samples[max(0, first) : min(n, last)] += LEVEL
    np.clip(samples, -1.0, 1.0, out=samples)


def onsets(samples: np.ndarray, sample_rate: int = 48_000, quiet_before: int | None = None) -> list[int]:
    """Sample indices where a click begins; ``quiet_before``: quiet samples right before the block
    (None: silence)."""
    quiet_needed = round(QUIET_S * sample_rate)
    found, gap_start = [], -(quiet_needed if quiet_before is None else quiet_before)
    for index in np.flatnonzero(np.abs(samples) >= THRESHOLD):
        if index - gap_start >= quiet_needed:
            found.append(int(index))
        gap_start = index
    return found


class OnsetFinder:
    """:func:`onsets` over a stream of blocks: wall-clock times at which clicks are heard."""

    def __init__(self, sample_rate: int = 48_000) -> None:
        self.sample_rate = sample_rate
        self._quiet: int | None = None
        self.heard: list[float] = []

    def feed(self, samples: np.ndarray, first_sample_s: float) -> None:
        found = onsets(samples, self.sample_rate, self._quiet)
        self.heard += [first_sample_s + index / self.sample_rate for index in found]
        loud = np.flatnonzero(np.abs(samples) >= THRESHOLD)
        self._quiet = samples.size - 1 - int(loud[-1]) if loud.size else (self._quiet or 0) + samples.size


def latency_s(heard_s: float) -> float:
    """Seconds from the last beat to a click heard at wall-clock ``heard_s``."""
    return heard_s % PERIOD_S


class ClickingTrack(MediaStreamTrack):
    """Audio of ``source`` with clicks on the beat, as if the room clicked while it was recorded.

    A frame handed over at wall-clock ``t`` holds the sound of the frame's duration before ``t``.
    """

    kind = "audio"

    def __init__(self, source: MediaStreamTrack, now: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._source = source
        self._now = now

    async def recv(self) -> av.AudioFrame:
        frame = await self._source.recv()
        samples = samples_of(frame).copy()
        add_clicks(samples, self._now() - samples.size / frame.sample_rate, frame.sample_rate)
        return s16_frame(samples, frame.pts)

    def stop(self) -> None:
        super().stop()
        self._source.stop()
