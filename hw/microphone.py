"""What every microphone driver shares: 48 kHz tracks that survive a USB sound card's unplug.

A driver subclasses :class:`SupervisedMicrophone` and implements ``_open_source()`` (see
:mod:`hw.supervised`). ALSA names ("default", "plughw:CARD=USB") do not map to a device node, so
any sound card coming or going is a reason to check ours: on "remove" the device is reopened to
find out whether it was ours that went.

Example::

    class MyMicrophone(SupervisedMicrophone):
        def _open_source(self):
            return MyAudioTrack(self.device)

    track = MyMicrophone("default").audio_track()
"""

from __future__ import annotations

from aiortc.mediastreams import MediaStreamTrack

from .base import HotplugEvent, HotplugSource
from .supervised import SupervisedSource
from .switchable import AUDIO_PTIME, silence


class SupervisedMicrophone(SupervisedSource):
    kind = "audio"
    subsystem = "sound"
    role = "microphone"
    unplugged_hint = "check.microphone.unavailable"

    def __init__(self, device: str = "default", hotplug: HotplugSource | None = None) -> None:
        super().__init__(device, silence(), 1 / AUDIO_PTIME, hotplug)

    def audio_track(self, every_frame: bool = False) -> MediaStreamTrack:
        """A new live 48 kHz track of this microphone (silent while unplugged); stop it when done.

        ``every_frame``: frames are queued, never dropped, when the reader lags (a measurement)."""
        return self._new_track(every_frame=every_frame)

    def _matches(self, event: HotplugEvent) -> bool:
        return event.subsystem == self.subsystem

    def _on_hotplug(self, event: HotplugEvent) -> None:
        if self._closed or not self._matches(event):
            return
        if event.action == "remove" and self._source is not None:
            # Another card may have gone; reopen to find out whether ours is still there.
            self._drop_source()
            self._try_open()
            if self._source is None:
                self.unplugged()
            elif not self._tracks:
                self._drop_source()
            return
        super()._on_hotplug(event)
