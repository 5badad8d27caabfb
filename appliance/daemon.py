"""``videokiosk booth``: the composition root that builds the booth from its config and runs it.

:class:`Booth` builds, top to bottom in ``__init__``, every collaborator through its constructor:
store, devices, consent texts, loopback, (with a hub configured) ICE prober, hub link, chat, the
call, the peer links of a group call, then the session, UI server, microphone meter, metrics and
the hourly purge. Nothing is assigned onto another object afterwards; where two parts need each
other (the session and the hub link that reports to it), the root registers the listener.
Tests and the demo pass their own store, devices, checks, or a fake hub link and call handler::

    booth = Booth(cfg, hub=RecordingHub(), calls=NullCallHandler())

Example::

    cfg = load_config("docs/booth.example.toml")
    booth = Booth(cfg)                 # with [hub] token: the real hub link, call and peer links
    url = await booth.start()          # http://127.0.0.1:8081/
    ...
    await booth.stop()
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from rtc import protocol as p
from videokiosk import __version__
from videokiosk.clock import Clock, SystemClock
from videokiosk.logs import configure as configure_logging
from videokiosk.signals import on_stop_signal

from .config import BoothConfig, load_for_command
from .consent import ConsentCatalog
from .errors import ApplianceError
from .fleet import FleetAgent, SelfTest
from .hublink import BACKOFF_S, tls_for
from .hublink_base import CallHandler, HubLink, NullCallHandler, NullHubLink
from .maintenance import Requests
from .metrics import BoothMetrics, MetricsServer
from .qrscan import CodeScanner
from .restarts import RestartCounter
from .service_mode import ServiceMode
from .session import Session, State
from .speech import SpeechGuide
from .store import BoothStore
from .uiserver import UIServer
from .update import UpdateTracker, booted_slot

log = logging.getLogger("videokiosk.booth")
DEFAULT_CONFIG = Path("/etc/videokiosk/booth.toml")
LED_FOR_STATE = {State.WAITING: "waiting", State.CALL: "call", State.OUT_OF_SERVICE: "off"}


def led_pattern(state: State, healthy: bool) -> str:
    """Out of service the LED is dark (nothing to press); otherwise a device fault shows first."""
    if state is State.OUT_OF_SERVICE:
        return "off"
    return LED_FOR_STATE.get(state, "idle") if healthy else "fault"


def technical_info() -> dict[str, str]:
    """The booth's own OS and device model: the consented "operating system, device, browser"."""
    model = Path("/proc/device-tree/model")
    try:
        device = model.read_text().strip("\x00\n ") if model.exists() else platform.machine()
    except OSError:
        device = platform.machine()
    return {"operating_system": f"{platform.system()} {platform.release()}", "device": device,
            "browser": "Chromium (kiosk)"}


def call_technical_info() -> dict[str, str | None]:
    """What the call reports to the hub about this booth (rtc.protocol.CallInfo)."""
    info = technical_info()
    return {"os": info.get("operating_system"), "device": info.get("device"), "browser": "aiortc (booth daemon)"}


