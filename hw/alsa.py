"""Microphone and speaker through ALSA, with PyAV's ``alsa`` input and output.

Capture comes through aiortc's MediaPlayer (48 kHz, 20 ms frames). Playback writes to the ALSA
device with PyAV's ``alsa`` *output device*: the format is forced to ``alsa``, so whatever the
config says, audio can only ever go to a sound card, never into a file.

Example::

    mic, speaker = AlsaMicrophone("plughw:CARD=Device"), AlsaSpeaker("plughw:CARD=Device")
    pc.addTrack(mic.audio_track())
    await speaker.play(remote_audio_track)
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import os
import threading
import time

import av
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack

from .base import HotplugEvent
from .errors import DeviceUnavailable
from .microphone import SupervisedMicrophone
from .speaker import SpeakerBase

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"
# After a failed open, wait this long before trying the device again (not at every 20 ms frame).
REOPEN_AFTER_S = 1.0


def use_system_alsa_config() -> None:
    """Point PyAV's bundled alsa-lib at the system's ALSA config.

    PyAV wheels ship their own alsa-lib compiled with a build-time config path that does not exist
    on the booth, so "default" and "plughw:CARD=..." would be unknown PCMs. The variable is read by
    alsa-lib at open, so setting it for this process (if the operator has not) is enough.
    """
    if "ALSA_CONFIG_PATH" not in os.environ and os.path.exists(SYSTEM_ALSA_CONF):
        os.environ["ALSA_CONFIG_PATH"] = SYSTEM_ALSA_CONF


class AlsaMicrophone(SupervisedMicrophone):
    """ALSA capture; survives a USB sound card being unplugged and plugged back."""

    def _open_source(self) -> MediaStreamTrack:
        use_system_alsa_config()
        try:
            player = MediaPlayer(self.device, format="alsa", options={"sample_rate": str(SAMPLE_RATE), "channels": "1"})
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise DeviceUnavailable("microphone", f"ALSA {self.device!r}", str(exc)) from None
        if player.audio is None:
            raise DeviceUnavailable("microphone", f"ALSA {self.device!r}", "no audio stream")
        return player.audio


class AlsaSpeaker(SpeakerBase):
    """ALSA playback. Blocking writes run in a worker thread; the device paces them."""

    def __init__(self, device: str = "default", hotplug: HotplugSource | None = None) -> None:
        super().__init__(hotplug)
        self.device = device
        self._container = None
        self._stream = None
        self._resampler = None
        self._samples = 0
        self._next_attempt = 0.0
        # A cancelled play() leaves its worker thread writing; closing must wait for that write.
        self._io_lock = threading.Lock()

    def _on_hotplug(self, event: HotplugEvent) -> None:
        self._next_attempt = 0.0  # something changed: try the device at once, not after the pause
        super()._on_hotplug(event)

    def _open(self) -> None:
        now = time.monotonic()
        if now < self._next_attempt:
            raise DeviceUnavailable("speaker", f"ALSA {self.device!r}", "waiting to retry")
        use_system_alsa_config()
        try:
            container = av.open(self.device, mode="w", format="alsa")
            stream = container.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="stereo")
        except (av.FFmpegError, OSError, ValueError) as exc:
            self._next_attempt = now + REOPEN_AFTER_S
            raise DeviceUnavailable("speaker", f"ALSA {self.device!r}", str(exc)) from None
        self._container, self._stream = container, stream
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
        self._samples = 0

    async def _write(self, frame: av.AudioFrame) -> None:
        await asyncio.to_thread(self._write_blocking, frame)

    def _write_blocking(self, frame: av.AudioFrame) -> None:
        with self._io_lock:
            if self._container is None:
                return  # closed while this write waited
            self._write_locked(frame)

    def _write_locked(self, frame: av.AudioFrame) -> None:
        try:
            for out in self._resampler.resample(frame):
                out.pts = self._samples
                out.time_base = fractions.Fraction(1, SAMPLE_RATE)
                self._samples += out.samples
                for packet in self._stream.encode(out):
                    self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            self._next_attempt = time.monotonic() + REOPEN_AFTER_S
            raise DeviceUnavailable("speaker", f"ALSA {self.device!r}", str(exc)) from None

    def _close(self) -> None:
        with self._io_lock:
            container, self._container = self._container, None
            if container is not None:
                container.close()
