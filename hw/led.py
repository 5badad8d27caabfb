"""The status LED: one pattern per booth state, driven by gpiozero in its own background thread.

Example::

    >>> from gpiozero.pins.mock import MockFactory, MockPWMPin
    >>> led = GpioStatusLed(27, pin_factory=MockFactory(pin_class=MockPWMPin))
    >>> led.show("waiting")
    >>> led.pattern
    <LedPattern.WAITING: 'waiting'>
    >>> led.close()
"""

from __future__ import annotations

import logging

from .base import LedPattern
from .button import gpio_library_missing
from .errors import DeviceUnavailable, UnsupportedSetting

# (on, off) seconds for blinking patterns; (fade_in, fade_out) for breathing.
BREATHE_S = (1.5, 1.5)
BLINK_S = (0.5, 0.5)
FAST_BLINK_S = (0.1, 0.1)

log = logging.getLogger(__name__)


def as_pattern(pattern: LedPattern | str) -> LedPattern:
    try:
        return LedPattern(pattern)
    except ValueError:
        raise UnsupportedSetting("led pattern", pattern, ", ".join(p.value for p in LedPattern)) from None


class GpioStatusLed:
    """A PWM LED on ``pin``; falls back to blinking where the pin cannot do PWM."""

    def __init__(self, pin: int, pin_factory=None) -> None:
        from gpiozero import LED, PWMLED
        from gpiozero.exc import BadPinFactory, GPIOZeroError, PinPWMUnsupported

        self.pattern = LedPattern.OFF
        self._written = True  # the last change of pattern reached the pin
        try:
            try:
                self._led = PWMLED(pin, pin_factory=pin_factory)
                self.pwm = True
            except PinPWMUnsupported:
                self._led = LED(pin, pin_factory=pin_factory)
                self.pwm = False
        except BadPinFactory:
            raise gpio_library_missing() from None
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            raise DeviceUnavailable("status LED", f"GPIO{pin}", str(exc)) from None

    def show(self, pattern: LedPattern | str) -> None:
        from gpiozero.exc import GPIOZeroError

        pattern = as_pattern(pattern)
        self.pattern = pattern
        try:
            self._drive(pattern)
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            # The LED only informs: a pin that fails must not stop the journey that changes it.
            if self._written:
                log.warning("status LED cannot be driven (%s): the fleet page shows it", type(exc).__name__)
            self._written = False
        else:
            self._written = True

    @property
    def healthy(self) -> bool:
        # Blinking and breathing write the pin from gpiozero's own thread, where a failure is not
        # ours to catch: reading the pin back finds a chip that went away meanwhile.
        try:
            self._led.value  # noqa: B018 -- the read itself is the check
        except Exception:
            return False
        return self._written

    def _drive(self, pattern: LedPattern) -> None:
        led = self._led
        if pattern is LedPattern.IDLE:
            if self.pwm:
                led.pulse(fade_in_time=BREATHE_S[0], fade_out_time=BREATHE_S[1])
            else:
                led.blink(on_time=0.2, off_time=2.8)
        elif pattern is LedPattern.WAITING:
            led.blink(on_time=BLINK_S[0], off_time=BLINK_S[1])
        elif pattern is LedPattern.FAULT:
            led.blink(on_time=FAST_BLINK_S[0], off_time=FAST_BLINK_S[1])
        elif pattern is LedPattern.CALL:
            led.on()
        else:
            led.off()

    @property
    def value(self) -> float:
        """Current brightness 0..1 (what the pin is doing right now)."""
        return float(self._led.value)

    def close(self) -> None:
        self._led.close()


class NoLed:
    """For a booth without an LED: remembers the pattern, lights nothing. ``problem`` says why a
    configured LED is missing (it failed to open); then it is not healthy."""

    def __init__(self, problem: str | None = None) -> None:
        self.pattern = LedPattern.OFF
        self.problem = problem
        self.healthy = problem is None

    def show(self, pattern: LedPattern | str) -> None:
        self.pattern = as_pattern(pattern)

    def close(self) -> None:
        return None
