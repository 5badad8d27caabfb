"""Counts the hub's call events into the anonymous statistics (:class:`hub.stats.HubStats`) as
they happen; per-call state stays in memory only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from videokiosk.clock import Clock

from .stats import HubStats


@dataclass
class _OpenCall:
    location: str
    started: float
    grades: Counter


class StatsRecorder:
    """Listens to the hub's call events and counts them; keeps per-call state only in memory.

    Hub events: ``call_started``, ``quality``, ``call_ended``, ``survey``. The grade of a call is
    the one most of its quality reports had (ties go to the worse), as in :mod:`rtc.grading`.
    """

    def __init__(self, stats: HubStats, clock: Clock) -> None:
        self.stats = stats
        self._clock = clock
        self._open: dict[str, _OpenCall] = {}

    def _today(self) -> date:
        return self._clock.now().date()

    def call_started(self, call_id: str, location: str, kind: str, waited_s: float) -> None:
        self._open[call_id] = _OpenCall(location, self._clock.monotonic(), Counter())
        self.stats.count_call(self._today(), location, kind, waited_s)

    def quality(self, call_id: str, grade: str | None, **_: Any) -> None:
        call = self._open.get(call_id)
        if call is not None and grade:
            call.grades[grade] += 1

    def call_ended(self, call_id: str, reason: str = "ended") -> None:
        call = self._open.pop(call_id, None)
        if call is None:
            return
        rank = {"good": 0, "fair": 1, "poor": 2}
        grade = max(call.grades, key=lambda g: (call.grades[g], rank[g])) if call.grades else None
        self.stats.count_call_end(self._today(), call.location, self._clock.monotonic() - call.started, grade)

    def survey(self, location: str, answers: dict[str, Any]) -> None:
        self.stats.count_survey(self._today(), location, answers)
