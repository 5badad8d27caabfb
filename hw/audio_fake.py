"""Fake microphone and speaker for tests and the demo, linked by a fake room.

The :class:`CountingSpeaker` writes nothing anywhere: it counts samples and measures level. What it
plays is heard, attenuated, by a :class:`ToneMicrophone` in the same :class:`FakeRoom`, so the
self-test's "speaker plays a tone, microphone hears it" check works (and can fail) without hardware.

Example::

    >>> room = FakeRoom()
    >>> speaker, mic = CountingSpeaker(room), ToneMicrophone(room=room)
    >>> # await speaker.play_test_tone(0.5); mic.audio_track() now carries that 1 kHz tone too
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from .base import HotplugEvent, HotplugSource
from .clicks import ClickingTrack
from .errors import DeviceUnavailable
from .levels import SILENCE_DBFS, rms_dbfs, samples_of
from .microphone import SupervisedMicrophone
from .speaker import SpeakerBase
from .tone import ToneTrack

# A quiet room: the microphone's noise floor.
NOISE_DBFS = -66.0


class FakeRoom:
    """Carries sound from speaker to microphone with ``echo_db`` attenuation, plus a noise floor."""

    def __init__(self, echo_db: float = -10.0, noise_dbfs: float = NOISE_DBFS, seed: int = 7) -> None:
        self.echo_gain = 10 ** (echo_db / 20)
        self.noise_rms = 10 ** (noise_dbfs / 20)
        self._air: collections.deque[np.ndarray] = collections.deque(maxlen=50)
        self._buffered = 0
        self._rng = np.random.default_rng(seed)

    def emit(self, samples: np.ndarray) -> None:
        """The speaker put these float samples into the air."""
        self._air.append(samples * self.echo_gain)
        self._buffered += samples.size

    def hear(self, start: int, count: int) -> np.ndarray:
        """What a microphone picks up for ``count`` samples: echo of the speaker plus noise."""
        out = self._rng.normal(0.0, self.noise_rms, count).astype(np.float32)
        filled = 0
        while filled < count and self._air:
            chunk = self._air[0]
            take = min(count - filled, chunk.size)
            out[filled : filled + take] += chunk[:take]
            filled += take
            if take == chunk.size:
                self._air.popleft()
            else:
                self._air[0] = chunk[take:]
        return out


class CountingSpeaker(SpeakerBase):
    """Consumes audio, counts samples and measures level; writes nothing to any file."""

    def __init__(self, room: FakeRoom | None = None, hotplug: HotplugSource | None = None,
                 present: bool = True) -> None:
        self.room = room
        self.present = present  # False: a socket with nothing plugged in (the headset)
        super().__init__(hotplug)
        self.samples_played = 0
        self.last_level_dbfs = SILENCE_DBFS
        # The level of each recent frame by its sample offset (the last 30 s), for loudest_since().
        self._levels: collections.deque[tuple[int, float]] = collections.deque(maxlen=1500)
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._ears: list[Callable[[np.ndarray, float], None]] = []

    def listen(self, ear: Callable[[np.ndarray, float], None]) -> Callable[[], None]:
        """Hear every block as it is played: ``ear(samples, wall-clock time of its first sample)``
        (``make bench`` finds the advisor's clicks here). Returns the function that stops it."""
        self._ears.append(ear)
        return lambda: self._ears.remove(ear) if ear in self._ears else None

    async def wait_played(self, samples: int) -> None:
        """Return once at least ``samples`` samples have been played (wrap in a timeout)."""
        if self.samples_played >= samples:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((samples, future))
        await future

    def loudest_since(self, sample: int) -> float:
        """The loudest 20 ms frame (dBFS) played from sample offset ``sample`` on."""
        return max((level for at, level in self._levels if at >= sample), default=SILENCE_DBFS)

    def _on_hotplug(self, event: HotplugEvent) -> None:
        # The fake "card" follows the fake udev events, like a USB sound card.
        if event.subsystem == "sound":
            self.present = event.action == "add"
        super()._on_hotplug(event)

    def _open(self) -> None:
        if not self.present:
            raise DeviceUnavailable("speaker", "ALSA 'default'", "no such device")

    async def _write(self, frame: av.AudioFrame) -> None:
        self._open()  # a card pulled mid-playback fails the next write, as ALSA does
        samples = samples_of(frame)
        for ear in self._ears:
            ear(samples, time.time())
        self.last_level_dbfs = rms_dbfs(samples)
        self._levels.append((self.samples_played, self.last_level_dbfs))
        self.samples_played += samples.size
        if self.room is not None:
            self.room.emit(samples)
        for waiter in [w for w in self._waiters if w[0] <= self.samples_played]:
            self._waiters.remove(waiter)
            if not waiter[1].done():
                waiter[1].set_result(None)


class ToneMicrophone(SupervisedMicrophone):
    """A microphone that "hears" a steady tone (``level_dbfs=None``: no tone) plus its room.

    ``clicks=True`` adds a click on every beat of the wall clock (hw/clicks.py): ``make bench``'s
    mouth-to-ear latency. Like a USB sound card it follows fake hot-plug events of the "sound"
    subsystem: a "remove" silences every track and marks it unhealthy, an "add" brings the tone
    back on the same tracks.
    """

    def __init__(
        self,
        frequency: float = 440.0,
        level_dbfs: float | None = -30.0,
        room: FakeRoom | None = None,
        hotplug: HotplugSource | None = None,
        device: str = "default",
        clicks: bool = False,
    ) -> None:
        self.frequency, self.level_dbfs, self.room = frequency, level_dbfs, room
        self.clicks = clicks
        self.present = True
        super().__init__(device, hotplug)

    def _on_hotplug(self, event: HotplugEvent) -> None:
        if self._matches(event):
            self.present = event.action == "add"
        super()._on_hotplug(event)

    def _open_source(self) -> MediaStreamTrack:
        if not self.present:
            raise DeviceUnavailable("microphone", f"ALSA {self.device!r}", "no such device")
        extra = self.room.hear if self.room is not None else None
        tone = ToneTrack(self.frequency, self.level_dbfs, extra=extra)
        return ClickingTrack(tone) if self.clicks else tone
