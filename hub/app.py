"""The hub's aiohttp application: console, log-in API, the two sockets, speed test, purge.

Example::

    from hub.app import HubParts, make_app
    parts = HubParts.open(load_hub_config("hub.toml"))
    web.run_app(make_app(parts), port=parts.config.server.port, ssl_context=tls_context(parts.config))
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from .storage import Database, open_database
from aiohttp import web

from rtc import protocol as p
from rtc.speedtest import add_speedtest_routes
from videokiosk.clock import Clock, SystemClock
from videokiosk.signals import wait_for_signal

from .appointments_web import AppointmentDesk, add_appointment_routes, check_code_at_booth
from .guest import add_guest_routes
from .groupcall import GroupCalls
from .guest_passes import GuestPasses
from .guest_surveys import SurveyAllowances
from .chat import ChatRelay
from .backoff import Failures, MemoryFailures
from .auth import APP_ADVISOR_SOCKETS, APP_LOGIN_GUARD, APP_ORIGINS, APP_SESSIONS, APP_USERS, add_auth_routes
from .clientaddr import APP_TRUSTED_PROXIES, is_loopback, trusted_networks
from .login_guard import LoginGuard
from .sessions import SESSIONS_ENDED, AdvisorSessions, SocketWatch
from .config import HubConfig
from .connlimits import body_deadline, listen, raise_open_files_limit
from .errors import DATABASE_UNAVAILABLE, STORAGE_RETRY_S, HubConfigError
from .enrolment import EnrolmentCodes, add_enrolment_routes
from .fleet import FleetBoard, FleetCollector
from .fleet_web import FleetDesk, add_fleet_routes
from .outbox import purge_eml_folder
from .purge import purge_if_due
from .metrics import HubMetrics, add_metrics_route
from .registry import BoothRegistry
from .service import Hub
from .sockets import APP_BOOTH_SOCKETS, APP_BOOTH_WATCH, APP_HUB, APP_REGISTRY, advisor_socket, booth_credential, booth_socket
from .state import InMemoryState, SharedState, state_lifecycle
from .stats import HubStats
from .stats_recorder import StatsRecorder
from .stats_web import add_stats_routes
from .sso_web import add_sso_routes, ldap_directory
from .users import UserStore

log = logging.getLogger(__name__)
CONSOLE = Path(__file__).parent / "console"

# No inline script anywhere, no framing, no referrer; media only from the page itself and WebRTC.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass
class HubParts:
    """Everything a hub is made of, built once and passed in (tests build their own)."""

    config: HubConfig
    db: Database
    state: SharedState
    registry: BoothRegistry
    users: UserStore
    clock: Clock

    @classmethod
    def open(cls, config: HubConfig, clock: Clock | None = None, state: SharedState | None = None) -> "HubParts":
        clock = clock or SystemClock()
        db = open_database(config.store.database_url or config.store.path)
        users = UserStore(db, clock)
        return cls(config, db, state or state_for(config), BoothRegistry(db), users, clock)


def failures_for(config: HubConfig, clock: Clock) -> Failures:
    """Where the back-offs count wrong codes, links and passwords: with a shared Redis, there
    (every hub sees every hub's failures); else in this process (hub/backoff.py)."""
    section = config.state
    if section.backend == "memory":
        return MemoryFailures(clock)
    from .backoff_redis import RedisFailures  # redis: the optional extra, as for the state

    return RedisFailures.from_url(section.redis_url, section.prefix, clock)


def state_for(config) -> SharedState:
    """The backend ``[state]`` in the hub config names: in-process (default) or Redis."""
    section = getattr(config, "state", None)
    if section is None or section.backend == "memory":
        return InMemoryState()
    # Imported only here: redis is an optional extra, and the default hub (and the demo) never needs it.
    from .state_redis import RedisState

    return RedisState.from_url(section.redis_url, section.prefix)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.secure:  # once seen over TLS, browsers never try plain HTTP to this hub again
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"


@web.middleware
async def _crafted_input(request: web.Request, handler):
    """Input no handler could read answers 400 with a message, never 500: JSON nested thousands
    deep (RecursionError), a lone surrogate where text meets the database (UnicodeError), a number
    beyond any range (OverflowError)."""
    try:
        return await handler(request)
    except (RecursionError, UnicodeError, OverflowError):
        return web.json_response({"error": "the request could not be read: too deeply nested, a broken character "
                                           "or a number out of range", "reason": "invalid"}, status=400)


@web.middleware
async def _storage_unavailable(request: web.Request, handler):
    """The hub database out of reach (PostgreSQL restarting, failing over): 503 with a reason the
    pages explain, never a 500. Nothing half-done stays behind: what was acknowledged was committed
    before its answer, and a failed request's transaction rolled back (hub/storage/postgres.py)."""
    try:
        return await handler(request)
    except DATABASE_UNAVAILABLE as exc:
        log.warning("a request failed, the hub database is unavailable: %s", exc)
        return web.json_response({"error": "unavailable", "reason": "unavailable",
                                  "detail": "the hub's database cannot be reached right now; try again shortly"},
                                 status=503, headers={"Retry-After": str(STORAGE_RETRY_S)})


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(CONSOLE / "index.html", headers={"Cache-Control": "no-store"})


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def make_app(parts: HubParts) -> web.Application:
    config = parts.config
    board = FleetBoard(parts.db)  # issue 17: the booths' latest health and the technicians' audit trail
    stats, metrics = HubStats(parts.db), HubMetrics(fleet=FleetCollector(board))  # anonymous statistics; technicians' metrics
    hub = Hub(config, parts.state, parts.db, parts.clock, listeners=[StatsRecorder(stats, parts.clock), metrics])
    failures = failures_for(config, parts.clock)  # wrong codes, links, passwords: counted across hubs
    desk = AppointmentDesk.open(parts.db, config, parts.clock, failures=failures)  # appointments and invitations
    chat = ChatRelay(hub)  # chat and screen-share signals while a call's data channel is not open
    groups = GroupCalls(hub, desk.book)  # extra participants of one appointment (agreed beforehand) see each other
    passes = GuestPasses(parts.db, desk.book, parts.clock)  # home participants' passes: in the database
    fleet = FleetDesk(board, hub, parts.registry, parts.clock)  # booths' health in, technicians' actions out
    # Every message the hub does not handle itself, and who handles it: the one routing table.
    hub.route(
        booth_first=(groups.from_booth,),  # a group call's peer links, relayed between participants
        booth={p.Chat: chat.from_booth, p.AppointmentCheck: check_code_at_booth(hub, desk, groups.appointment_checked),
               p.Health: fleet.on_health, p.ActionResult: fleet.on_result},
        advisor={p.Chat: chat.from_advisor, p.ScreenShare: chat.from_advisor, p.WaitingNote: chat.waiting_note},
        listeners=(groups,),
    )
    app = web.Application(client_max_size=64 * 1024,
                          middlewares=[body_deadline(config.server.body_timeout_s), _crafted_input, _storage_unavailable])
    app[APP_HUB] = hub
    app[APP_REGISTRY] = parts.registry
    app[APP_USERS] = parts.users
    auth = config.auth
    sessions = app[APP_SESSIONS] = AdvisorSessions(parts.db, parts.clock, auth.session_ttl_s)
    # Closes a removed advisor's console: at once when announced, else at the next check.
    consoles = app[APP_ADVISOR_SOCKETS] = SocketWatch(sessions.valid_among, auth.session_check_s)
    app[APP_LOGIN_GUARD] = LoginGuard(parts.users, parts.clock, workers=auth.login_workers, queue=auth.login_queue,
                                      per_address=auth.login_per_address, max_failures=auth.max_failures,
                                      address_failures=auth.address_failures, max_wait_s=auth.lockout_s,
                                      directory=ldap_directory(config.sso, parts.db, parts.clock), failures=failures)
    app[APP_TRUSTED_PROXIES] = trusted_networks(config.server.trusted_proxies)
    app[APP_ORIGINS] = list(config.server.extra_origins)
    app[APP_BOOTH_SOCKETS] = {}
    # Closes a revoked (or re-enrolled) booth's connection: at once when announced, else at the next check.
    booths = app[APP_BOOTH_WATCH] = SocketWatch(parts.registry.valid_among, auth.session_check_s)
    app.on_response_prepare.append(_security_headers)
    app.router.add_get("/", _index)
    app.router.add_get("/healthz", _healthz)
    app.router.add_static("/console/", CONSOLE, show_index=False)
    add_auth_routes(app)
    add_sso_routes(app, config.sso, parts.db, parts.clock)  # /api/login/options; /sso/oidc/* when configured
    add_enrolment_routes(app, EnrolmentCodes(parts.db, parts.registry, parts.clock), failures)  # POST /api/enrol
    app.router.add_get("/ws/booth", booth_socket)
    app.router.add_get("/api/booth/credential", booth_credential)  # the booth's selftest
    app.router.add_get("/ws/advisor", advisor_socket)
    add_speedtest_routes(app)  # the booth's device check measures up- and download against the hub
    add_stats_routes(app, stats, parts.clock)  # /stats, /api/stats, /api/stats.csv (role lead)
    add_metrics_route(app, metrics, hub)  # /metrics, loopback only
    add_appointment_routes(app, desk)  # /api/appointments
    # /join: the personal link in the customer's own browser; a pass's sockets close once it is no longer valid
    add_guest_routes(app, groups, passes, SurveyAllowances(parts.state, parts.clock), SocketWatch(passes.valid_among))
    add_fleet_routes(app, fleet)  # /fleet, /api/fleet (role technician)

    async def purge_forever(app: web.Application):
        async def loop() -> None:
            while True:
                # First at start (catches up after downtime), then once per interval across all hubs.
                try:
                    removed = purge_if_due(parts.db, parts.clock.now(), config.store.purge_interval_s)
                    files = purge_eml_folder(parts.db, config.mail.eml_dir)  # this hub's own folder: every round
                    if files:
                        removed = {**(removed or {}), "eml_files": files}
                except DATABASE_UNAVAILABLE as exc:  # back by the next round, or another hub purges
                    log.warning("purge skipped, the hub database is unavailable: %s", exc)
                    removed = None
                except OSError as exc:  # the mail folder: tried again next round, the loop goes on
                    log.error("purge: the mail folder (mail.eml_dir) could not be purged: %s", exc.strerror)
                    removed = None
                if removed and any(removed.values()):
                    log.info("purge: deleted %s", removed)
                await asyncio.sleep(config.store.purge_interval_s)

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        await hub.close()
        await app[APP_ADVISOR_SOCKETS].close()
        await app[APP_BOOTH_WATCH].close()
        app[APP_LOGIN_GUARD].close()
        failures.close()

    async def hear_sessions_ended(app: web.Application):
        def wake(_: str) -> None:
            consoles.wake()
            booths.wake()

        unsubscribe = parts.state.subscribe(SESSIONS_ENDED, wake)  # after the state started
        yield
        unsubscribe()

    app.cleanup_ctx.append(state_lifecycle(parts.state))  # Redis: connect at start, close at the end
    app.cleanup_ctx.append(hear_sessions_ended)
    app.cleanup_ctx.append(purge_forever)
    return app


def refuse_plain_http(config: HubConfig, insecure_http: bool) -> None:
    """A hub reachable from the network speaks TLS, or is told explicitly that a proxy does."""
    server = config.server
    if server.tls_cert is None and not insecure_http and not is_loopback(server.host):
        raise HubConfigError(
            f"server.host = {server.host!r} is reachable from the network, but no server.tls_cert / "
            "server.tls_key is configured: add a certificate, or pass --insecure-http if a TLS proxy "
            "in front of the hub terminates HTTPS")


async def start_server(parts: HubParts, host: str, port: int) -> tuple[web.AppRunner, asyncio.Server]:
    """The hub's app served on host:port behind the connection limits (hub/connlimits.py)."""
    server = parts.config.server
    raise_open_files_limit()
    runner = web.AppRunner(make_app(parts), access_log=None, keepalive_timeout=server.idle_timeout_s)
    await runner.setup()
    listener = await listen(runner, host, port, per_address=server.max_connections_per_address,
                            ssl_context=tls_context(parts.config), handshake_s=server.idle_timeout_s)
    return runner, listener


async def serve(parts: HubParts) -> None:
    """Serve until interrupted (``videokiosk hub serve``)."""
    server = parts.config.server
    runner, listener = await start_server(parts, server.host, server.port)
    scheme = "https" if server.tls_cert else "http"
    print(f"======== Running on {scheme}://{server.host}:{server.port} ========", flush=True)
    try:
        await wait_for_signal()
    finally:
        listener.close()
        await runner.cleanup()


def tls_context(config: HubConfig) -> ssl.SSLContext | None:
    """HTTPS and WSS when a certificate and key are configured (browsers need it for camera and mic)."""
    if config.server.tls_cert is None or config.server.tls_key is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(config.server.tls_cert, config.server.tls_key)
    return ctx
