"""The speech path to the ear: a clip of samples played as a track, to the headset if one is
plugged in, else to the booth's speaker, at the customer's volume.

Speech is a track like any other for the speaker (:class:`hw.speaker.SpeakerBase`), so it goes
to the sound device only and is never written anywhere. Stopping speech ends its own track and
never touches another one (the call's audio).

Example::

    out = VoiceOutput(devices.speaker, headset=devices.headset)
    await out.say(samples, gain=0.6)    # returns at once; plays in the background
    out.silence()
"""

from __future__ import annotations

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .base import Speaker
from .pacing import Pacer
from .tone import FRAME_SAMPLES, SAMPLE_RATE, s16_frame


class ClipTrack(MediaStreamTrack):
    """Paced 20 ms frames of a fixed clip; ends after the clip (or at :meth:`stop`)."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self._samples = samples.astype(np.float32)
        self._sent = 0
        self._pacer = Pacer(FRAME_SAMPLES / SAMPLE_RATE)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live" or self._sent >= self._samples.size:
            self.stop()
            raise MediaStreamError
        await self._pacer.wait()
        chunk = self._samples[self._sent:self._sent + FRAME_SAMPLES]
        if chunk.size < FRAME_SAMPLES:
            chunk = np.pad(chunk, (0, FRAME_SAMPLES - chunk.size))
        frame = s16_frame(chunk, self._sent)
        self._sent += FRAME_SAMPLES
        return frame

    @property
    def playing(self) -> bool:
        return self.readyState == "live" and self._sent < self._samples.size


class VoiceOutput:
    """Plays one utterance at a time; a new one replaces the one still playing."""

    def __init__(self, speaker: Speaker, headset: Speaker | None = None) -> None:
        self.speaker = speaker
        self.headset = headset
        self._clip: ClipTrack | None = None

    def target(self) -> Speaker:
        """The headset when one is plugged in (it answers a probe), else the speaker."""
        probe = getattr(self.headset, "probe", None)
        if self.headset is not None and probe is not None and probe():
            return self.headset
        return self.speaker

    async def say(self, samples: np.ndarray, gain: float) -> ClipTrack:
        self.silence()
        self._clip = ClipTrack(np.clip(samples * gain, -1.0, 1.0))
        await self.target().play(self._clip)
        return self._clip

    def silence(self) -> None:
        """Stop our own speech only: ending the clip ends its playback; the call's track is untouched."""
        clip, self._clip = self._clip, None
        if clip is not None:
            clip.stop()

    @property
    def speaking(self) -> bool:
        return self._clip is not None and self._clip.playing
