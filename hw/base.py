"""One small Protocol per device. Real drivers and fakes both satisfy them; config picks one.

Callers depend on these names only. Every video/audio track is an aiortc ``MediaStreamTrack``
(``kind`` "video" yields ``av.VideoFrame`` or, for H.264 passthrough, ``av.Packet``; ``kind``
"audio" yields 48 kHz ``av.AudioFrame``).

Example::

    >>> from hw.synthetic import SyntheticCamera
    >>> isinstance(SyntheticCamera(), Camera)
    True
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from aiortc.mediastreams import MediaStreamTrack


@dataclass(frozen=True)
class HealthChange:
    """A device became unhealthy (unplugged, stopped delivering) or recovered.

    ``hint`` is a stable translation key the booth UI turns into text; ``detail`` is English for
    logs and technicians (never personal data).
    """

    device: str  # "camera" | "microphone" | "speaker"
    healthy: bool
    detail: str
    hint: str


HealthListener = Callable[[HealthChange], None]


@runtime_checkable
class Camera(Protocol):
    """A camera. ``video_track()`` returns a live track that survives unplug/replug.

    Passthrough is opt-in: ``video_track(encoded=True)`` yields the camera's own encoded
    ``av.Packet`` objects when ``passthrough_codec`` is set, and the caller must then make the peer
    connection negotiate that codec (``transceiver.setCodecPreferences``). Without it the track
    yields ``av.VideoFrame`` (decoded if need be), which works under any codec.
    """

    healthy: bool
    #: "video/H264" when the track yields pre-encoded ``av.Packet`` (negotiate H.264 then), else None.
    #: Fixed when the camera is built, so a peer connection can be set up before the device opens.
    passthrough_codec: str | None

    def video_track(self, encoded: bool = False) -> MediaStreamTrack:
        """A live track of frames, or of the camera's encoded packets with ``encoded=True``."""

    def on_change(self, listener: HealthListener) -> Callable[[], None]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Microphone(Protocol):
    healthy: bool

    def audio_track(self, every_frame: bool = False) -> MediaStreamTrack: ...

    def on_change(self, listener: HealthListener) -> Callable[[], None]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Speaker(Protocol):
    """Plays audio to the sound device only; nothing is ever written to a file."""

    healthy: bool

    async def play(self, track: MediaStreamTrack) -> None:
        """Start consuming ``track`` to the device in the background until :meth:`stop`."""

    async def stop(self) -> None: ...

    async def play_test_tone(self, seconds: float, frequency: float = 1000.0) -> None:
        """Play a sine tone and return when it has been played."""

    def on_change(self, listener: HealthListener) -> Callable[[], None]: ...

    async def close(self) -> None: ...


ButtonCallback = Callable[[], None] | None


@runtime_checkable
class CallButton(Protocol):
    """The booth's one big button, gpiozero-style.

    Callbacks run on a background thread (as in gpiozero): hand them to asyncio with
    ``loop.call_soon_threadsafe``. A short press fires ``when_pressed`` once on release; a press
    held for ``long_press_s`` fires ``when_long_pressed`` (and no ``when_pressed``).
    """

    when_pressed: ButtonCallback
    when_long_pressed: ButtonCallback
    when_released: ButtonCallback

    @property
    def healthy(self) -> bool:
        """False when the pin cannot be read or the button has been held far longer than any
        person holds it (stuck or shorted): the fleet page shows it red."""
        ...

    def close(self) -> None: ...


class LedPattern(str, enum.Enum):
    """What the LED shows; one pattern per booth state family."""

    IDLE = "idle"  # slow breathing: the booth is ready
    WAITING = "waiting"  # blinking: in the waiting room
    CALL = "call"  # steady: in a call
    FAULT = "fault"  # fast blink: hardware or hub fault
    OFF = "off"


@runtime_checkable
class StatusLed(Protocol):
    pattern: LedPattern

    @property
    def healthy(self) -> bool:
        """False when the last change of pattern could not be written to the pin."""
        ...

    def show(self, pattern: LedPattern | str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class HotplugEvent:
    """A device node appeared or vanished."""

    action: str  # "add" | "remove"
    subsystem: str  # "video4linux" | "sound"
    device_node: str | None = None  # e.g. "/dev/video0", "/dev/snd/pcmC1D0c"
    sys_name: str = ""  # e.g. "video0", "card1"


HotplugListener = Callable[[HotplugEvent], None]


@runtime_checkable
class HotplugSource(Protocol):
    """Delivers :class:`HotplugEvent` to listeners on the asyncio loop thread."""

    def subscribe(self, listener: HotplugListener) -> Callable[[], None]:
        """Register ``listener``; returns a function that unregisters it."""

    async def start(self) -> None: ...

    def close(self) -> None: ...
