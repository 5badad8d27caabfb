"""The hub's Prometheus endpoint (``GET /metrics``), on its own registry, for technicians.

Metric names and labels are a contract (dashboards and alerts rely on them; a test pins them):

=========================================== ======= ======================================
``videokiosk_hub_booths``                   gauge   booths by ``state`` (online, waiting,
                                                    in_call, fault, offline)
``videokiosk_hub_advisors_online``          gauge   advisor consoles connected
``videokiosk_hub_customers_waiting``        gauge   customers in the waiting room
``videokiosk_hub_calls_active``             gauge   calls in progress
``videokiosk_hub_wait_seconds``             histo   waiting room -> admit
``videokiosk_hub_calls_started_total``      counter admitted customers, by ``kind``
``videokiosk_hub_calls_ended_total``        counter ended calls, by ``reason``
``videokiosk_hub_call_quality_total``       counter quality reports from booths, by ``grade``
``videokiosk_hub_signalling_errors_total``  counter rejected messages, by ``side`` and ``code``
``videokiosk_fleet_booth_*``                gauge   each booth's health figures, by ``booth``
                                                    (hub/fleet.py; Grafana: docs/grafana-fleet.json)
=========================================== ======= ======================================

Nothing here carries a name, number, address or session id. ``/metrics`` answers loopback
clients only (a request that came through a proxy is refused), like the booth's endpoint.

Example::

    metrics = HubMetrics()
    hub = Hub(config, state, db, clock, listeners=[metrics])
    app.router.add_get("/metrics", metrics_handler)   # see add_metrics_route
"""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from .stats import WAIT_BUCKETS_S

BOOTH_STATES = ("online", "waiting", "in_call", "fault", "offline")
APP_METRICS = web.AppKey("hub_metrics", "HubMetrics")


class HubMetrics:
    """The hub's metrics; also a listener for :meth:`hub.service.Hub.emit` events."""

    def __init__(self, fleet: Any = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Per-booth figures from the booths' health reports (hub/fleet.py), refreshed at scrape time.
        self.fleet = fleet
        if fleet is not None:
            r.register(fleet)
        self.booths = Gauge("videokiosk_hub_booths", "Booths by state", ["state"], registry=r)
        self.advisors = Gauge("videokiosk_hub_advisors_online", "Advisor consoles connected", registry=r)
        self.waiting = Gauge("videokiosk_hub_customers_waiting", "Customers in the waiting room", registry=r)
        self.active = Gauge("videokiosk_hub_calls_active", "Calls in progress", registry=r)
        self.wait = Histogram("videokiosk_hub_wait_seconds", "Time from entering the waiting room to the admit",
                              buckets=WAIT_BUCKETS_S, registry=r)
        self.started = Counter("videokiosk_hub_calls_started", "Admitted customers", ["kind"], registry=r)
        self.ended = Counter("videokiosk_hub_calls_ended", "Ended calls", ["reason"], registry=r)
        self.quality_reports = Counter("videokiosk_hub_call_quality", "Quality reports from booths", ["grade"], registry=r)
        self.errors = Counter("videokiosk_hub_signalling_errors", "Rejected signalling messages",
                              ["side", "code"], registry=r)
        for state in BOOTH_STATES:
            self.booths.labels(state)
        for kind in ("walk_in", "appointment"):
            self.started.labels(kind)
        for reason in ("ended", "timeout", "error"):
            self.ended.labels(reason)
        for grade in ("good", "fair", "poor"):
            self.quality_reports.labels(grade)

    # --- hub events ---------------------------------------------------------------------------

    def call_started(self, kind: str, waited_s: float, **_) -> None:
        self.started.labels(kind).inc()
        self.wait.observe(max(0.0, waited_s))

    def call_ended(self, reason: str = "ended", **_) -> None:
        self.ended.labels(reason).inc()

    def quality(self, grade: str | None = None, **_) -> None:
        if grade:
            self.quality_reports.labels(grade).inc()

    def advisor_connected(self, **_) -> None:
        self.advisors.inc()

    def advisor_disconnected(self, **_) -> None:
        self.advisors.dec()

    def signalling_error(self, side: str, code: str, **_) -> None:
        self.errors.labels(side, code).inc()

    # --- at scrape time -----------------------------------------------------------------------

    async def refresh(self, app: web.Application, hub) -> None:
        """Gauges are read from the shared state when scraped, so they are never stale."""
        counts = dict.fromkeys(BOOTH_STATES, 0)
        for booth in await hub.state.presence():
            counts[booth.state] = counts.get(booth.state, 0) + 1
        for state, n in counts.items():
            self.booths.labels(state).set(n)
        self.waiting.set(len(await hub.state.waiting()))
        self.active.set(len(await hub.state.routes()))
        if self.fleet is not None:
            await self.fleet.refresh(hub)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def is_local(request: web.Request) -> bool:
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address((request.remote or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def add_metrics_route(app: web.Application, metrics: HubMetrics, hub) -> None:
    app[APP_METRICS] = metrics

    async def handler(request: web.Request) -> web.Response:
        if not is_local(request):
            raise web.HTTPForbidden(text="metrics are served to loopback clients only\n")
        await metrics.refresh(request.app, hub)
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", handler)
