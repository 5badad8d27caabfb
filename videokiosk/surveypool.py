"""Why a survey answer cannot be tied to a call: answers are released only in batches.

The rule (booth and hub alike):

- answers are counted per **week** (its Monday) and location, never per day or hour;
- they are held in memory and written to the database only when at least :data:`RELEASE_AT`
  surveys of the same week and location have come in, all of them at once; so every change to a
  stored count mixes at least five people's answers, and no file, snapshot or timestamp can say
  which answer was whose. A remainder below five is never written (it is lost at a restart or when
  the week is over: the price of the promise);
- nothing logs the survey's moment or whether it was answered (appliance/session.py, and the hub
  link when it is down: appliance/hublink.py), and no log line pairs a call id with a session id
  (hub/service.py).

Example::

    >>> from datetime import date
    >>> pool = SurveyPool()
    >>> [pool.add(date(2026, 3, 4), "Musterstadt", {"rating": 5})[1] for _ in range(4)]
    [[], [], [], []]
    >>> week, batch = pool.add(date(2026, 3, 5), "Musterstadt", {"rating": 4})
    >>> week.isoformat(), len(batch)
    ('2026-03-02', 5)
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import date, timedelta
from typing import Any

RELEASE_AT = 5  # surveys of one week and location written together, never fewer


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


class SurveyPool:
    """Holds answers in memory until :data:`RELEASE_AT` of one week and location exist."""

    def __init__(self, release_at: int = RELEASE_AT) -> None:
        self.release_at = release_at
        self._held: dict[tuple[date, str], list[dict[str, Any]]] = {}

    def add(self, day: date, location: str, answers: dict[str, Any]) -> tuple[date, list[dict[str, Any]]]:
        """Hold ``answers``; returns the week and the batch to write now (empty: not yet)."""
        week = week_of(day)
        for key in [key for key in self._held if key[0] != week]:
            del self._held[key]  # an earlier week's remainder: fewer than five, never released
        held = self._held.setdefault((week, location), [])
        held.append(dict(answers))
        if len(held) < self.release_at:
            return week, []
        batch = list(held)
        held.clear()
        return week, batch


def tally(batch: list[dict[str, Any]], known: dict[str, tuple[str, ...]] | None = None) -> Counter:
    """(question, answer as text) -> how many, over a released batch; unanswered (and, with
    ``known``, unknown) questions and answers are not counted."""
    counts: Counter = Counter()
    for answers in batch:
        for question, answer in answers.items():
            text = ("yes" if answer else "no") if isinstance(answer, bool) else str(answer)
            if answer is None or (known is not None and text not in known.get(question, ())):
                continue
            counts[(question, text)] += 1
    return counts


def rename_day_to_week(conn: sqlite3.Connection, table: str) -> None:
    """A survey table from before the weekly rule: its ``day`` column becomes ``week``."""
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    if "day" in columns and "week" not in columns:
        with conn:
            conn.execute(f"ALTER TABLE {table} RENAME COLUMN day TO week")
