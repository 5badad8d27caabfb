"""``videokiosk booth``: the composition root that builds the booth from its config and runs it.

:class:`Booth` wires config -> store, devices, session, UI server, loopback, hub link, call
handler and the hourly purge. Every collaborator can be passed in (tests, the demo); the hub link
and call handler come from factories that receive the booth, so the hub's piece plugs in with
one line::

    booth = Booth(cfg, hub_factory=lambda b: HubLinkClient(b.config, b.session),
                  call_factory=lambda b: BoothCall(b.devices, b.loopback, b.session))

Example::

    cfg = load_config("docs/booth.example.toml")
    booth = Booth(cfg)
    url = await booth.start()          # http://127.0.0.1:8081/
    ...
    await booth.stop()
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from rtc import protocol as p
from videokiosk.clock import Clock, SystemClock

from .config import BoothConfig, load_for_command
from .consent import ConsentCatalog
from .errors import ApplianceError
from .hublink_base import CallHandler, HubLink, NullCallHandler, NullHubLink
from .metrics import BoothMetrics, MetricsServer
from .qrscan import CodeScanner
from .session import Session, State
from .speech import SpeechGuide
from .store import BoothStore
from .uiserver import UIServer

log = logging.getLogger("videokiosk.booth")
DEFAULT_CONFIG = Path("/etc/videokiosk/booth.toml")
LED_FOR_STATE = {State.WAITING: "waiting", State.CALL: "call"}


def technical_info() -> dict[str, str]:
    """The booth's own OS and device model: the consented "operating system, device, browser"."""
    model = Path("/proc/device-tree/model")
    try:
        device = model.read_text().strip("\x00\n ") if model.exists() else platform.machine()
    except OSError:
        device = platform.machine()
    return {"operating_system": f"{platform.system()} {platform.release()}", "device": device,
            "browser": "Chromium (kiosk)"}


