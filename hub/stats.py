"""Anonymous per-day statistics and survey results for the office, and the lead's statistics page.

The numbers are counted *as things happen* into tables that hold nothing about a person, so they
survive the 14-day purge of the personal ``calls`` rows and are never derived from them:

- ``stats_daily``: per day and location, calls, walk-ins, appointments, ended calls and their
  summed seconds, calls graded good / fair / poor;
- ``stats_wait``: per day and location, how many waits fell into each bucket of
  :data:`WAIT_BUCKETS_S` (median and 90th percentile are estimated from it, so no single wait
  time is kept);
- ``stats_survey``: per day, location, question and answer, a count. No session id, no call id,
  no time finer than the day, and no row per response: answers cannot be joined to a call.

Roles live in ``user_roles`` (``lead`` may see the statistics).

Example::

    >>> from datetime import date
    >>> from hub.db import open_db
    >>> stats = HubStats(open_db(":memory:"))
    >>> stats.count_call(date(2026, 3, 2), "Musterstadt", "walk_in", waited_s=95)
    >>> stats.report(date(2026, 3, 1), date(2026, 3, 2))[0]["calls"]
    1
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils
from aiohttp import web

from videokiosk.clock import Clock

from .auth import current_session
from .sessions import end_sessions

log = logging.getLogger(__name__)

LEAD = "lead"
# Upper bounds in seconds; the last bucket is open. Fine where waits usually are.
WAIT_BUCKETS_S = (30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 7200)
OPEN_BUCKET = -1
SURVEY_QUESTIONS = {"rating": ("1", "2", "3", "4", "5"), "easy": ("yes", "no"), "again": ("yes", "no")}
DAILY_COUNTERS = ("calls", "walk_ins", "appointments", "calls_ended", "call_s_total",
                  "quality_good", "quality_fair", "quality_poor")
SCHEMA = """
CREATE TABLE IF NOT EXISTS stats_daily (
    day TEXT NOT NULL, location TEXT NOT NULL,
    calls INTEGER NOT NULL DEFAULT 0, walk_ins INTEGER NOT NULL DEFAULT 0,
    appointments INTEGER NOT NULL DEFAULT 0, calls_ended INTEGER NOT NULL DEFAULT 0,
    call_s_total INTEGER NOT NULL DEFAULT 0, quality_good INTEGER NOT NULL DEFAULT 0,
    quality_fair INTEGER NOT NULL DEFAULT 0, quality_poor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, location)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats_wait (
    day TEXT NOT NULL, location TEXT NOT NULL, bucket_s INTEGER NOT NULL,
    waits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, location, bucket_s)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stats_survey (
    day TEXT NOT NULL, location TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    responses INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, location, question, answer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_roles (
    username TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (username, role)
) WITHOUT ROWID;
"""
CSV_COLUMNS = (
    "day", "location", "calls", "walk_ins", "appointments", "wait_median_s", "wait_p90_s",
    "call_mean_s", "quality_good", "quality_fair", "quality_poor", "good_share",
    *(f"rating_{a}" for a in SURVEY_QUESTIONS["rating"]), "easy_yes", "easy_no", "again_yes", "again_no",
)


def ensure_schema(db: sqlite_utils.Database) -> None:
    db.conn.executescript(SCHEMA)


def grant_role(db: sqlite_utils.Database, username: str, role: str = LEAD) -> None:
    ensure_schema(db)
    with db.conn:
        if db.execute("INSERT OR IGNORE INTO user_roles (username, role) VALUES (?, ?)", [username, role]).rowcount:
            end_sessions(db, username)  # a new role takes effect at the next log-in, on every hub


def revoke_role(db: sqlite_utils.Database, username: str, role: str = LEAD) -> None:
    ensure_schema(db)
    with db.conn:
        if db.execute("DELETE FROM user_roles WHERE username = ? AND role = ?", [username, role]).rowcount:
            end_sessions(db, username)  # and a role taken away stops at once


def has_role(db: sqlite_utils.Database, username: str, role: str = LEAD) -> bool:
    return bool(db.execute("SELECT 1 FROM user_roles WHERE username = ? AND role = ?", [username, role]).fetchone())


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

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        ensure_schema(db)

    def _bump(self, day: date, location: str, **counts: int) -> None:
        cols = ", ".join(counts)
        sets = ", ".join(f"{c} = {c} + :{c}" for c in counts)
        vals = ", ".join(f":{c}" for c in counts)
        with self._db.conn:
            self._db.execute(
                f"INSERT INTO stats_daily (day, location, {cols}) VALUES (:day, :location, {vals}) "
                f"ON CONFLICT (day, location) DO UPDATE SET {sets}",
                {"day": day.isoformat(), "location": location, **counts},
            )

    def count_call(self, day: date, location: str, kind: str, waited_s: float) -> None:
        """A customer was admitted: one call, walk-in or appointment, and how long they waited."""
        self._bump(day, location, calls=1, walk_ins=int(kind != "appointment"), appointments=int(kind == "appointment"))
        with self._db.conn:
            self._db.execute(
                "INSERT INTO stats_wait (day, location, bucket_s, waits) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (day, location, bucket_s) DO UPDATE SET waits = waits + 1",
                [day.isoformat(), location, wait_bucket(max(0.0, waited_s))],
            )

    def count_call_end(self, day: date, location: str, duration_s: float, grade: str | None) -> None:
        counts = {"calls_ended": 1, "call_s_total": int(round(duration_s))}
        if grade in ("good", "fair", "poor"):
            counts[f"quality_{grade}"] = 1
        self._bump(day, location, **counts)

    def count_survey(self, day: date, location: str, answers: dict[str, Any]) -> None:
        """Count each given answer; anything not a known question and answer is ignored."""
        with self._db.conn:
            for question, answer in answers.items():
                text = ("yes" if answer else "no") if isinstance(answer, bool) else str(answer)
                if answer is None or text not in SURVEY_QUESTIONS.get(question, ()):
                    continue
                self._db.execute(
                    "INSERT INTO stats_survey (day, location, question, answer, responses) VALUES (?, ?, ?, ?, 1) "
                    "ON CONFLICT (day, location, question, answer) DO UPDATE SET responses = responses + 1",
                    [day.isoformat(), location, question, text],
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
        for r in self._db.query(f"SELECT * FROM stats_survey WHERE {where}", args):
            row(r["day"], r["location"])["survey"][f"{r['question']}_{r['answer']}"] += r["responses"]
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


@dataclass
class _OpenCall:
    location: str
    started: float
    grades: Counter


class StatsRecorder:
    """Listens to the hub's call events and counts them; keeps per-call state only in memory.

    Hub events: ``call_started``, ``quality``, ``call_ended``, ``survey``. The grade of a call is
    the one most of its quality reports had (ties go to the worse), as in :mod:`rtc.quality`.
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


def parse_range(query: dict, today: date, default_days: int = 30) -> tuple[date, date]:
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD``; the last ``default_days`` days when absent."""
    last = date.fromisoformat(query["to"]) if query.get("to") else today
    first = date.fromisoformat(query["from"]) if query.get("from") else last - timedelta(days=default_days - 1)
    if first > last or (last - first).days > 3660:
        raise ValueError("from must not be after to, and at most ten years apart")
    return first, last


# --- web: the lead's statistics page --------------------------------------------------------

APP_STATS = web.AppKey("stats", HubStats)
APP_STATS_CLOCK = web.AppKey("stats_clock", Clock)
STATS_PAGE = Path(__file__).parent / "console" / "stats.html"


def _lead_only(request: web.Request) -> None:
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text='{"error": "not_logged_in"}', content_type="application/json")
    if not has_role(request.app[APP_STATS]._db, session.username, LEAD):
        raise web.HTTPForbidden(text='{"error": "not_lead"}', content_type="application/json")


def _rows(request: web.Request) -> tuple[date, date, list[dict[str, Any]]]:
    _lead_only(request)
    try:
        first, last = parse_range(request.query, request.app[APP_STATS_CLOCK].now().date())
    except ValueError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"error": "range", "message": str(exc)}),
                                 content_type="application/json") from None
    location = request.query.get("location") or None
    return first, last, request.app[APP_STATS].report(first, last, location)


async def _stats_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATS_PAGE, headers={"Cache-Control": "no-store"})


async def _stats_json(request: web.Request) -> web.Response:
    first, last, rows = _rows(request)
    stats = request.app[APP_STATS]
    days = stats.report(first, last, request.query.get("location") or None, merge_locations=True)
    return web.json_response({"from": first.isoformat(), "to": last.isoformat(),
                              "locations": stats.locations(), "rows": rows, "days": days})


async def _stats_csv(request: web.Request) -> web.Response:
    first, last, rows = _rows(request)
    name = f"videokiosk-statistik-{first.isoformat()}-{last.isoformat()}.csv"
    return web.Response(text=to_csv(rows), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def add_stats_routes(app: web.Application, stats: HubStats, clock: Clock) -> None:
    """``/stats`` (page), ``/api/stats`` (JSON), ``/api/stats.csv``: for advisors with role ``lead``."""
    app[APP_STATS] = stats
    app[APP_STATS_CLOCK] = clock
    app.router.add_get("/stats", _stats_page)
    app.router.add_get("/api/stats", _stats_json)
    app.router.add_get("/api/stats.csv", _stats_csv)


# --- `videokiosk hub set-role` ------------------------------------------------------------------

def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("username", help="an advisor's user name")
    parser.add_argument("role", choices=[LEAD], help="lead: may see the statistics page (/stats)")
    parser.add_argument("--remove", action="store_true", help="take the role away instead")


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "config", None):
        print("videokiosk hub set-role: --config is required", file=sys.stderr)
        return 2
    from .app import HubParts
    from .config import load_hub_config
    from .errors import HubError

    try:
        parts = HubParts.open(load_hub_config(args.config))
    except HubError as exc:
        print(f"videokiosk hub set-role: {exc}", file=sys.stderr)
        return 2
    if not parts.db["users"].count_where("username = ?", [args.username]):
        print(f"videokiosk hub set-role: no advisor {args.username!r}; create one with `videokiosk hub add-user`",
              file=sys.stderr)
        return 2
    (revoke_role if args.remove else grant_role)(parts.db, args.username, args.role)
    print(f"advisor {args.username!r} {'no longer has' if args.remove else 'now has'} the role {args.role!r}")
    return 0
