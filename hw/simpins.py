"""Simulated GPIO pins for a booth without real ones (``button = "fake"``: the demo, a touch-only
booth, the tests), which can run for months.

gpiozero's ``MockPin`` records every pin change in ``states`` for test assertions, forever; the
LED's idle "breathing" changes the pin about 25 times a second, so a booth left idle would grow by
about 10 MB an hour. These pins keep only the most recent changes: enough for a test to look at
what the LED just did, bounded for a booth that never restarts.

Example::

    >>> factory = simulated_pin_factory()
    >>> pin = factory.pin(27)
    >>> pin.function = "output"
    >>> for n in range(10_000):
    ...     pin.state = n % 2
    >>> len(pin.states) <= 2 * RECENT_STATES
    True
"""

from __future__ import annotations

from gpiozero.pins.mock import MockFactory, MockPWMPin

# Over a second of breathing: what a test or a technician looking at the simulated LED needs.
RECENT_STATES = 64


class RecentStates(list):
    """A list that forgets its oldest entries beyond ``RECENT_STATES`` (slicing still works)."""

    def append(self, item) -> None:
        super().append(item)
        if len(self) > 2 * RECENT_STATES:  # trim in batches: one del per RECENT_STATES changes
            del self[:-RECENT_STATES]


class BoundedMockPWMPin(MockPWMPin):
    """gpiozero's PWM mock pin with a bounded change history."""

    def clear_states(self) -> None:
        super().clear_states()
        self.states = RecentStates(self.states)


def simulated_pin_factory() -> MockFactory:
    return MockFactory(pin_class=BoundedMockPWMPin)
