"""Call button (debounce, short vs. long press) and status LED on gpiozero's MockFactory pins."""

from __future__ import annotations

import threading

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from hw.base import CallButton, LedPattern, StatusLed
from hw.button import GpioCallButton
from hw.led import GpioStatusLed
from hw.errors import UnsupportedSetting

from .conftest import FailingPin, real_gpiochip, skip_with_reason

LONG_S = 0.3  # gpiozero-style hold timing needs real time: keep it tiny


class Recorder:
    """Counts callbacks and lets a test wait for one (they arrive on the button's thread)."""

    def __init__(self, button) -> None:
        self.counts = {"pressed": 0, "long_pressed": 0, "released": 0}
        self._events = {name: threading.Event() for name in self.counts}
        for name in self.counts:
            setattr(button, f"when_{name}", self._hook(name))

    def _hook(self, name):
        def fire():
            self.counts[name] += 1
            self._events[name].set()

        return fire

    def wait(self, name: str, timeout: float = 5.0) -> bool:
        return self._events[name].wait(timeout)


@pytest.fixture
def factory():
    f = MockFactory(pin_class=MockPWMPin)
    yield f
    f.reset()


@pytest.fixture
def button(factory):
    b = GpioCallButton(17, long_press_s=LONG_S, pin_factory=factory)
    yield b
    b.close()


def test_button_is_a_call_button(button):
    assert isinstance(button, CallButton)


def press(button, pin) -> None:
    """A human press: down, held until the debounce accepted it, up."""
    pin.drive_low()
    assert button.wait_for_state(True, 5)
    pin.drive_high()


def test_short_press_fires_when_pressed_once(factory, button):
    rec = Recorder(button)
    press(button, factory.pin(17))
    assert rec.wait("released")
    assert rec.counts == {"pressed": 1, "long_pressed": 0, "released": 1}


def test_long_press_fires_when_long_pressed_not_when_pressed(factory, button):
    rec = Recorder(button)
    pin = factory.pin(17)
    pin.drive_low()
    assert rec.wait("long_pressed")
    pin.drive_high()
    assert rec.wait("released")
    assert rec.counts == {"pressed": 0, "long_pressed": 1, "released": 1}


def test_bouncing_press_counts_once(factory, button):
    rec = Recorder(button)
    pin = factory.pin(17)
    for _ in range(6):  # contact chatter on the way down
        pin.drive_low()
        pin.drive_high()
    pin.drive_low()
    assert button.wait_for_state(True, 5)
    for _ in range(4):  # and on the way up
        pin.drive_high()
        pin.drive_low()
    pin.drive_high()
    assert rec.wait("released")
    assert rec.counts == {"pressed": 1, "long_pressed": 0, "released": 1}


def test_chatter_ending_released_is_no_press(factory, button):
    rec = Recorder(button)
    pin = factory.pin(17)
    pin.drive_low()
    pin.drive_high()
    # Nothing may fire; to prove it, a real press afterwards is the first and only one seen.
    press(button, pin)
    assert rec.wait("released")
    assert rec.counts["pressed"] == 1


def test_failing_handler_does_not_kill_the_button(factory, button):
    rec = Recorder(button)
    button.when_pressed = lambda: 1 / 0
    press(button, factory.pin(17))
    assert rec.wait("released")


def test_real_gpio_button_and_led():
    if not real_gpiochip():
        skip_with_reason("no /dev/gpiochip* on this machine: real GPIO button/LED not exercised")
    b, led = GpioCallButton(17), GpioStatusLed(27)
    assert isinstance(b, CallButton) and isinstance(led, StatusLed)
    assert not b.is_pressed  # pulled up, nobody pressing during a test run
    led.show("call")
    assert led.value == 1.0
    led.close()
    b.close()


@pytest.fixture
def led(factory):
    led = GpioStatusLed(27, pin_factory=factory)
    yield led
    led.close()


def test_led_is_a_status_led(led):
    assert isinstance(led, StatusLed)


def test_led_patterns_drive_the_pin(factory, led):
    pin = factory.pin(27)
    led.show("call")
    assert led.pattern is LedPattern.CALL and pin.state == 1
    led.show(LedPattern.OFF)
    assert pin.state == 0
    for pattern in ("idle", "waiting", "fault"):
        led.show(pattern)
        assert led.pattern.value == pattern
        assert led._led._blink_thread is not None  # gpiozero animates it in the background


