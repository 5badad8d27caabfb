"""The call button on a GPIO pin: debounced, short press vs. long press, gpiozero-style callbacks.

Debouncing is done here, not by the pin driver, because gpiozero's MockFactory ignores
``bounce_time`` and kernels differ: after any edge the pin must stay put for ``bounce_s`` before
the new state counts (a trailing-edge debounce, so chatter never counts twice and a tap shorter
than the chatter still ends released).

Example::

    >>> from gpiozero.pins.mock import MockFactory
    >>> factory = MockFactory()
    >>> button = GpioCallButton(17, long_press_s=2.0, pin_factory=factory)
    >>> button.when_pressed = lambda: print("start")     # runs on a background thread
    >>> # factory.pin(17).drive_low(); ...; factory.pin(17).drive_high()  -> "start"
    >>> button.close()
"""

from __future__ import annotations

import logging
import threading
import time

from .base import ButtonCallback
from .errors import DeviceUnavailable, DriverMissing

log = logging.getLogger(__name__)

BOUNCE_S = 0.05
# A customer holds the button for seconds (a long press is 2 s, speech mode's hold a little more);
# held for two minutes it is stuck or its wire is shorted, and the booth cannot be started by it.
STUCK_S = 120.0


def gpio_library_missing() -> DriverMissing:
    """gpiozero found no pin library at all: a software problem, not the wiring."""
    return DriverMissing("gpio", "lgpio", "Install python3-lgpio (the booth image does) and make the venv with "
                         "--system-site-packages so it sees it; the wiring is not the problem.")


class GpioCallButton:
    """A button between ``pin`` and ground (internal pull-up), as on the booth."""

    def __init__(self, pin: int, long_press_s: float = 2.0, bounce_s: float = BOUNCE_S, pin_factory=None,
                 stuck_s: float = STUCK_S) -> None:
        from gpiozero import DigitalInputDevice
        from gpiozero.exc import BadPinFactory, GPIOZeroError

        self.when_pressed: ButtonCallback = None
        self.when_long_pressed: ButtonCallback = None
        self.when_released: ButtonCallback = None
        self.long_press_s = long_press_s
        self.bounce_s = bounce_s
        self.stuck_s = stuck_s
        try:
            self._input = DigitalInputDevice(pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
        except BadPinFactory:
            raise gpio_library_missing() from None
        except (GPIOZeroError, OSError, RuntimeError) as exc:
            raise DeviceUnavailable("call button", f"GPIO{pin}", str(exc)) from None
        self._lock = threading.Lock()
        self._state_changed = threading.Condition(self._lock)
        self._pressed = False
        self._pressed_at = 0.0
        self._long_fired = False
        self._settle: threading.Timer | None = None
        self._long: threading.Timer | None = None
        self._input.when_activated = self._edge
        self._input.when_deactivated = self._edge

    @property
    def is_pressed(self) -> bool:
        return self._pressed

    @property
    def healthy(self) -> bool:
        try:
            self._input.is_active  # noqa: B018 -- the read itself is the check: a lost GPIO chip raises
        except Exception:
            return False
        with self._lock:
            return not (self._pressed and time.monotonic() - self._pressed_at > self.stuck_s)

    def wait_for_state(self, pressed: bool, timeout: float) -> bool:
        """Block until the debounced state is ``pressed``; False on timeout (tests, self-test)."""
        with self._state_changed:
            return self._state_changed.wait_for(lambda: self._pressed == pressed, timeout)

    def _edge(self) -> None:
        with self._lock:
            if self._settle is not None:
                self._settle.cancel()
            self._settle = threading.Timer(self.bounce_s, self._settled)
            self._settle.daemon = True
            self._settle.start()

    def _settled(self) -> None:
        try:
            active = bool(self._input.is_active)
        except Exception:  # the pin was closed under us
            return
        with self._lock:
            if active == self._pressed:
                return  # chatter that ended where it began: nothing happened
            self._pressed = active
            self._state_changed.notify_all()
            if active:
                self._pressed_at = time.monotonic()
                self._long_fired = False
                self._long = threading.Timer(self.long_press_s, self._held)
                self._long.daemon = True
                self._long.start()
                return
            if self._long is not None:
                self._long.cancel()
            short = not self._long_fired
        if short:
            self._fire(self.when_pressed, "pressed")
        self._fire(self.when_released, "released")

    def _held(self) -> None:
        with self._lock:
            if not self._pressed or self._long_fired:
                return
            self._long_fired = True
        self._fire(self.when_long_pressed, "long_pressed")

    @staticmethod
    def _fire(callback: ButtonCallback, what: str) -> None:
        log.debug("call button %s", what)
        if callback is not None:
            try:
                callback()
            except Exception:  # the button thread must survive a failing handler
                log.exception("call button handler for %s failed", what)

    def close(self) -> None:
        with self._lock:
            for timer in (self._settle, self._long):
                if timer is not None:
                    timer.cancel()
        self._input.close()


class NoButton:
    """For a booth without a button (touch screen only): callbacks that never fire.

    ``problem`` says why a configured button is missing (it failed to open): then it is not
    healthy, and the fleet page shows the button red while the booth works by touch.
    """

    def __init__(self, problem: str | None = None) -> None:
        self.when_pressed: ButtonCallback = None
        self.when_long_pressed: ButtonCallback = None
        self.when_released: ButtonCallback = None
        self.problem = problem

    @property
    def healthy(self) -> bool:
        return self.problem is None

    def close(self) -> None:
        return None
