"""The customer's accessibility settings: speech, volume, contrast, text size, Leichte Sprache.

They belong to the session: chosen on any screen (the start screen too, before "start"), kept
until the wipe, then back to the defaults for the next person. Speech mode doubles every time
limit, and "Mehr Zeit" on "Sind Sie noch da?" doubles them again (up to :data:`MAX_TIME_FACTOR`).

Example::

    >>> a = Access()
    >>> a.update({"speech": True, "volume": 5})
    {'speech': True, 'volume': 5}
    >>> a.time_factor
    2
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .errors import InvalidMessage

VOLUME_STEPS = range(1, 6)
DEFAULT_VOLUME = 3
SPEECH_TIME_FACTOR = 2  # speech mode doubles every limit (listening takes longer than reading)
MORE_TIME_FACTOR = 2  # each "Mehr Zeit" doubles them again
MAX_TIME_FACTOR = 8  # ... but a booth nobody uses must still reset within a bounded time
EASY_LANGUAGE = "de-LS"  # Leichte Sprache: German only (kiosk_ui/i18n/easy/de.json)
FLAGS = ("speech", "contrast", "large_text", "easy")


@dataclass
class Access:
    speech: bool = False
    volume: int = DEFAULT_VOLUME
    contrast: bool = False
    large_text: bool = False
    #: Leichte Sprache: the German texts of consent, device check, waiting room and survey in easy language
    easy: bool = False
    more_time: int = 0  # how often "Mehr Zeit" was chosen

    def update(self, data: dict[str, Any]) -> dict[str, Any]:
        """Apply the keys present in ``data``; return what changed. Raises InvalidMessage."""
        changed: dict[str, Any] = {}
        for key, value in data.items():
            if key in FLAGS:
                if not isinstance(value, bool):
                    raise InvalidMessage(f"{key} must be true or false")
            elif key == "volume":
                if isinstance(value, bool) or value not in VOLUME_STEPS:
                    raise InvalidMessage(f"volume must be a whole number from {VOLUME_STEPS[0]} to {VOLUME_STEPS[-1]}")
            else:
                raise InvalidMessage(f"unknown accessibility setting {key!r}")
            if getattr(self, key) != value:
                setattr(self, key, value)
                changed[key] = value
        return changed

    def ask_more_time(self) -> None:
        self.more_time += 1

    @property
    def time_factor(self) -> int:
        factor = (SPEECH_TIME_FACTOR if self.speech else 1) * MORE_TIME_FACTOR ** self.more_time
        return min(MAX_TIME_FACTOR, factor)

    @property
    def gain(self) -> float:
        """Loudness of the speech for the chosen volume step (1: a fifth, 5: full)."""
        return self.volume / VOLUME_STEPS[-1]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
