"""Builds the booth's devices from the hardware settings: config picks, constructors receive.

``settings`` is any object with the attributes of ``appliance.config.HardwareSection`` (hw imports
nothing of ours). Real drivers are imported only when configured, so a dev machine never needs
picamera2 or lgpio.

Example::

    >>> from types import SimpleNamespace as NS
    >>> s = NS(camera="fake", camera_device="/dev/video0", width=320, height=240, fps=25,
    ...        audio="fake", audio_capture="default", audio_playback="default",
    ...        button="fake", button_pin=17, led_pin=27, long_press_s=2.0, hotplug="fake")
    >>> devices = build_devices(s)
    >>> devices.led.show("idle")
    >>> # await devices.start(); ...; await devices.close()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .base import Camera, CallButton, HealthListener, HotplugSource, Microphone, Speaker, StatusLed
from .errors import HardwareError, UnsupportedSetting


@dataclass
class Devices:
    camera: Camera
    microphone: Microphone
    speaker: Speaker
    button: CallButton
    led: StatusLed
    hotplug: HotplugSource | None
    #: gpiozero MockFactory behind the fake button/LED (tests and the demo drive its pins), else None
    pin_factory: Any = None
    button_pin: int = 17
    #: What could not be opened and was left out (the booth runs touch-only without its button)
    degraded: list[str] = field(default_factory=list)
    #: a headset socket (speech mode's private ear); None when the booth has none
    headset: Speaker | None = None
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)

    async def start(self) -> None:
        """Start watching hot-plug events (needs the running loop)."""
        if self.hotplug is not None:
            await self.hotplug.start()

    def on_change(self, listener: HealthListener) -> Callable[[], None]:
        """Hear every camera/microphone/speaker health change (unplug, recovery)."""
        offs = [dev.on_change(listener) for dev in (self.camera, self.microphone, self.speaker)]

        def unsubscribe() -> None:
            for off in offs:
                off()

        self._unsubscribe.append(unsubscribe)
        return unsubscribe

    @property
    def healthy(self) -> bool:
        return self.camera.healthy and self.microphone.healthy and self.speaker.healthy

    async def close(self) -> None:
        for off in self._unsubscribe:
            off()
        await self.speaker.close()
        if self.headset is not None:
            await self.headset.close()
        await self.microphone.close()
        await self.camera.close()
        self.button.close()
        self.led.close()
        if self.hotplug is not None:
            self.hotplug.close()


def build_hotplug(kind: str) -> HotplugSource | None:
    if kind == "fake":
        from .hotplug import FakeHotplug

        return FakeHotplug()
    if kind == "udev":
        from .hotplug import UdevHotplug

        return UdevHotplug()
    if kind == "none":
        return None
    raise UnsupportedSetting("hotplug", kind, "fake, udev, none")


def build_camera(s: Any, hotplug: HotplugSource | None) -> Camera:
    args = dict(device=s.camera_device, width=s.width, height=s.height, fps=s.fps, hotplug=hotplug)
    if s.camera == "fake":
        from .synthetic import SyntheticCamera

        return SyntheticCamera(**args)
    if s.camera == "v4l2":
        from .v4l2 import V4l2Camera

        return V4l2Camera(**args)
    if s.camera == "picamera2":
        from .picamera import PiCamera

        return PiCamera(**args)
    raise UnsupportedSetting("camera", s.camera, "fake, picamera2, v4l2")


def build_audio(s: Any, hotplug: HotplugSource | None) -> tuple[Microphone, Speaker]:
    if s.audio == "fake":
        from .audio_fake import CountingSpeaker, FakeRoom, ToneMicrophone

        room = FakeRoom()
        return ToneMicrophone(room=room, hotplug=hotplug), CountingSpeaker(room, hotplug=hotplug)
    if s.audio == "alsa":
        from .alsa import AlsaMicrophone, AlsaSpeaker

        return AlsaMicrophone(s.audio_capture, hotplug=hotplug), AlsaSpeaker(s.audio_playback, hotplug=hotplug)
    raise UnsupportedSetting("audio", s.audio, "fake, alsa")


def build_headset(s: Any) -> Speaker | None:
    """The headset socket, if configured. The fake has nothing plugged in until a test says so."""
    device = getattr(s, "headset_playback", "")
    if not device:
        return None
    if s.audio == "fake":
        from .audio_fake import CountingSpeaker

        return CountingSpeaker(present=False)
    from .alsa import AlsaSpeaker

    return AlsaSpeaker(device)


def build_button_and_led(s: Any, pin_factory: Any) -> tuple[CallButton, StatusLed, Any, list[str]]:
    """The button and LED, and what failed: a booth without its button still works by touch, so a
    GPIO problem degrades the booth (reported in ``degraded``), it never stops it."""
    from .button import GpioCallButton, NoButton
    from .led import GpioStatusLed, NoLed

    if s.button not in ("fake", "gpio", "none"):
        raise UnsupportedSetting("button", s.button, "fake, gpio, none")
    if s.button == "fake" and pin_factory is None:
        from .simpins import simulated_pin_factory

        pin_factory = simulated_pin_factory()
    if s.button == "none":
        return NoButton(), NoLed(), pin_factory, []
    degraded: list[str] = []
    try:
        button: CallButton = GpioCallButton(s.button_pin, long_press_s=s.long_press_s, pin_factory=pin_factory)
    except HardwareError as exc:
        degraded.append(f"{exc} The booth works touch-only until this is fixed.")
        button = NoButton(problem=degraded[-1])
    try:
        led: StatusLed = GpioStatusLed(s.led_pin, pin_factory=pin_factory) if s.led_pin is not None else NoLed()
    except HardwareError as exc:
        degraded.append(str(exc))
        led = NoLed(problem=degraded[-1])
    return button, led, pin_factory, degraded


def build_devices(settings: Any, *, pin_factory: Any = None) -> Devices:
    """Every device the settings name; ``pin_factory`` overrides gpiozero's (tests)."""
    hotplug = build_hotplug(settings.hotplug)
    camera = build_camera(settings, hotplug)
    microphone, speaker = build_audio(settings, hotplug)
    button, led, factory, degraded = build_button_and_led(settings, pin_factory)
    return Devices(camera, microphone, speaker, button, led, hotplug, factory, settings.button_pin, degraded,
                   headset=build_headset(settings))