class Booth:
    def __init__(
        self,
        config: BoothConfig,
        *,
        clock: Clock | None = None,
        devices: Any = None,
        store: BoothStore | None = None,
        checks: Any = None,
        hub: HubLink | None = None,
        calls: CallHandler | None = None,
        speedtest_url: str | None = None,
        hub_backoff_s: tuple[float, float] = BACKOFF_S,
        speech: Any = None,
    ) -> None:
        from hw.devices import build_devices
        from hw.tts import speech_engine
        from hw.voice import VoiceOutput
        from rtc.loopback import Loopback

        from .devicecheck import DeviceCheck, MicMeter

        self.config = config
        self.clock = clock or SystemClock()
        real_hub = hub is None and bool(config.hub.token or config.hub.token_file)
        # A booth without a hub keeps no withdrawal for one (it would only wait out the retention).
        self.store = store or BoothStore(config.store.path, clock=self.clock, retention_days=config.store.retention_days,
                                         keep_withdrawals=real_hub)
        self.devices = devices or build_devices(config.hardware)
        self.consent = ConsentCatalog(languages=tuple(config.ui.languages))
        self.loopback = Loopback(self.devices.camera.video_track,
                                 passthrough_codec=getattr(self.devices.camera, "passthrough_codec", None),
                                 when_answered=self._tell_page_peers,
                                 forward_encoded=config.hardware.forward_encoded_video)
        # Until a hub is wired in, rates are measured against this booth's own server.
        self._speedtest_url = speedtest_url or (config.hub.url if hub is not None or real_hub else None)
        self.ice = None  # with a hub: the STUN/TURN prober (rtc/ice.py)
        self.chat = None  # with a hub: chat and screen sharing on the call (appliance/chat.py)
        self.peer_links = None  # with a hub: a group call's further participants (appliance/peerlink.py)
        if real_hub:
            from rtc.audiomix import MixingSpeaker
            from rtc.ice import IceProber

            from .call import BoothCall
            from .chat import BoothChat
            from .hublink import HubConnection
            from .peerlink import PeerLinks

            # A dead STUN/TURN server costs ~5 s per call inside aiortc: probe them (again on a
            # session change once stale, so well before an admit) and show dead ones as faults.
            self.ice = IceProber(on_change=self._report_faults)
            hub = HubConnection(config.hub.url, config.hub_token(), ca_file=config.hub.ca_file, faults=self._faults,
                                backoff_s=hub_backoff_s, when_changed=self._hub_changed, withdrawals=self.store)
            self.chat = BoothChat(hub, self.loopback, broadcast=self.broadcast,  # issue 9: chat, screen sharing
                                  waiting_session=self._waiting_session)
            speaker = MixingSpeaker(self.devices.speaker)  # the advisor's voice, in a group call the others' too
            calls = BoothCall(hub, self.devices.camera, self.devices.microphone, speaker, self.loopback,
                              technical_info=call_technical_info, on_quality=self._call_quality,
                              on_summary=self._call_summary, ice=self.ice, extensions=[self.chat])
            self.peer_links = PeerLinks(hub, self.devices.camera, self.devices.microphone, speaker, self.loopback,
                                        in_call=self._in_call, muted=lambda: calls.muted, broadcast=self.broadcast,
                                        joined=self._participant_joined)
        self.hub: HubLink = hub or NullHubLink()
        self.session = Session(
            config.ui, clock=self.clock, store=self.store, hub=self.hub, calls=calls or NullCallHandler(),
            # The speed test runs against the hub: with the CA this booth got at enrolment, like the link.
            checks=checks or DeviceCheck(self.devices, lambda: self._speedtest_url or self.url, ssl=tls_for(config.hub.ca_file)),
            consent_hash=self.consent.hash, technical_info=technical_info(),
            scanner=CodeScanner(self.devices.camera.video_track),  # the invitation's QR code
            hub_connected=False if real_hub else None,  # the kiosk shows when the real hub link is down
            on_survey=self._forward_survey,
        )
        # Speech mode: reads each screen aloud, and the call button alone operates the booth.
        self.speech = SpeechGuide(self.session, speech or speech_engine(),
                                  VoiceOutput(self.devices.speaker, self.devices.headset))
        self.server = UIServer(self.session, loopback=self.loopback,
                               handlers={"chat": self.chat.from_page} if self.chat else None)
        self.mic_meter = MicMeter(self.devices.microphone, lambda level: self.broadcast({"type": "mic_level", "level": level}))
        self.metrics = BoothMetrics(self)  # technicians' /metrics, served on [metrics] by start()
        # Issue 17: restart count, out of service, self-test, updates, and (with a hub link that takes
        # messages) the fleet agent that reports them and carries out technicians' actions.
        state_dir = Path(config.store.path).parent
        requests = Requests(config.fleet.request_dir)
        self.restarts = RestartCounter(state_dir)
        self.service = ServiceMode(self.session, self.devices, config.out_of_service, self.clock,
                                   flag_file=state_dir / "out-of-service")
        self.selftest = SelfTest(config, self.devices, self.clock)
        self.updates = UpdateTracker(state_dir, __version__, install_failure=requests.install_failure,
                                     booted_slot=booted_slot())
        on_message = getattr(self.hub, "on_message", None)  # the real hub link's
        self.fleet = FleetAgent(self, self.hub.send, requests=requests) if on_message is not None else None
        if self.fleet is not None:
            on_message(p.HealthAck, self.fleet.on_ack)
            on_message(p.FleetAction, self.fleet.on_action)
            self.session.subscribe(self.fleet.follow_state)
        self.metrics_server: MetricsServer | None = None
        # Who hears what: the hub link's decisions go to the session; a group call's link
        # messages to the peer links first; each session change to the ICE prober and peer links.
        if real_hub:
            hub.attach(self.session.handle)
            hub.on_peer_message(self.peer_links.route)
            self.session.subscribe(lambda _snapshot: self.ice.refresh(hub.ice_servers))
            self.session.subscribe(self.peer_links.follow)
        self.url = ""
        self.ready = asyncio.Event()
        self.exit_requested = asyncio.Event()  # a signal, or a technician's "restart daemon"
        self.exit_code = 0
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self._selftest_task: asyncio.Task | None = None
        self._shown_state = State.IDLE
        self._session_of_call: str | None = None
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
        self.restarts.started()
        self.devices.led.show(led_pattern(self.session.state, self.devices.healthy))
        for problem in getattr(self.devices, "degraded", ()):  # e.g. no call button: touch-only
            log.error("running degraded: %s", problem)
        self._runner = web.AppRunner(self.server.app(), access_log=None)  # access logs carry IPs
        await self._runner.setup()
        site = web.TCPSite(self._runner, host or self.config.ui.host, self.config.ui.port if port is None else port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}/" if ":" not in bound[0] else f"http://[{bound[0]}]:{bound[1]}/"
        self._tasks = [loop.create_task(self.session.run_timers()), loop.create_task(self._purge_forever()),
                       loop.create_task(self.service.run())]
        await self.service.tick()  # a technician's "out of service" outlives a restart
        if self.config.metrics.enabled:
            try:
                self.metrics_server = await MetricsServer(self.metrics, self.config.metrics.host,
                                                          self.config.metrics.port).start()
            except (ApplianceError, OSError) as exc:  # metrics are for technicians: never stop the booth
                log.error("metrics endpoint not started: %s", exc)
        if hasattr(self.hub, "start"):  # the real hub link connects out and keeps reconnecting
            await self.hub.start()
        if self.fleet is not None:
            self._tasks.append(loop.create_task(self.fleet.run()))
        if self.config.fleet.selftest_at_start:
            # Not one of self._tasks: those must never end (the watchdog checks), this one does.
            self._selftest_task = loop.create_task(self._first_selftest())
        self.ready.set()
        log.info("booth %s ready, kiosk page at %s", self.config.booth.id, self.url)
        return self.url

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._selftest_task] if self._selftest_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.mic_meter.stop()
        await self.speech.close()
        if self.metrics_server is not None:
            await self.metrics_server.close()
        await self.session.calls.stop()
        if self.peer_links is not None:
            await self.peer_links.close_all()
        if hasattr(self.hub, "close"):
            await self.hub.close()
        await self.loopback.close()
        await self.session.close()
        await self.server.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.devices.close()
        self.store.close()
        self.restarts.stopped_cleanly()

    async def _first_selftest(self) -> None:
        try:
            await self.selftest.run_until_passed()
        except Exception:  # no verdict that persisted: mark-good waits and then rolls back
            log.exception("self-test at start failed to run")

    def request_exit(self, code: int = 0) -> None:
        """Stop the daemon; a non-zero ``code`` makes systemd start it again (Restart=on-failure)."""
        self.exit_code = code
        self.exit_requested.set()

    # --- what the parts built above report to the booth ------------------------------------------

    def broadcast(self, message: dict[str, Any]) -> None:
        """To every open kiosk page (the UI server is built after the parts that talk to the page)."""
        self.server.broadcast(message)

    def _forward_survey(self, answers: dict[str, Any]) -> None:
        """Each survey also goes to the hub's anonymous statistics (hub/stats.py).

        The message carries the answers only: no session id, no call id, no time (rtc.protocol.Survey).
        """
        send = getattr(self.hub, "send", None)
        if send is None:
            return
        try:
            message = p.Survey(**{k: answers.get(k) for k in ("rating", "easy", "again")})
        except ValueError as exc:  # the session validated them already; never break the survey
            log.warning("survey not sent to the hub: %s", exc)
            return
        asyncio.get_running_loop().create_task(send(message))

    def _waiting_session(self) -> str | None:
        return self.session.session_id if self.session.state is State.WAITING else None

    def _in_call(self) -> bool:
        return self.session.state is State.CALL

    def _tell_page_peers(self) -> None:
        """A reloaded page learns again which tile shows whom (a group call's peer links)."""
        if self.peer_links is not None:
            self.peer_links.tell_page()

    def _faults(self) -> list[str]:
        """The hardware faults, and dead STUN/TURN servers, for the hub (``hello`` and ``status``)."""
        devices = [f"{name}_fault" for name in ("camera", "microphone", "speaker")
                   if not getattr(self.devices, name).healthy]
        return devices + (self.ice.faults() if self.ice is not None else [])

    async def _report_faults(self, _changed: Any = None) -> None:
        report = getattr(self.hub, "report_faults", None)
        if report is not None:
            await report(self._faults())

    def _call_quality(self, sample: Any) -> None:
        self._session_of_call = self._session_of_call or self.session.session_id
        self.metrics.quality(sample.grade, sample.send_kbps, sample.recv_kbps)
        self.broadcast({"type": "quality", "grade": sample.grade})  # the kiosk's signal bars

    def _participant_joined(self, role: str) -> None:
        # The consent text: further participants are stored by their role, with the customer's
        # session (so her withdrawal and the 14-day purge take it along).
        try:
            self.store.record_participant_role(self.session.session_id, role)
        except ApplianceError as exc:  # consent withdrawn meanwhile: nothing to keep
            log.info("participant role not stored: %s", exc)

    def _call_summary(self, grade: str | None, up: float | None, down: float | None) -> None:
        # The consented "transmission quality" of this session's call (the rates stay those the
        # device check measured; the hub keeps the call's own rates).
        sid, self._session_of_call = self._session_of_call, None
        if sid is not None and grade is not None:
            try:
                self.store.record_technical(sid, transmission_quality=grade)
            except ApplianceError as exc:  # consent withdrawn meanwhile: nothing to keep
                log.info("call quality not stored: %s", exc)

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
        if up and self.fleet is not None:
            self.fleet.changed()

    def _device_changed(self, change: Any) -> None:
        """A camera/microphone/speaker went away or came back (hot-plug)."""
        log.warning("device %s %s: %s", change.device, "recovered" if change.healthy else "unavailable", change.detail)
        self.devices.led.show(led_pattern(self.session.state, self.devices.healthy))
        if self.fleet is not None:
            self.fleet.changed()
        if self.session.state is State.DEVICE_CHECK:
            # The screen must not keep showing a verdict the hardware just contradicted.
            asyncio.get_running_loop().create_task(self.session.handle("recheck"))
        asyncio.get_running_loop().create_task(self._report_faults())  # the hub shows them as they happen

    def _follow_state(self, snapshot: dict[str, Any]) -> None:
        """Side effects of a state change that belong to the booth, not the session."""
        state = State(snapshot["state"])
        if state is self._shown_state:
            return
        self._shown_state = state
        loop = asyncio.get_running_loop()
        self.devices.led.show(led_pattern(state, self.devices.healthy))
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
    configure_logging(args.verbose)  # every logger, aiortc's and aioice's too, without personal data
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

    from .collections_out_of_calls import CollectionsOutOfCalls
    from .realtime import RealtimeInCalls
    from .sdnotify import SystemdNotifier, watchdog_interval
    from .watchdog import ServiceManagerLink, booth_health_checks

    try:
        booth = Booth(config)  # with [hub] token or token_file: the hub link, the call and the peer links
    except HardwareError as exc:
        print(f"videokiosk booth: {exc}", file=sys.stderr)
        return 2
    on_stop_signal(booth.request_exit)
    booth.session.subscribe(CollectionsOutOfCalls().follow)  # gc is this process's: here, not in Booth
    booth.session.subscribe(RealtimeInCalls(log).follow)  # and so is its scheduling policy
    url = await booth.start(port=port)
    print(f"videokiosk booth {config.booth.id}: kiosk page at {url}", flush=True)
    # systemd (Type=notify, WatchdogSec=): READY=1 now that the page is served, then watchdog pings
    # only while the loop and the device loops are healthy. A no-op when not run by systemd.
    systemd = ServiceManagerLink.start(SystemdNotifier.from_environment(), booth_health_checks(booth),
                                       booth.clock, watchdog_interval())
    systemd.ready(f"serving the kiosk page at {url}")
    try:
        await booth.exit_requested.wait()
    finally:
        await systemd.close()
        await booth.stop()
    return booth.exit_code
