"""The lead's statistics page: ``/stats`` (page), ``/api/stats`` (JSON), ``/api/stats.csv``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from videokiosk.clock import Clock

from .auth import require_role
from .roles import LEAD
from .stats import HubStats, to_csv


def parse_range(query: dict, today: date, default_days: int = 30) -> tuple[date, date]:
    """``?from=YYYY-MM-DD&to=YYYY-MM-DD``; the last ``default_days`` days when absent."""
    last = date.fromisoformat(query["to"]) if query.get("to") else today
    first = date.fromisoformat(query["from"]) if query.get("from") else last - timedelta(days=default_days - 1)
    if first > last or (last - first).days > 3660:
        raise ValueError("from must not be after to, and at most ten years apart")
    return first, last


APP_STATS = web.AppKey("stats", HubStats)
APP_STATS_CLOCK = web.AppKey("stats_clock", Clock)
STATS_PAGE = Path(__file__).parent / "console" / "stats.html"


def _lead_only(request: web.Request) -> None:
    require_role(request, request.app[APP_STATS]._db, LEAD)


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
