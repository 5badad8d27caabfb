"""A booth daemon in a process of its own, as on a booth: the benches' launcher, and the latency bench's booth.

A booth runs its call alone in its own process. Run inside the bench's process (beside the hub, the
browsers' driver and a second booth), its sending leg measured the bench's own load: booth camera ->
advisor's screen came out 1.90x a Chromium <-> Chromium call whose ends each have their own process
(issue 20's prototype, its booth alone: 1.00x). So the benches start the booth as a process:

- :class:`BenchHub`: a hub in the bench's loop thread with one advisor, "anna" (it only relays the
  call's signalling; media flows between the booth and the advisor's browser);
- :class:`BoothProcess`: writes a booth config for that hub, starts the booth and reads the kiosk
  page's address from the first line it prints. bench_pi.py starts the daemon itself
  (``videokiosk booth``) under a CPU quota; bench_latency.py this module's :func:`main`, the same
  daemon with a clicking microphone that also answers commands on stdin, a JSON line each:

    waiting  the customer's touches up to the waiting room (the device check again if the busy
             machine failed it: it says why); the session's id and when the customer entered
    started  the call's set-up once the advisor's first frame is here: when each step was taken
    heard    wall-clock times of the clicks the speaker played since the last ``heard``, and how
             much of each voice waits in the booth's mixer now (ms)
    forwarded  frames the loopback forwarded still encoded to the kiosk page, this page connection
    leave    the call over (once the advisor's hang-up arrived), back to the start screen

    $ python -m bench.booth_process --config booth.toml
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.latency import FPS, HEIGHT, WIDTH
from tests.systemd.unitroot import booth_realtime_priority

ADVISOR = "anna"
CALL_ENDS_S = 20.0  # the advisor's hang-up reaching the booth through the hub, on a busy machine
CALL_STARTS_S = 20.0  # the admit to the advisor's first frame, on a busy machine
SET_UP_STEPS = ("started_at", "offer_sent_at", "answer_at", "connected_at", "first_remote_frame_at")  # appliance/call.py's CallStats
CHECK_S = 60.0  # one device check, on a busy machine
CHECKS = 3


class BenchHub:
    """A hub on ``lt`` with its database in ``tmp`` and the advisor ``anna``."""

    def __init__(self, lt, tmp: Path) -> None:
        from hub.app import HubParts, make_app
        from hub.config import HubConfig
        from tests.e2e.harness import PASSWORD
        from videokiosk.clock import SystemClock

        self.parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp / "hub.db")}}), clock=SystemClock())
        self.parts.users.add_user(ADVISOR, PASSWORD)
        self.url = lt.serve(make_app(self.parts))

    def log_in(self, page) -> None:
        from tests.e2e.harness import log_in

        log_in(page, self.url, ADVISOR)

    def invite(self) -> str:
        """A new appointment with ``anna`` in a few minutes; the customer's link token (for ``/join#``)."""
        from datetime import UTC, datetime, timedelta

        from hub.appointments import BERLIN, AppointmentBook, AppointmentDraft

        start = (datetime.now(UTC) + timedelta(minutes=5)).astimezone(BERLIN)
        draft = AppointmentDraft(starts_local=start.replace(tzinfo=None).isoformat(timespec="minutes"), language="de",
                                 customer_email="kunde@example.org")
        _appointment, [customer] = AppointmentBook(self.parts.db, self.parts.clock).create(draft, ADVISOR)
        return customer.token