class Booth:
    def __init__(
        self,
        config: BoothConfig,
        *,
        clock: Clock | None = None,
        devices: Any = None,
        store: BoothStore | None = None,
        checks: Any = None,
        hub_factory: Callable[["Booth"], HubLink] | None = None,
        call_factory: Callable[["Booth"], CallHandler] | None = None,
        speedtest_url: str | None = None,
        speech: Any = None,
    ) -> None:
        from hw.devices import build_devices
        from hw.tts import speech_engine
        from hw.voice import VoiceOutput
        from rtc.loopback import Loopback

        from .devicecheck import DeviceCheck, MicMeter

        self.config = config
        self.clock = clock or SystemClock()
        self.store = store or BoothStore(config.store.path, clock=self.clock, retention_days=config.store.retention_days)
        self.devices = devices or build_devices(config.hardware)
        self.consent = ConsentCatalog(languages=tuple(config.ui.languages))
        self.loopback = Loopback(self.devices.camera.video_track,
                                 passthrough_codec=getattr(self.devices.camera, "passthrough_codec", None))
        # Until a hub is wired in, rates are measured against this booth's own server.
        self._speedtest_url = speedtest_url or (config.hub.url if hub_factory else None)
        self.session = Session(
            config.ui, clock=self.clock, store=self.store,
            checks=checks or DeviceCheck(self.devices, lambda: self._speedtest_url or self.url),
            consent_hash=self.consent.hash, technical_info=technical_info(),
            scanner=CodeScanner(self.devices.camera.video_track),  # the invitation's QR code
        )
        # Speech mode: reads each screen aloud, and the call button alone operates the booth.
        self.speech = SpeechGuide(self.session, speech or speech_engine(),
                                  VoiceOutput(self.devices.speaker, self.devices.headset))
        self.server = UIServer(self.session, loopback=self.loopback)
        self.mic_meter = MicMeter(self.devices.microphone,
                                  lambda level: self.server.broadcast({"type": "mic_level", "level": level}))
        self.session.hub = hub_factory(self) if hub_factory else NullHubLink()
        self.session.calls = call_factory(self) if call_factory else NullCallHandler()
        if hasattr(self.session.hub, "when_changed"):  # the real hub link: the kiosk shows when it is down
            self.session.hub_connected = False  # until the hub's welcome
            self.session.hub.when_changed = self._hub_changed
        self._forward_surveys_to_hub()
        self.metrics = BoothMetrics(self)  # technicians' /metrics, served on [metrics] by start()
        self.metrics_server: MetricsServer | None = None
        self.url = ""
        self.ready = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self._shown_state = State.IDLE
        self.session.subscribe(self._follow_state)

    async def start(self, host: str | None = None, port: int | None = None) -> str:
        """Open devices, serve the UI, start timers and the purge. Returns the page's URL."""
        loop = asyncio.get_running_loop()
        try:
            await self.devices.start()
        except Exception as exc:  # no udev on this machine: devices work, hot-plug does not
            log.warning("hot-plug watching unavailable: %s", exc)
        self.devices.button.when_pressed = lambda: loop.call_soon_threadsafe(self._button_pressed)
        self.devices.button.when_long_pressed = lambda: loop.call_soon_threadsafe(self._button_held)
        self.devices.on_change(lambda change: loop.call_soon_threadsafe(self._device_changed, change))
        self.devices.led.show("idle" if self.devices.healthy else "fault")
        self._runner = web.AppRunner(self.server.app(), access_log=None)  # access logs carry IPs
        await self._runner.setup()
        site = web.TCPSite(self._runner, host or self.config.ui.host, self.config.ui.port if port is None else port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}/" if ":" not in bound[0] else f"http://[{bound[0]}]:{bound[1]}/"
        self._tasks = [loop.create_task(self.session.run_timers()), loop.create_task(self._purge_forever())]
        if self.config.metrics.enabled:
            try:
                self.metrics_server = await MetricsServer(self.metrics, self.config.metrics.host,
                                                          self.config.metrics.port).start()
            except (ApplianceError, OSError) as exc:  # metrics are for technicians: never stop the booth
                log.error("metrics endpoint not started: %s", exc)
        if hasattr(self.session.hub, "start"):  # the real hub link connects out and keeps reconnecting
            await self.session.hub.start()
        self.ready.set()
        log.info("booth %s ready, kiosk page at %s", self.config.booth.id, self.url)
        return self.url

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.mic_meter.stop()
        await self.speech.close()
        if self.metrics_server is not None:
            await self.metrics_server.close()
        await self.session.calls.stop()
        peer_links = getattr(self.session.calls, "peer_links", None)  # a group call's (appliance/peerlink.py)
        if peer_links is not None:
            await peer_links.close_all()
        if hasattr(self.session.hub, "close"):
            await self.session.hub.close()
        await self.loopback.close()
        await self.session.close()
        await self.server.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.devices.close()
        self.store.close()

    def _forward_surveys_to_hub(self) -> None:
        """Each stored survey also goes to the hub's anonymous statistics (hub/stats.py).

        Wrapping the store here keeps the session ignorant of the hub's statistics. The message
        carries the answers only: no session id, no call id, no time (rtc.protocol.Survey).
        """
        record = self.store.record_survey

        def record_and_forward(day, **answers):
            record(day, **answers)
            send = getattr(self.session.hub, "send", None)
            if send is None:
                return
            try:
                message = p.Survey(**{k: answers.get(k) for k in ("rating", "easy", "again")})
            except ValueError as exc:  # the session validated them already; never break the survey
                log.warning("survey not sent to the hub: %s", exc)
                return
            asyncio.get_running_loop().create_task(send(message))

        self.store.record_survey = record_and_forward  # type: ignore[method-assign]

    def purge_now(self) -> dict[str, int]:
        counts = self.store.purge(self.clock.now())
        self.metrics.purged(counts)
        log.info("purge: deleted %s", counts)
        return counts

    async def _purge_forever(self) -> None:
        while True:
            try:
                self.purge_now()
            except ApplianceError as exc:
                log.error("purge failed: %s", exc)
            await asyncio.sleep(self.config.store.purge_interval_s)

    def _button_pressed(self) -> None:
        if self.speech.short_press():  # speech mode: the next choice
            return
        if self.session.state is State.IDLE:
            asyncio.get_running_loop().create_task(self.session.handle("start"))

    def _button_held(self) -> None:
        if self.speech.long_press():  # speech mode: choose; on the start screen: speech on
            return
        # Only a long press ends a call: a short one (a lean, a bump) must never cut the customer off.
        if self.session.state is State.CALL:
            asyncio.get_running_loop().create_task(self.session.handle("end_call"))

    def _hub_changed(self, up: bool) -> None:
        """The hub link went down or came back (called on the loop by HubConnection)."""
        asyncio.get_running_loop().create_task(self.session.handle("hub_link", up=up))

    def _device_changed(self, change: Any) -> None:
        """A camera/microphone/speaker went away or came back (hot-plug)."""
        log.warning("device %s %s: %s", change.device, "recovered" if change.healthy else "unavailable", change.detail)
        self.devices.led.show(LED_FOR_STATE.get(self.session.state, "idle") if self.devices.healthy else "fault")
        if self.session.state is State.DEVICE_CHECK:
            # The screen must not keep showing a verdict the hardware just contradicted.
            asyncio.get_running_loop().create_task(self.session.handle("recheck"))

    def _follow_state(self, snapshot: dict[str, Any]) -> None:
        """Side effects of a state change that belong to the booth, not the session."""
        state = State(snapshot["state"])
        if state is self._shown_state:
            return
        self._shown_state = state
        loop = asyncio.get_running_loop()
        self.devices.led.show(LED_FOR_STATE.get(state, "idle") if self.devices.healthy else "fault")
        if state is State.DEVICE_CHECK:
            self.mic_meter.start()
        elif not snapshot["self_view"]:
            loop.create_task(self._stop_streaming())

    async def _stop_streaming(self) -> None:
        """Leaving the check or the call: the camera and microphone stop streaming, even to this
        machine's own page."""
        await self.mic_meter.stop()
        await self.loopback.close()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"booth config (default {DEFAULT_CONFIG})")
    parser.add_argument("--port", type=int, default=None, help="override ui.port (0: any free port)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug detail")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_for_command(args.config, "videokiosk booth")
    if config is None:
        return 2
    try:
        return asyncio.run(_serve(config, args.port))
    except ApplianceError as exc:
        print(f"videokiosk booth: {exc}", file=sys.stderr)
        return 1


async def _serve(config: BoothConfig, port: int | None) -> int:
    from hw.errors import HardwareError

    from .call import call_for
    from .hublink import hub_link_for
    from .sdnotify import SystemdNotifier, watchdog_interval
    from .watchdog import ServiceManagerLink, booth_health_checks

    with_hub = bool(config.hub.token or config.hub.token_file)
    try:
        booth = Booth(config, hub_factory=hub_link_for if with_hub else None, call_factory=call_for if with_hub else None)
    except HardwareError as exc:
        print(f"videokiosk booth: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    url = await booth.start(port=port)
    print(f"videokiosk booth {config.booth.id}: kiosk page at {url}", flush=True)
    # systemd (Type=notify, WatchdogSec=): READY=1 now that the page is served, then watchdog pings
    # only while the loop and the device loops are healthy. A no-op when not run by systemd.
    systemd = ServiceManagerLink.start(SystemdNotifier.from_environment(), booth_health_checks(booth),
                                       booth.clock, watchdog_interval())
    systemd.ready(f"serving the kiosk page at {url}")
    try:
        await stop.wait()
    finally:
        await systemd.close()
        await booth.stop()
    return 0
