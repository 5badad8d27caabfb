"""Grades of call quality: one direction by the thresholds (rtc/thresholds.py), a sample by the
worse direction, a whole call by the grade most of its samples had (a tie goes to the worse).

====== =================================================================
good   video bitrate >= GOOD_KBPS **and** packet loss < GOOD_LOSS_PCT
poor   video bitrate < POOR_KBPS **or** packet loss > POOR_LOSS_PCT
fair   everything in between
====== =================================================================
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from .thresholds import GOOD_KBPS, GOOD_LOSS_PCT, POOR_KBPS, POOR_LOSS_PCT

GRADES = ("good", "fair", "poor")
_RANK = {g: i for i, g in enumerate(GRADES)}


def grade(video_kbps: float, loss_pct: float) -> str:
    """Grade one direction of a call by the thresholds above.

    >>> grade(800, 1), grade(800, 6), grade(300, 0), grade(2000, 12)
    ('good', 'fair', 'poor', 'poor')
    """
    if video_kbps < POOR_KBPS or loss_pct > POOR_LOSS_PCT:
        return "poor"
    if video_kbps >= GOOD_KBPS and loss_pct < GOOD_LOSS_PCT:
        return "good"
    return "fair"


def worse(*grades: str | None) -> str | None:
    known = [g for g in grades if g]
    return max(known, key=_RANK.__getitem__) if known else None


@dataclass(frozen=True)
class QualitySample:
    """One measurement, reduced from two successive stats reports."""

    send_kbps: float = 0.0
    recv_kbps: float = 0.0
    send_estimate_kbps: float | None = None
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    send_loss_pct: float = 0.0
    recv_loss_pct: float = 0.0
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    grade: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def call_grade(samples: Any) -> str | None:
    """The grade most samples had; a tie goes to the worse grade.

    >>> call_grade([QualitySample(grade="good")] * 3 + [QualitySample(grade="poor")])
    'good'
    """
    counts = Counter(s.grade for s in samples if s.grade)
    if not counts:
        return None
    return max(counts, key=lambda g: (counts[g], _RANK[g]))
