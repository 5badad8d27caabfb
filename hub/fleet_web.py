"""The technicians' fleet page and its API, and the hub's side of the booths' health and actions.

``/fleet`` (page), ``GET /api/fleet`` (every booth with its latest figures, problems first,
``?office=`` filters by location), ``POST /api/fleet/{booth_id}/actions`` (``{"action": ...,
"force": false, "hours": 2}``) and ``GET /api/fleet/audit``: for advisors with the role
``technician`` only (``videokiosk hub set-role tom technician``).

An action travels to the booth over its own hub link (a booth channel of the shared state, so it
reaches the booth whichever hub instance holds its socket) and the answer comes back on a channel
of its own. While a customer waits or is in a call the action is refused with ``409 busy`` unless
``force`` is set: the page shows the warning first and sends ``force`` only when the technician
confirms it. Every attempt, refused or done, goes into the audit trail.

Example::

    desk = FleetDesk(FleetBoard(db), hub, registry, clock)
    add_fleet_routes(app, desk)
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from rtc import protocol as p
from videokiosk.clock import Clock

from .auth import require_csrf
from .errors import UnknownBooth
from .fleet import ActionRequest, FleetBoard, fleet_rows
from .registry import Booth, BoothRegistry
from .rollout import Rollouts, add_rollout_routes
from .service import Hub, booth_channel
from .auth import require_role
from .roles import TECHNICIAN

log = logging.getLogger(__name__)
FLEET_PAGE = Path(__file__).parent / "console" / "fleet.html"
APP_FLEET = web.AppKey("fleet", "FleetDesk")
# How long the hub waits for a booth's answer: a self-test plays a tone and watches the camera.
ANSWER_TIMEOUT_S = {"selftest": 60.0, "fetch_logs": 30.0}
DEFAULT_ANSWER_TIMEOUT_S = 15.0
BUSY_STATES = ("waiting", "in_call")
READ_ONLY = ("fetch_logs", "back_in_service")  # never refused for a customer: they change nothing for them


class FleetDesk:
    """The hub's fleet logic: takes the booths' reports, sends technicians' actions, waits for answers."""

    def __init__(self, board: FleetBoard, hub: Hub, registry: BoothRegistry, clock: Clock) -> None:
        self.board = board
        self.hub = hub
        self.registry = registry
        self.clock = clock
        self.rollouts = Rollouts(self)

    # --- from booths --------------------------------------------------------------------------

    async def on_health(self, booth: Booth, msg: p.Health) -> None:
        self.board.record(booth.booth_id, msg, self.clock.now())
        await self.hub.state.publish(booth_channel(booth.booth_id), p.encode(p.HealthAck(seq=msg.seq)))
        await self.rollouts.on_health(booth.booth_id, msg)

    async def on_result(self, booth: Booth, msg: p.ActionResult) -> None:
        await self.hub.state.publish(_answers(msg.action_id), json.dumps({"booth_id": booth.booth_id, **msg.model_dump()}))

    # --- from technicians ---------------------------------------------------------------------

    async def rows(self, office: str | None = None) -> list[dict[str, Any]]:
        presence = {b.booth_id: b for b in await self.hub.state.presence()}
        booths = [b for b in self.registry.all() if office is None or b.location == office]
        return fleet_rows(booths, presence, self.board.latest())

    def office_of(self, booth_id: str) -> str | None:
        """Where the booth stands (its location: the fleet page's office); None if not registered."""
        try:
            return self.registry.get(booth_id).location
        except UnknownBooth:
            return None

    async def act(self, username: str, booth_id: str, request: ActionRequest, **extra: Any) -> tuple[int, dict]:
        """Send one action and wait for the booth's answer: (HTTP status, body)."""
        booth = self.registry.get(booth_id)  # UnknownBooth -> 404 in the route
        presence = await self.hub.state.get_presence(booth.booth_id)
        state = presence.state if presence is not None else "offline"

        def audited(status: int, body: dict, outcome: str) -> tuple[int, dict]:
            self.board.audit(username, booth.booth_id, request.action, forced=request.force, outcome=outcome,
                             at=self.clock.now().isoformat(timespec="seconds"))
            return status, body

        if state == "offline":
            return audited(409, {"error": "offline"}, "refused: offline")
        if state in BUSY_STATES and request.action not in READ_ONLY and not request.force:
            return audited(409, {"error": "busy", "activity": state}, "refused: busy")
        action = p.FleetAction(action_id="a-" + secrets.token_urlsafe(9), action=request.action, force=request.force,
                               hours=request.hours, **extra)
        answer: asyncio.Future = asyncio.get_running_loop().create_future()

        def heard(text: str) -> None:
            if not answer.done():
                answer.set_result(json.loads(text))

        unsubscribe = self.hub.state.subscribe(_answers(action.action_id), heard)
        try:
            await self.hub.state.publish(booth_channel(booth.booth_id), p.encode(action))
            result = await asyncio.wait_for(answer, ANSWER_TIMEOUT_S.get(request.action, DEFAULT_ANSWER_TIMEOUT_S))
        except asyncio.TimeoutError:
            return audited(504, {"error": "no_answer"}, "no answer")
        finally:
            unsubscribe()
        body = {"ok": result["ok"], "refused": result["refused"], "detail": result["detail"]}
        if result["refused"] == "busy":
            body["error"] = "busy"
            return audited(409, body, "refused by booth: busy")
        return audited(200, body, "ok" if result["ok"] else f"failed: {result['refused'] or 'error'}")


def _answers(action_id: str) -> str:
    return f"fleet-answer:{action_id}"


# --- web -----------------------------------------------------------------------------------------

def _technician(request: web.Request):
    return require_role(request, request.app[APP_FLEET].board.db, TECHNICIAN)


async def _page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(FLEET_PAGE, headers={"Cache-Control": "no-store"})


async def _fleet(request: web.Request) -> web.Response:
    _technician(request)
    desk = request.app[APP_FLEET]
    office = request.query.get("office") or None
    offices = sorted({b.location for b in desk.registry.all()})
    return web.json_response({"offices": offices, "booths": await desk.rows(office),
                              "rollout": desk.rollouts.status()})


async def _action(request: web.Request) -> web.Response:
    session = _technician(request)
    require_csrf(request, session, request.headers.get("X-CSRF-Token"))
    try:
        wanted = ActionRequest.model_validate(await request.json())
    except (ValueError, ValidationError):
        return web.json_response({"error": "malformed", "message": "send {\"action\": ..., \"force\": false}"}, status=400)
    if wanted.action == "install_update":
        return web.json_response({"error": "malformed", "message": "updates go through /api/fleet/rollout"}, status=400)
    try:
        status, body = await request.app[APP_FLEET].act(session.username, request.match_info["booth_id"], wanted)
    except UnknownBooth:
        return web.json_response({"error": "unknown_booth"}, status=404)
    return web.json_response(body, status=status)


async def _audit(request: web.Request) -> web.Response:
    _technician(request)
    return web.json_response({"audit": request.app[APP_FLEET].board.audit_rows()})


def add_fleet_routes(app: web.Application, desk: FleetDesk) -> None:
    """The page and its API; the booth messages it answers (``health``, ``action_result``) reach
    ``desk`` through the routing table in hub/app.py."""
    app[APP_FLEET] = desk
    app.router.add_get("/fleet", _page)
    app.router.add_get("/api/fleet", _fleet)
    app.router.add_get("/api/fleet/audit", _audit)
    app.router.add_post("/api/fleet/{booth_id}/actions", _action)
    add_rollout_routes(app, desk, _technician)
