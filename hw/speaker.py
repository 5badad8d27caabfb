"""What every speaker shares: consume a track in the background, play a test tone, report health.

A driver subclasses :class:`SpeakerBase` and implements ``_open()``, ``_write(frame)`` and
``_close()``. Playback goes to the sound device only; no driver writes a file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .aio import cancel_and_wait
from .base import HealthListener, HotplugEvent, HotplugSource
from .errors import DeviceUnavailable
from .health import Health
from .tone import ToneTrack

log = logging.getLogger(__name__)

HINT_UNAVAILABLE = "check.speaker.unavailable"
HINT_RECOVERED = "check.speaker.recovered"
TEST_TONE_DBFS = -12.0


class SpeakerBase:
    def __init__(self, hotplug: HotplugSource | None = None) -> None:
        self._health = Health("speaker", healthy=True)
        self._task: asyncio.Task | None = None
        self._opened = False
        self._unsubscribe = hotplug.subscribe(self._on_hotplug) if hotplug is not None else None

    # --- what drivers implement -------------------------------------------------------------
    def _open(self) -> None: ...

    async def _write(self, frame: av.AudioFrame) -> None:
        raise NotImplementedError

    def _close(self) -> None: ...

    # --- the Speaker protocol ---------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        return self._health.healthy

    def on_change(self, listener: HealthListener) -> Callable[[], None]:
        return self._health.subscribe(listener)

    async def play(self, track: MediaStreamTrack) -> None:
        """Play ``track`` in the background until :meth:`stop` or the track ends."""
        await self.stop()
        self._task = asyncio.create_task(self._consume(track), name="speaker-play")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def play_test_tone(self, seconds: float, frequency: float = 1000.0) -> None:
        """Play a tone now (interrupting other playback) and return when it has been played."""
        await self.stop()
        await self._consume(ToneTrack(frequency, TEST_TONE_DBFS, seconds=seconds))

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.stop()
        self._shut()

    def probe(self) -> bool:
        """Open and close the device to learn whether it is there (while nothing plays)."""
        if self._opened:
            return self._health.healthy
        try:
            self._open()
        except DeviceUnavailable as exc:
            self._health.set(False, str(exc), HINT_UNAVAILABLE)
            return False
        self._opened = True
        self._shut()
        self._health.set(True, "speaker available", HINT_RECOVERED)
        return True

    # --- internals --------------------------------------------------------------------------
    def _on_hotplug(self, event: HotplugEvent) -> None:
        # ALSA names do not map to device nodes, so any sound card coming or going is a reason to
        # look. While playing, the next write tells; otherwise a probe does.
        if event.subsystem == "sound" and not self._opened:
            self.probe()

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                try:
                    if not self._opened:
                        self._open()
                        self._opened = True
                    await self._write(frame)
                except DeviceUnavailable as exc:
                    # Keep draining the track (the call goes on) and retry the device as it comes.
                    self._shut()
                    self._health.set(False, str(exc), HINT_UNAVAILABLE)
                    continue
                self._health.set(True, "speaker playing", HINT_RECOVERED)
        finally:
            # Release the sound device between calls: another program (or the next probe) may
            # need it, and an open device with nothing to play only underruns.
            self._shut()

    def _shut(self) -> None:
        if self._opened:
            self._opened = False
            try:
                self._close()
            except Exception:  # closing a vanished device may fail; it is gone either way
                log.debug("speaker close failed", exc_info=True)
