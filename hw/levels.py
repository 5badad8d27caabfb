"""Sound levels: RMS in dBFS for the microphone meter, and the level of one frequency (the test
tone) so the speaker->microphone check is not fooled by ambient noise.

Example::

    >>> import numpy as np
    >>> round(rms_dbfs(np.full(480, 16384, dtype=np.int16)))
    -6
"""

from __future__ import annotations

import math

import av
import numpy as np

SILENCE_DBFS = -100.0


def samples_of(frame: av.AudioFrame) -> np.ndarray:
    """Mono float samples in -1..1 from any PyAV audio frame (s16 or float, packed or planar)."""
    data = frame.to_ndarray()
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    elif data.dtype == np.int32:
        data = data.astype(np.float32) / 2147483648.0
    else:
        data = data.astype(np.float32)
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        return data.mean(axis=0) if data.shape[0] > 1 else data[0]
    return data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level in dBFS (0 is full scale); int16 or float -1..1 input."""
    if samples.dtype == np.int16:
        samples = samples.astype(np.float32) / 32768.0
    if samples.size == 0:
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(SILENCE_DBFS, 20 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


def tone_dbfs(samples: np.ndarray, frequency: float, sample_rate: int = 48_000) -> float:
    """Level of one frequency (Goertzel), in dBFS of an equivalent full-scale sine."""
    n = samples.size
    if n == 0:
        return SILENCE_DBFS
    k = round(n * frequency / sample_rate)
    # One DFT bin (what Goertzel computes), vectorised: the amplitude of the tone in the window.
    phase = np.exp(-2j * np.pi * k * np.arange(n) / n)
    amplitude = 2 * abs(np.dot(samples.astype(np.float64), phase)) / n
    rms = amplitude / math.sqrt(2)
    return max(SILENCE_DBFS, 20 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


def to_meter(dbfs: float, floor: float = -60.0) -> float:
    """Map dBFS to 0..1 for a level meter (``floor`` and below is 0)."""
    return min(1.0, max(0.0, (dbfs - floor) / -floor))