class BoothProcess:
    """One booth for ``hub`` in its own process (``command``: after ``python -m``), data in ``tmp``.

    The booth gets a session of its own, as systemd starts its unit: the kernel shares the CPU
    between sessions first (autogroups) and only then between their processes, so a booth in the
    bench's session would compete with the bench's own hub and browser driver as no booth does.
    ``preexec_fn``: run in the child before it starts (bench_pi: join a CPU cgroup).
    """

    DAEMON = ("videokiosk.cli", "booth")
    BENCH_BOOTH = ("bench.booth_process",)

    def __init__(self, hub: BenchHub, tmp: Path, *, forward: bool = True, command: tuple[str, ...] = DAEMON,
                 preexec_fn: Callable[[], None] | None = None) -> None:
        booth_id = f"booth-{tmp.name}"
        token = hub.parts.registry.create_booth(booth_id, "Kiosk Bench", "Musterstadt")
        config = tmp / "booth.toml"
        config.write_text(
            f'[booth]\nid = "{booth_id}"\nname = "Kiosk Bench"\nlocation = "Musterstadt"\n'
            f'[hub]\nurl = "{hub.url}"\ntoken = "{token}"\n'
            f'[store]\npath = "{tmp / "booth.db"}"\n[metrics]\nenabled = false\n'
            f"[hardware]\nwidth = {WIDTH}\nheight = {HEIGHT}\nfps = {FPS}\nforward_encoded_video = {str(forward).lower()}\n")
        self.log = (tmp / "daemon.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", *command, "--config", str(config), "--port", "0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True, preexec_fn=preexec_fn)
        line = self.proc.stdout.readline()
        found = re.search(r"kiosk page at (\S+)", line)
        if not found:
            self.close()
            raise RuntimeError(f"the booth did not start: {line!r} (its log: {tmp / 'daemon.log'})")
        self.url = found.group(1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ask(self, command: str) -> dict:
        """One of :func:`main`'s commands; its answer (a RuntimeError if the booth could not)."""
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline() or '{"error": "the booth process ended"}')
        if "error" in answer:
            raise RuntimeError(f"booth, {command}: {answer['error']}")
        return answer

    def close(self) -> None:
        stop(self.proc)
        self.log.close()


def stop(proc: subprocess.Popen) -> None:
    """Ask ``proc`` to end (SIGTERM), and make it if it has not within 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def clicking_devices(hardware):
    """The booth's fake devices, its microphone clicking on the beat (hw/clicks.py)."""
    from hw.audio_fake import ToneMicrophone
    from hw.devices import build_devices

    devices = build_devices(hardware)
    return dataclasses.replace(devices, microphone=ToneMicrophone(room=devices.speaker.room, clicks=True))


class Commands:
    """What :func:`main` answers on stdin, for the booth ``booth``."""

    def __init__(self, booth) -> None:
        from hw.clicks import OnsetFinder

        self.booth = booth
        self.ear = OnsetFinder()
        booth.devices.speaker.listen(self.ear.feed)

    async def waiting(self) -> dict:
        from tests.appliance.helpers import until

        session = self.booth.session
        await session.handle("start")
        await session.handle("accept")
        for _attempt in range(CHECKS):
            await until(session, lambda s: s.get("checks", {}).get("running") is False, CHECK_S)
            snapshot = session.snapshot()
            if snapshot["checks"].get("passed"):
                entered = time.time()
                await session.handle("continue")
                return {"state": session.state.value, "session_id": session.session_id, "entered": entered}
            failed = {k: v.get("detail") for k, v in snapshot["checks"]["results"].items() if v.get("status") != "pass"}
            print(f"device check failed on this busy machine ({failed}); checking again", file=sys.stderr, flush=True)
            await session.handle("recheck")
        return {"error": "the booth's device check kept failing"}

    async def heard(self) -> dict:
        heard, self.ear.heard = self.ear.heard, []
        mixer = self.booth.peer_links.speaker.mixer  # the call's and the peer links' one speaker
        return {"heard": heard, "mixer_ms": mixer.buffered_ms()}

    async def started(self) -> dict:
        """This call's set-up, once the advisor's first frame is here: wall-clock times (s) of its steps."""
        stats = self.booth.session.calls.stats
        await asyncio.wait_for(stats.first_frame.wait(), CALL_STARTS_S)
        return {key: getattr(stats, key) for key in SET_UP_STEPS}

    async def forwarded(self) -> dict:
        return {"forwarded": self.booth.loopback.forwarded_frames() or 0}

    async def leave(self) -> dict:
        from tests.appliance.helpers import until

        session = self.booth.session
        if session.state.value == "call":
            await until(session, lambda s: s["state"] != "call", CALL_ENDS_S)
        await session.handle("cancel")  # back to the start screen from anywhere
        return {"state": session.state.value}


async def _serve(config) -> int:
    from appliance.collections_out_of_calls import CollectionsOutOfCalls
    from appliance.daemon import Booth, log
    from appliance.realtime import RealtimeInCalls

    booth = Booth(config, devices=clicking_devices(config.hardware))
    # As the daemon's own root does (appliance/daemon.py):
    booth.session.subscribe(CollectionsOutOfCalls().follow)
    # The real-time priority its unit grants for calls (LimitRTPRIO=): the bench runs as root, whose
    # own limit is 0 (and may not be raised where CAP_SYS_RESOURCE is dropped), so it is passed in.
    booth.session.subscribe(RealtimeInCalls(log, granted=booth_realtime_priority).follow)
    url = await booth.start(port=0)
    await asyncio.wait_for(booth.session.hub.connected.wait(), 30)
    print(f"bench booth {config.booth.id}: kiosk page at {url}", flush=True)
    commands = Commands(booth)
    loop = asyncio.get_running_loop()
    try:
        while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
            handler = getattr(commands, line, None)
            try:
                answer = await handler() if handler is not None else {"error": f"no command {line!r}"}
            except Exception as exc:  # the bench reads why, and counts the round as failed
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)
    finally:
        await booth.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    from appliance.config import load_for_command
    from videokiosk.logs import configure as configure_logging

    parser = argparse.ArgumentParser(prog="python -m bench.booth_process")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)  # as ``videokiosk booth``; always a free one here
    args = parser.parse_args(argv)
    configure_logging(False)
    config = load_for_command(args.config, "bench booth")
    return 2 if config is None else asyncio.run(_serve(config))


if __name__ == "__main__":
    sys.exit(main())
