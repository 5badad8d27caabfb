"""Anonymous per-day statistics and survey results for the office, and the lead's statistics page.

The numbers are counted *as things happen* into tables that hold nothing about a person, so they
survive the 14-day purge of the personal ``calls`` rows and are never derived from them:

- ``stats_daily``: per day and location, calls, walk-ins, appointments, ended calls and their
  summed seconds, calls graded good / fair / poor;
- ``stats_wait``: per day and location, how many waits fell into each bucket of
  :data:`WAIT_BUCKETS_S` (median and 90th percentile are estimated from it, so no single wait
  time is kept);
- ``stats_survey``: per week, location, question and answer, a count, written only in batches of
  at least five surveys (videokiosk/surveypool.py). No session id, no call id, no time finer than
  the week, and no row per response: answers cannot be joined to a call. The statistics show a
  week's survey counts on its Monday.

Who may see them: hub/roles.py; the page and its API: hub/stats_web.py; the counting as calls
happen: hub/stats_recorder.py.

Example::

    >>> from datetime import date
    >>> from hub.storage import open_database
    >>> stats = HubStats(open_database(":memory:"))
    >>> stats.count_call(date(2026, 3, 2), "Musterstadt", "walk_in", waited_s=95)
    >>> stats.report(date(2026, 3, 1), date(2026, 3, 2))[0]["calls"]
    1
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from datetime import date
from typing import Any

from .storage import Database
from videokiosk.surveypool import SurveyPool, tally, week_of

log = logging.getLogger(__name__)

# Upper bounds in seconds; the last bucket is open. Fine where waits usually are.
WAIT_BUCKETS_S = (30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 7200)
OPEN_BUCKET = -1
SURVEY_QUESTIONS = {"rating": ("1", "2", "3", "4", "5"), "easy": ("yes", "no"), "again": ("yes", "no")}
DAILY_COUNTERS = ("calls", "walk_ins", "appointments", "calls_ended", "call_s_total",
                  "quality_good", "quality_fair", "quality_poor")
CSV_COLUMNS = (
    "day", "location", "calls", "walk_ins", "appointments", "wait_median_s", "wait_p90_s",
    "call_mean_s", "quality_good", "quality_fair", "quality_poor", "good_share",
    *(f"rating_{a}" for a in SURVEY_QUESTIONS["rating"]), "easy_yes", "easy_no", "again_yes", "again_no",
)


def wait_bucket(waited_s: float) -> int:
    return next((b for b in WAIT_BUCKETS_S if waited_s <= b), OPEN_BUCKET)


def percentile(buckets: dict[int, int], q: float) -> float | None:
    """Estimate a percentile from bucket counts, linear within the bucket it falls into.

    >>> percentile({60: 2, 120: 2}, 0.5)
    60.0
    """
    total = sum(buckets.values())
    if total == 0:
        return None
    want, seen, lower = q * total, 0, 0
    for bound in (*WAIT_BUCKETS_S, OPEN_BUCKET):
        n = buckets.get(bound, 0)
        if n and seen + n >= want:
            if bound == OPEN_BUCKET:
                return float(lower)  # beyond the last bound: say "at least"
            return round(lower + (bound - lower) * (want - seen) / n, 1)
        seen += n
        lower = bound if bound != OPEN_BUCKET else lower
    return float(lower)


class HubStats:
    """Counts into the anonymous tables and reads them back as per-day, per-location rows."""

    def __init__(self, db: Database, pool: SurveyPool | None = None) -> None:
        self._db = db
        self._pool = pool or SurveyPool()

    def _bump(self, day: date, location: str, **counts: int) -> None:
        cols = ", ".join(counts)
        # The old value by the table's name: a bare column there is ambiguous on PostgreSQL (storage/base.py).
        sets = ", ".join(f"{c} = stats_daily.{c} + excluded.{c}" for c in counts)
        vals = ", ".join(f":{c}" for c in counts)
        with self._db.transaction():
            self._db.execute(
                f"INSERT INTO stats_daily (day, location, {cols}) VALUES (:day, :location, {vals}) "
                f"ON CONFLICT (day, location) DO UPDATE SET {sets}",
                {"day": day.isoformat(), "location": location, **counts},
            )

    def count_call(self, day: date, location: str, kind: str, waited_s: float) -> None:
        """A customer was admitted: one call, walk-in or appointment, and how long they waited."""
        self._bump(day, location, calls=1, walk_ins=int(kind != "appointment"), appointments=int(kind == "appointment"))
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO stats_wait (day, location, bucket_s, waits) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (day, location, bucket_s) DO UPDATE SET waits = stats_wait.waits + 1",
                [day.isoformat(), location, wait_bucket(max(0.0, waited_s))],
            )

    def count_call_end(self, day: date, location: str, duration_s: float, grade: str | None) -> None:
        counts = {"calls_ended": 1, "call_s_total": int(round(duration_s))}
        if grade in ("good", "fair", "poor"):
            counts[f"quality_{grade}"] = 1
        self._bump(day, location, **counts)

    def count_survey(self, day: date, location: str, answers: dict[str, Any]) -> None:
        """Count each given answer, once the pool releases a batch of its week (never alone);
        anything not a known question and answer is ignored."""
        week, batch = self._pool.add(day, location, answers)
        with self._db.transaction():
            for (question, text), n in tally(batch, SURVEY_QUESTIONS).items():
                self._db.execute(
                    "INSERT INTO stats_survey (week, location, question, answer, responses) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (week, location, question, answer) DO UPDATE SET responses = stats_survey.responses + excluded.responses",
                    [week.isoformat(), location, question, text, n],
                )

    # --- reading --------------------------------------------------------------------------------

    def locations(self) -> list[str]:
        rows = self._db.execute("SELECT DISTINCT location FROM stats_daily UNION SELECT DISTINCT location FROM stats_survey")
        return sorted(r[0] for r in rows)

    def report(self, first: date, last: date, location: str | None = None, *,
               merge_locations: bool = False) -> list[dict[str, Any]]:
        """One row per day and location between ``first`` and ``last`` (inclusive) with any data.

        ``merge_locations``: one row per day over all (or the chosen) locations, location ``""``.
        """
        where = "day BETWEEN ? AND ?" + (" AND location = ?" if location else "")
        args = [first.isoformat(), last.isoformat(), *([location] if location else [])]
        rows: dict[tuple[str, str], dict[str, Any]] = {}

        def row(day: str, loc: str) -> dict[str, Any]:
            loc = "" if merge_locations else loc
            if (day, loc) not in rows:
                rows[(day, loc)] = {"day": day, "location": loc, **{c: 0 for c in DAILY_COUNTERS},
                                    "waits": {}, "survey": Counter()}
            return rows[(day, loc)]

        for r in self._db.query(f"SELECT * FROM stats_daily WHERE {where}", args):
            target = row(r["day"], r["location"])
            for c in DAILY_COUNTERS:
                target[c] += r[c]
        for r in self._db.query(f"SELECT * FROM stats_wait WHERE {where}", args):
            waits = row(r["day"], r["location"])["waits"]
            waits[r["bucket_s"]] = waits.get(r["bucket_s"], 0) + r["waits"]
        for r in self._db.query(f"SELECT * FROM stats_survey WHERE {where.replace('day', 'week')}",
                                [week_of(first).isoformat(), *args[1:]]):
            row(r["week"], r["location"])["survey"][f"{r['question']}_{r['answer']}"] += r["responses"]
        return [_finish(rows[key]) for key in sorted(rows)]


def _finish(raw: dict[str, Any]) -> dict[str, Any]:
    graded = raw["quality_good"] + raw["quality_fair"] + raw["quality_poor"]
    out = {
        "day": raw["day"], "location": raw["location"],
        "calls": raw["calls"], "walk_ins": raw["walk_ins"], "appointments": raw["appointments"],
        "wait_median_s": percentile(raw["waits"], 0.5), "wait_p90_s": percentile(raw["waits"], 0.9),
        "call_mean_s": round(raw["call_s_total"] / raw["calls_ended"], 1) if raw["calls_ended"] else None,
        "quality_good": raw["quality_good"], "quality_fair": raw["quality_fair"], "quality_poor": raw["quality_poor"],
        "good_share": round(raw["quality_good"] / graded, 3) if graded else None,
    }
    survey = raw["survey"]
    for question, answers in SURVEY_QUESTIONS.items():
        for answer in answers:
            out[f"{'rating' if question == 'rating' else question}_{answer}"] = survey.get(f"{question}_{answer}", 0)
    return out


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if r.get(k) is None else r[k] for k in CSV_COLUMNS})
    return buffer.getvalue()
