"""How long personal rows live, and why their expiry says nothing about when they were written.

The one retention rule booth and hub both keep: the consent text promises that personal rows are
deleted after 14 days (:data:`MAX_RETENTION_DAYS`). Each side's config may set a shorter period,
never a longer one.

A row written on day D (UTC) expires at the start of day D + ``retention_days``: it is kept at
least ``retention_days - 1`` days and at most ``retention_days`` days (the hourly purge deletes it
within the hour after). Rounded to the day, ``expires_at`` cannot tell when a call took place or
ended, so it cannot be lined up with anything else that happened that day (a survey, a log line).

Example::

    >>> from datetime import datetime, timezone
    >>> expiry(datetime(2026, 3, 2, 17, 45, 12, 123456, tzinfo=timezone.utc), 14).isoformat()
    '2026-03-16T00:00:00+00:00'
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

MAX_RETENTION_DAYS = 14


def expiry(now: datetime, retention_days: int) -> datetime:
    """The start of the UTC day ``retention_days`` after ``now``'s day."""
    day = (now.astimezone(timezone.utc) + timedelta(days=retention_days)).date()
    return datetime.combine(day, time(), tzinfo=timezone.utc)
