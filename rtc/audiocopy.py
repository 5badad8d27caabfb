"""Each consumer of the microphone gets its own copy of every audio frame.

The microphone hands all its tracks the same frame objects (hw's ``Relay``), and each track
restamps the shared frame's ``pts`` in place. With two peer connections (the call with the advisor
and a link to an interpreter, appliance/peerlink.py) one encoder's thread would read a ``pts`` the
other track has just rewritten, and a mute that zeroes the shared samples would silence every
consumer at once. :class:`OwnAudioTrack` copies each frame on the event loop, the moment it is
received, and stamps the copy with its own running sample count: nothing it hands out is shared.

Example::

    >>> import asyncio, fractions
    >>> from hw.tone import ToneTrack
    >>> async def demo():
    ...     track = OwnAudioTrack(ToneTrack(440, -20), muted=lambda: True)
    ...     frame = await track.recv()
    ...     return frame.pts, int(abs(frame.to_ndarray()).max())
    >>> asyncio.run(demo())
    (0, 0)
"""

from __future__ import annotations

import fractions
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack


def copy_audio_frame(frame: av.AudioFrame, pts: int, silent: bool = False) -> av.AudioFrame:
    """A new frame with ``frame``'s samples (or silence), format and rate, stamped ``pts``."""
    samples = frame.to_ndarray()
    copy = av.AudioFrame.from_ndarray(np.zeros_like(samples) if silent else samples.copy(),
                                      format=frame.format.name, layout=frame.layout.name)
    copy.sample_rate = frame.sample_rate
    copy.pts = pts
    copy.time_base = fractions.Fraction(1, frame.sample_rate)
    return copy


class OwnAudioTrack(MediaStreamTrack):
    """``source``'s audio as private copies with rising timestamps; silence while ``muted()``."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack, muted: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self._source = source
        self._muted = muted
        self._samples = 0

    async def recv(self) -> av.AudioFrame:
        frame = await self._source.recv()
        copy = copy_audio_frame(frame, self._samples, silent=self._muted())
        self._samples += frame.samples
        return copy

    def stop(self) -> None:
        super().stop()
        self._source.stop()
