"""The staged rollout's own rules, against a stand-in fleet desk: which booth is asked when, and when
the rollout may go on (tests/hub/test_fleet.py drives the same through a running hub)."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.fleet import FleetBoard
from hub.rollout import RolloutRequest, Rollouts
from hub.storage import open_database
from rtc import protocol as p
from videokiosk.clock import FakeClock

OLD, NEW = "1.0.0", "1.1.0"


class Board(FleetBoard):
    """The hub's board, telling the test each time the rollout changed."""

    def __init__(self) -> None:
        super().__init__(open_database(":memory:"))
        self.changed = asyncio.Event()

    def change_rollout(self, change, at: str) -> str | None:
        text = super().change_rollout(change, at)
        self.changed.set()
        return text


class Desk:
    """The part of hub.fleet_web.FleetDesk a rollout uses: the booths' rows and ``act``."""

    def __init__(self, booth_ids: list[str]) -> None:
        self.board = Board()
        self.clock = FakeClock()
        self.activity = {b: "idle" for b in booth_ids}
        self.offline: set[str] = set()
        self.offices = {b: "Aachen" for b in booth_ids}
        self.asked: list[str] = []
        self.rollouts = Rollouts(self)

    async def rows(self, office: str | None = None) -> list[dict[str, Any]]:
        return [{"booth_id": b, "online": b not in self.offline, "health": {"activity": a, "version": OLD}}
                for b, a in self.activity.items() if office in (None, self.offices[b])]

    def office_of(self, booth_id: str) -> str | None:
        return self.offices.get(booth_id)

    async def act(self, username: str, booth_id: str, request: Any, **extra: Any) -> tuple[int, dict]:
        self.asked.append(booth_id)
        if self.activity[booth_id] != "idle":  # a customer stepped up meanwhile: the booth refuses
            return 409, {"error": "busy"}
        return 200, {"ok": True}


def health(version: str, state: str = "none", activity: str = "idle") -> p.Health:
    return p.Health(seq=1, version=version, os="Linux", uptime_s=1.0, activity=activity,
                    update=p.UpdateState(state=state, target_version=NEW))


async def until(check, desk: Desk) -> None:
    """Wait (on the rollout's changes, never a sleep) until ``check()`` holds."""
    async with asyncio.timeout(5):
        while not check():
            desk.board.changed.clear()
            await desk.board.changed.wait()


async def test_the_rest_waits_until_the_first_wave_is_marked_good_not_merely_booted():
    """``installed`` means the new slot booted, not that it passed its self-test and reached the hub
    (appliance/mark_good.py can still mark it bad and roll back): the first wave proves the bundle
    only once each booth says ``good``."""
    desk = Desk(["b1", "b2", "b3", "b4"])
    await desk.rollouts.start("tom", RolloutRequest(bundle_url="https://u.example.org/b.raucb", version=NEW, first=2))
    first = sorted(desk.asked)
    for booth_id in first:
        await desk.rollouts.on_health(booth_id, health(NEW, "installed"))
    assert desk.rollouts.status()["phase"] == "first_wave" and sorted(desk.asked) == first
    await desk.rollouts.on_health(first[0], health(NEW, "good"))
    assert desk.rollouts.status()["phase"] == "first_wave"
    await desk.rollouts.on_health(first[1], health(NEW, "good"))
    await until(lambda: len(desk.asked) == 4, desk)
    assert desk.rollouts.status()["phase"] == "all"
    for booth_id in set(desk.activity) - set(first):
        await desk.rollouts.on_health(booth_id, health(NEW, "installed"))
    assert desk.rollouts.status()["phase"] == "all"  # not done while a slot may still go back
    for booth_id in set(desk.activity) - set(first):
        await desk.rollouts.on_health(booth_id, health(NEW, "good"))
    assert desk.rollouts.status()["phase"] == "done"


async def test_a_booth_busy_when_asked_is_asked_again_once_it_is_idle():
    """A booth with a customer when its wave went out gets the update when she has left: else the
    rollout never ends, and no other can start until a technician cancels it."""
    desk = Desk(["b1", "b2", "b3"])
    await desk.rollouts.start("tom", RolloutRequest(bundle_url="https://u.example.org/b.raucb", version=NEW, first=1))
    (first,) = desk.asked
    desk.activity["b3" if first != "b3" else "b2"] = "in_use"
    busy = next(b for b, a in desk.activity.items() if a == "in_use")
    await desk.rollouts.on_health(first, health(NEW, "good"))
    await until(lambda: desk.rollouts.status()["booths"].get(busy) == "busy", desk)
    await desk.rollouts.on_health(busy, health(OLD, activity="in_use"))  # still with her customer
    assert desk.rollouts.status()["booths"][busy] == "busy"
    desk.activity[busy] = "idle"
    await desk.rollouts.on_health(busy, health(OLD))  # she has left: the booth reports at once
    await until(lambda: desk.rollouts.status()["booths"][busy] == "installing", desk)
    for booth_id in desk.activity:
        if booth_id != first:
            await desk.rollouts.on_health(booth_id, health(NEW, "good"))
    assert desk.rollouts.status()["phase"] == "done"


async def test_a_booth_offline_during_its_wave_is_asked_when_it_is_back_and_the_rollout_waits_for_it():
    """Of 200 booths some are always switched off: they get the update when they are back (in the
    rollout's office only), and the rollout is not done without them."""
    desk = Desk(["b1", "b2", "b3", "b4"])
    desk.offline, desk.offices["b4"] = {"b3", "b4"}, "Bonn"
    await desk.rollouts.start("tom", RolloutRequest(bundle_url="https://u.example.org/b.raucb", version=NEW,
                                                    first=1, office="Aachen"))
    (first,) = desk.asked
    await desk.rollouts.on_health(first, health(NEW, "good"))
    await until(lambda: len(desk.asked) == 2, desk)  # the rest of the wave: the one booth online
    desk.offline.clear()
    await desk.rollouts.on_health("b4", health(OLD))  # another office's: not this rollout's
    desk.activity["b3"] = "in_use"
    await desk.rollouts.on_health("b3", health(OLD, activity="in_use"))  # back, but with a customer
    assert "b3" not in desk.rollouts.status()["booths"]
    desk.activity["b3"] = "idle"
    await desk.rollouts.on_health("b3", health(OLD))  # back and free
    await desk.rollouts.on_health("b3", health(OLD))  # its next report: asked once
    await until(lambda: desk.rollouts.status()["booths"].get("b3") == "installing", desk)
    assert desk.asked.count("b3") == 1 and "b4" not in desk.asked
    # Another hub on the same database, whose report of b3 had read the rollout before: no second ask.
    assert not Rollouts(desk)._claim_latecomer("b3")
    await desk.rollouts.on_health(desk.asked[1], health(NEW, "good"))
    assert desk.rollouts.status()["phase"] == "all"  # not done while b3 installs
    await desk.rollouts.on_health("b3", health(NEW, "good"))
    assert desk.rollouts.status()["phase"] == "done"