class NotifyingPin(MockPWMPin):
    """A mock PWM pin that lets a test wait for its next state changes instead of sleeping."""

    def __init__(self, factory, info) -> None:
        super().__init__(factory, info)
        self.changed = threading.Condition()

    def _change_state(self, value):
        with self.changed:
            result = super()._change_state(value)
            self.changed.notify_all()
        return result

    def wait_for_changes(self, count: int, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.states) >= count, timeout)


def test_fault_blinks_faster_than_waiting():
    factory = MockFactory(pin_class=NotifyingPin)
    led = GpioStatusLed(27, pin_factory=factory)
    pin = factory.pin(27)

    def period(pattern: str) -> float:
        led.show(pattern)
        with pin.changed:
            pin.clear_states()
        assert pin.wait_for_changes(5)
        # PinState.timestamp is the time since the previous change: the on/off durations.
        return sum(state.timestamp for state in pin.states[2:5]) / 3  # [1] is cut short by the clear

    try:
        fault, waiting = period("fault"), period("waiting")
    finally:
        led.close()
        factory.reset()
    assert fault < waiting / 2, (fault, waiting)


def test_unknown_pattern_is_a_clear_error(led):
    with pytest.raises(UnsupportedSetting, match="idle, waiting, call, fault, off"):
        led.show("disco")


def test_idle_breathes_through_intermediate_brightness():
    factory = MockFactory(pin_class=NotifyingPin)
    led = GpioStatusLed(27, pin_factory=factory)
    pin = factory.pin(27)
    try:
        led.show("idle")
        assert pin.wait_for_changes(10)
        assert any(0 < state.state < 1 for state in pin.states)  # a fade, not a blink
    finally:
        led.close()
        factory.reset()


# --- health: what the fleet page shows for the button and the LED -------------------------------


def test_a_readable_released_button_is_healthy(button):
    assert button.healthy


def test_a_button_held_far_longer_than_a_person_does_is_stuck(factory):
    button = GpioCallButton(17, long_press_s=LONG_S, pin_factory=factory, stuck_s=0.4)
    try:
        rec = Recorder(button)
        factory.pin(17).drive_low()
        assert rec.wait("long_pressed")
        assert button.healthy  # a long press is a person, not a fault
        # The fleet agent reads the property when it reports: wait for it to turn, with a limit.
        assert until(lambda: not button.healthy, timeout=5)
        factory.pin(17).drive_high()
        assert button.wait_for_state(False, 5) and button.healthy
    finally:
        button.close()


def until(condition, timeout: float) -> bool:
    """True as soon as ``condition()`` holds; False after ``timeout`` seconds."""
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not condition():
            if done.wait(0.02):
                return condition()
        return True
    finally:
        deadline.cancel()


def test_a_lost_gpio_chip_makes_button_and_led_unhealthy_without_stopping_the_journey():
    factory = MockFactory(pin_class=FailingPin)
    button = GpioCallButton(17, long_press_s=LONG_S, pin_factory=factory)
    led = GpioStatusLed(27, pin_factory=factory)
    try:
        led.show("call")
        assert button.healthy and led.healthy
        FailingPin.broken = True
        assert not button.healthy
        led.show("off")  # must not raise into the session that changes the pattern
        assert not led.healthy and led.pattern is LedPattern.OFF
        FailingPin.broken = False
        led.show("call")
        assert led.healthy  # back by itself once the pin works again
    finally:
        FailingPin.broken = False
        button.close()
        led.close()
        factory.reset()


def test_a_configured_button_that_failed_to_open_is_reported_not_absent():
    from types import SimpleNamespace

    from hw.devices import build_button_and_led

    class NoPins(MockFactory):
        def pin(self, spec, **kwargs):
            raise OSError("GPIO busy")

    settings = SimpleNamespace(button="gpio", button_pin=17, long_press_s=2.0, led_pin=27)
    button, led, _, degraded = build_button_and_led(settings, NoPins())
    assert len(degraded) == 2
    assert not button.healthy and not led.healthy
    none = SimpleNamespace(button="none", button_pin=17, long_press_s=2.0, led_pin=27)
    button, led, _, degraded = build_button_and_led(none, None)
    assert button.healthy and led.healthy and degraded == []
