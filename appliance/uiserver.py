"""The kiosk page's server: static files, ``/ws`` for state and intents, speed-test routes.

Listens on 127.0.0.1 only. Every response carries a strict Content-Security-Policy (scripts from
this origin only, no framing), ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``,
so nothing a customer typed survives in the browser cache.

Example::

    server = UIServer(session, loopback=loopback)
    app = server.app()                 # serve with aiohttp, e.g. web.TCPSite(runner, "127.0.0.1", 8081)
    server.broadcast({"type": "mic_level", "level": 0.4})
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from kiosk_ui import STATIC_DIR
from rtc.errors import RtcError
from rtc.speedtest import add_speedtest_routes

from .errors import ApplianceError, InvalidMessage
from .uiprotocol import MAX_MESSAGE_BYTES, parse_message

log = logging.getLogger("videokiosk.ui")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; media-src 'self' blob: mediastream:; font-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    # The booth never shares its own screen (display-capture), whatever a page might try.
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), display-capture=()",
}


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if isinstance(response, web.HTTPException) and response.status >= 400:
        raise response
    return response


class _Client:
    """One connected page: a queue so messages go out in order without blocking the session."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)
        #: The page's video negotiations in progress (see UIServer._receive): held until done.
        self.negotiations: set[asyncio.Task] = set()

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:  # a stuck page: drop, the next state message repairs it
            log.warning("ui: client queue full, message dropped")

    async def pump(self) -> None:
        while True:
            message = await self.queue.get()
            if self.ws.closed:
                return
            await self.ws.send_json(message)


class UIServer:
    """Serves the kiosk page for one :class:`~appliance.session.Session`."""

    def __init__(self, session: Any, *, loopback: Any = None, static_dir: Path = STATIC_DIR,
                 handlers: dict[str, Callable[[str], Awaitable[None]]] | None = None) -> None:
        self.session = session
        self.loopback = loopback
        self.static_dir = static_dir
        self._clients: set[_Client] = set()
        #: Page messages other than intents and offers, by type: ``chat`` (appliance/chat.py).
        self.handlers: dict[str, Callable[[str], Awaitable[None]]] = dict(handlers or {})
        session.subscribe(self._on_state)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[security_headers], client_max_size=MAX_MESSAGE_BYTES)
        app.router.add_get("/", self._index)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/ws", self._websocket)
        app.router.add_static("/static/", self.static_dir, follow_symlinks=False)
        add_speedtest_routes(app)
        return app

    def broadcast(self, message: dict[str, Any]) -> None:
        for client in list(self._clients):
            client.send(message)

    async def close(self) -> None:
        for client in list(self._clients):
            await client.ws.close()

    def _on_state(self, snapshot: dict[str, Any]) -> None:
        self.broadcast({"type": "state", "state": snapshot})

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(self.static_dir / "index.html")

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "state": str(self.session.state)})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            # Only the kiosk page itself may drive the booth, not some other page in a browser.
            raise web.HTTPForbidden(text="foreign origin")
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=20)
        await ws.prepare(request)
        client = _Client(ws)
        self._clients.add(client)
        pump = asyncio.get_running_loop().create_task(client.pump())
        client.send({"type": "state", "state": self.session.snapshot()})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._receive(client, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    client.send(_error("malformed", "binary messages are not accepted"))
                elif msg.type == WSMsgType.ERROR:
                    log.warning("ui: websocket error: %s", ws.exception())
        finally:
            self._clients.discard(client)
            pump.cancel()
            # A negotiation under way finishes (its answer goes nowhere): cancelled halfway, it
            # would leave a peer connection half built, holding the camera.
        return ws

    async def _receive(self, client: _Client, raw: str) -> None:
        try:
            kind, name, data = parse_message(raw)
        except InvalidMessage as exc:
            # The reason goes back to the page only: it may quote what was typed, logs must not.
            log.info("ui: rejected a malformed message")
            client.send(_error("invalid", str(exc)))
            return
        if kind == "offer":
            # Answered beside the socket, not in its line: a touch that came after the page's
            # offer waited for the whole answer. "Einwilligung widerrufen" in the first second
            # of a call reached the booth 0.86 s after the touch while aiortc still resolved the
            # page's mDNS names (rtc/sdp.py); the promise is one second, and building a peer
            # connection on a Pi is never instant.
            negotiation = asyncio.get_running_loop().create_task(self._guarded(client, kind, self._offer(client, name)))
            client.negotiations.add(negotiation)
            negotiation.add_done_callback(client.negotiations.discard)
        elif kind != "intent":
            handler = self.handlers.get(kind)
            if handler is None:
                client.send(_error("not_now", f"no {kind} on this booth"))
            else:
                await self._guarded(client, kind, handler(name))
        else:
            await self._guarded(client, kind, self._intent(client, name, data))

    async def _intent(self, client: _Client, name: str, data: dict[str, Any]) -> None:
        accepted = await self.session.handle(name, **data)
        if not accepted:
            client.send({"type": "ignored", "event": name, "state": str(self.session.state)})

    async def _guarded(self, client: _Client, kind: str, handling: Awaitable[None]) -> None:
        """Handle one page message; what goes wrong goes back to the page, never ends the daemon."""
        try:
            await handling
        except (ApplianceError, RtcError) as exc:
            client.send(_error("invalid", str(exc)))
        except Exception:  # the daemon keeps running whatever one message does
            log.exception("ui: handling a %s message failed", kind)
            client.send(_error("internal", "the booth could not handle this message"))

    async def _offer(self, client: _Client, sdp: str) -> None:
        # "no_video", not "not_now": an offer that crossed a change of screen is no fault of the
        # customer's, and the page closes its link quietly instead of saying something failed.
        if self.loopback is None or not self._video_shown():
            client.send(_error("no_video", "no video is shown in this state"))
            return
        answer = await self.loopback.answer(sdp)
        if not self._video_shown():
            # The customer left the check or the call while the answer was made (the daemon's
            # close of the loopback may have come first): the camera stops here too.
            await self.loopback.close()
            client.send(_error("no_video", "no video is shown in this state"))
            return
        client.send({"type": "answer", "sdp": answer})

    def _video_shown(self) -> bool:
        return bool(self.session.snapshot().get("self_view"))


def _error(code: str, message: str) -> dict[str, str]:
    return {"type": "error", "code": code, "message": message}
