"""Staged rollout of a signed update bundle: a few booths first, then all; pause when one fails.

A technician starts a rollout with the bundle's URL and the version it brings. The hub asks the
first wave (``first`` idle booths, default 2) to install it (``install_update`` over each booth's
hub link). Each booth installs into its other slot, reboots, and reports where it stands in its
health (appliance/update.py). When every booth of the first wave runs the new version, the rest
follow, and so does a booth the waves missed (offline then) when it reports, idle, while the
rollout is still under way. A booth counts only once it says ``good`` (appliance/mark_good.py kept
its new slot: self-test passed, hub reached); ``installed`` (booted, not yet proven) can still turn
into ``rolled_back``. When any booth of the rollout reports ``failed`` or ``rolled_back`` (the new slot
did not come up good and the bootloader went back), the rollout pauses: nobody else gets the bundle
until a technician resumes or cancels it. Booths busy with a customer are skipped and asked again
as soon as they report being idle (a booth reports at once when its customer leaves).

One rollout at a time, kept in the hub's database: a hub restart goes on where it stopped, and
every hub instance on the same database advances the same rollout. The technician starts, resumes
and cancels it from the fleet page's rollout form.

Routes (technicians only): ``POST /api/fleet/rollout`` (``{"bundle_url", "version", "first"}``),
``POST /api/fleet/rollout/resume``, ``POST /api/fleet/rollout/cancel``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rtc import protocol as p

from .auth import require_csrf
from .fleet import ActionRequest

log = logging.getLogger(__name__)
ARRIVED = ("installed", "good")  # the booth runs the new version
GOOD = ("good",)  # ... and mark-good kept it: only this lets a rollout go on
BAD = ("failed", "rolled_back")


class RolloutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bundle_url: str = Field(pattern=r"^https?://\S{3,500}$")
    version: str = Field(pattern=r"^[A-Za-z0-9_.+:~-]{1,80}$")
    first: int = Field(default=2, ge=1, le=50)
    office: str | None = None


@dataclass
class Rollout:
    request: RolloutRequest
    username: str
    phase: str = "first_wave"  # first_wave -> all -> done; paused; cancelled
    booths: dict[str, str] = field(default_factory=dict)  # booth id -> asked | busy | installing | installed | good | failed | rolled_back
    reason: str = ""

    def first_wave_done(self) -> bool:
        asked = [s for s in self.booths.values() if s != "busy"]
        return bool(asked) and all(s in GOOD for s in asked)

    def under_way(self) -> bool:
        return self.phase in ("first_wave", "all", "paused")

    def to_json(self) -> str:
        return json.dumps({"request": self.request.model_dump(), "username": self.username, "phase": self.phase,
                           "booths": self.booths, "reason": self.reason})

    @classmethod
    def from_json(cls, text: str) -> "Rollout":
        data = json.loads(text)
        return cls(RolloutRequest.model_validate(data["request"]), data["username"], data["phase"],
                   dict(data["booths"]), data["reason"])


class Rollouts:
    """The rollout under way, kept in the hub's database (``fleet_rollout``): a hub restart goes on
    where it stopped, and every hub instance on the same database sees and advances the same one.
    Each change is one read-modify-write transaction that never spans an ``await``."""

    def __init__(self, desk: Any) -> None:
        self.desk = desk
        self._tasks: set[asyncio.Task] = set()

    @property
    def current(self) -> Rollout | None:
        text = self.desk.board.rollout()
        return Rollout.from_json(text) if text is not None else None

    def _change(self, change: Callable[[Rollout | None], Rollout | None]) -> Rollout | None:
        def apply(text: str | None) -> str | None:
            changed = change(Rollout.from_json(text) if text is not None else None)
            return changed.to_json() if changed is not None else None

        text = self.desk.board.change_rollout(apply, self.desk.clock.now().isoformat(timespec="seconds"))
        return Rollout.from_json(text) if text is not None else None

    def status(self) -> dict | None:
        r = self.current
        if r is None:
            return None
        return {"version": r.request.version, "phase": r.phase, "booths": dict(r.booths), "reason": r.reason,
                "by": r.username, "first": r.request.first, "office": r.request.office}

    async def start(self, username: str, request: RolloutRequest) -> dict:
        def begin(r: Rollout | None) -> Rollout:
            if r is not None and r.under_way():
                raise ValueError("a rollout is under way: resume or cancel it first")
            return Rollout(request, username)

        self._change(begin)
        rows = await self.desk.rows(request.office)
        idle = [r["booth_id"] for r in rows if r["online"] and r["health"] and r["health"]["activity"] == "idle"
                and r["health"]["version"] != request.version]
        await self._ask(idle[:request.first])
        return self.status()

    async def resume(self, username: str) -> dict | None:
        def go_on(r: Rollout | None) -> Rollout | None:
            if r is not None and r.phase == "paused":
                log.info("rollout of %s resumed by a technician", r.request.version)
                r.phase, r.reason = "all", ""
            return r

        r = self._change(go_on)
        if r is not None and r.phase == "all":
            await self._next_wave()
        return self.status()

    def cancel(self) -> dict | None:
        def stop(r: Rollout | None) -> Rollout | None:
            if r is not None and r.phase != "done":
                r.phase = "cancelled"
            return r

        self._change(stop)
        return self.status()

    async def on_health(self, booth_id: str, health: p.Health) -> None:
        before = self.current
        if before is None or before.phase in ("done", "cancelled"):
            return  # the common case: no write for a health report that changes nothing
        if booth_id not in before.booths:
            if self._latecomer(before, booth_id, health) and self._claim_latecomer(booth_id):
                log.info("rollout: booth %s was missed by its wave and is asked now", booth_id)
                self._spawn(self._ask([booth_id]))
            return
        next_wave = ask_again = False

        def follow(r: Rollout | None) -> Rollout | None:
            nonlocal next_wave, ask_again
            if r is None or booth_id not in r.booths or r.phase in ("done", "cancelled"):
                return r
            state = health.update.state
            if (r.booths[booth_id] == "busy" and r.phase in ("first_wave", "all") and health.activity == "idle"
                    and health.version != r.request.version):
                # Its customer has left: marked asked here, in the one transaction, so two reports
                # (or two hub instances) ask it once.
                r.booths[booth_id], ask_again = "asked", True
                return r
            if health.version == r.request.version and state in ARRIVED:
                r.booths[booth_id] = state
            elif state in BAD:
                r.booths[booth_id] = state
                if r.phase != "paused":
                    r.phase, r.reason = "paused", f"{booth_id}: {state}"
                    log.warning("rollout of %s paused: booth %s reports %s", r.request.version, booth_id, state)
                return r
            if r.phase == "first_wave" and r.first_wave_done():
                r.phase, next_wave = "all", True
            elif r.phase == "all" and all(s in GOOD for s in r.booths.values()):
                r.phase = "done"
            return r

        self._change(follow)
        if next_wave:
            self._spawn(self._next_wave())
        if ask_again:
            self._spawn(self._ask([booth_id]))

    def _latecomer(self, r: Rollout, booth_id: str, health: p.Health) -> bool:
        """A booth the waves missed (offline then, or enrolled since) that is here and free now:
        it gets the update too, or the rollout would end without it."""
        return (r.phase == "all" and health.activity == "idle" and health.version != r.request.version
                and (r.request.office is None or self.desk.office_of(booth_id) == r.request.office))

    def _claim_latecomer(self, booth_id: str) -> bool:
        """Marked asked in the one transaction: two reports (or two hubs) ask it once."""
        claimed = False

        def claim(r: Rollout | None) -> Rollout | None:
            nonlocal claimed
            if r is not None and r.phase == "all" and booth_id not in r.booths:
                r.booths[booth_id], claimed = "asked", True
            return r

        self._change(claim)
        return claimed

    async def _next_wave(self) -> None:
        r = self.current
        rows = await self.desk.rows(r.request.office)
        rest = [row["booth_id"] for row in rows if row["online"] and row["health"]
                and row["health"]["version"] != r.request.version and r.booths.get(row["booth_id"]) in (None, "busy")]
        await self._ask(rest)

    async def _ask(self, booth_ids: list[str]) -> None:
        def asked(r: Rollout | None) -> Rollout | None:
            for booth_id in booth_ids:
                r.booths[booth_id] = "asked"
            return r

        r = self._change(asked)

        async def ask(booth_id: str) -> None:
            status, body = await self.desk.act(r.username, booth_id, ActionRequest(action="install_update"),
                                               bundle_url=r.request.bundle_url, version=r.request.version)

            def answered(now: Rollout | None) -> Rollout | None:
                if now is not None and now.booths.get(booth_id) == "asked":
                    now.booths[booth_id] = "installing" if status == 200 and body.get("ok") else "busy"
                return now

            self._change(answered)

        await asyncio.gather(*(ask(b) for b in booth_ids))

    def _spawn(self, coro) -> None:
        # Never awaited inside a booth's message handler: the answers come through that same socket.
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def add_rollout_routes(app: web.Application, desk: Any, technician: Callable[[web.Request], Any]) -> None:
    async def start(request: web.Request) -> web.Response:
        session = technician(request)
        require_csrf(request, session, request.headers.get("X-CSRF-Token"))
        try:
            wanted = RolloutRequest.model_validate(await request.json())
        except ValidationError as exc:
            where = ".".join(str(x) for x in exc.errors()[0]["loc"])
            return web.json_response({"error": "malformed", "message": f"{where}: {exc.errors()[0]['msg']}"}, status=400)
        except ValueError:
            return web.json_response({"error": "malformed", "message": "the body must be JSON"}, status=400)
        try:
            return web.json_response(await desk.rollouts.start(session.username, wanted))
        except ValueError as exc:  # a rollout under way
            return web.json_response({"error": "refused", "message": str(exc)}, status=409)

    async def resume(request: web.Request) -> web.Response:
        session = technician(request)
        require_csrf(request, session, request.headers.get("X-CSRF-Token"))
        return web.json_response({"rollout": await desk.rollouts.resume(session.username)})

    async def cancel(request: web.Request) -> web.Response:
        session = technician(request)
        require_csrf(request, session, request.headers.get("X-CSRF-Token"))
        return web.json_response({"rollout": desk.rollouts.cancel()})

    app.router.add_post("/api/fleet/rollout", start)
    app.router.add_post("/api/fleet/rollout/resume", resume)
    app.router.add_post("/api/fleet/rollout/cancel", cancel)
