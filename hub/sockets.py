"""The two WebSocket endpoints: ``/ws/booth`` (device token) and ``/ws/advisor`` (session cookie).

Each incoming text frame is validated with :func:`rtc.protocol.parse`; a bad one gets an
``error`` message back and the connection carries on. Outgoing messages pass through an
:class:`SocketWriter` per socket so they leave in the order they were published.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from rtc import protocol as p
from rtc.errors import ProtocolError

from .auth import APP_ADVISOR_SOCKETS, current_session, require_csrf
from .errors import DATABASE_UNAVAILABLE, STORAGE_RETRY_S
from .registry import Booth, BoothRegistry, hash_token
from .service import ADVISORS, Hub, booth_channel
from .sessions import SocketWatch

log = logging.getLogger(__name__)
APP_HUB = web.AppKey("hub", Hub)
APP_REGISTRY = web.AppKey("registry", BoothRegistry)
APP_BOOTH_SOCKETS = web.AppKey("booth_sockets", dict)
APP_BOOTH_WATCH = web.AppKey("booth_watch", SocketWatch)
# Frames above this close the socket (WebSocket code 1009); between MAX_MESSAGE_BYTES and this the
# peer gets a polite `too_large` error and stays connected.
TRANSPORT_LIMIT = 4 * p.MAX_MESSAGE_BYTES
HELLO_TIMEOUT_S = 10.0


def _websocket(hub: Hub) -> web.WebSocketResponse:
    # No permessage-deflate (browsers ask for it): the messages are small JSON, and a compressor
    # per socket costs memory on every connection and CPU on every message sent.
    return web.WebSocketResponse(heartbeat=hub.config.calls.heartbeat_s, max_msg_size=TRANSPORT_LIMIT, compress=False)


class SocketWriter:
    """Sends queued texts on one socket in order; a peer that stops reading gets disconnected.

    An idle writer holds no task and no text: a hub keeps thousands of idle sockets, and a task
    parked on ``queue.get()`` kept the last text it sent alive (an advisor's snapshot of every
    booth, ~100 KiB with a thousand booths, for as long as the console stayed open).
    """

    def __init__(self, ws: web.WebSocketResponse, limit: int = 1000) -> None:
        self._ws = ws
        self._limit = limit
        self._pending: deque[str] = deque()
        self._task: asyncio.Task | None = None
        self._closed = False

    def put(self, text: str) -> None:
        if self._closed:
            return
        if len(self._pending) >= self._limit:
            log.warning("slow socket: closing it")
            self._closed = True
            self._pending.clear()
            asyncio.ensure_future(self._ws.close())
            return
        self._pending.append(text)
        if self._task is None:
            self._task = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            while self._pending:
                # Without compression send_str writes at once; it waits only while the peer's
                # TCP buffer is full, and meanwhile later texts line up behind this one.
                await self._ws.send_str(self._pending.popleft())
        except (ConnectionError, RuntimeError):
            self._closed = True
            self._pending.clear()
        finally:
            self._task = None

    async def close(self) -> None:
        self._closed = True
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()


async def _pump(ws: web.WebSocketResponse, writer: SocketWriter, accept: frozenset[str],
                handle: Callable[[p.Message], Awaitable[p.Error | None]],
                on_error: Callable[[str], None] = lambda code: None) -> None:
    """Read frames until the socket closes; validate each; answer errors; never raise on bad input."""
    async for frame in ws:
        if frame.type == WSMsgType.TEXT:
            try:
                reply = await handle(p.parse(frame.data, accept))
            except ProtocolError as exc:
                reply = p.error_for(exc)
            except DATABASE_UNAVAILABLE as exc:  # PostgreSQL restarting, SQLite locked: the peer may try again
                log.warning("a message could not be handled, the hub database is unavailable: %s", exc)
                reply = p.Error(code="unavailable", message="the hub's database cannot be reached right now; "
                                                            f"try again in {STORAGE_RETRY_S} s")
            except Exception:  # a bug of ours must not cost the peer its connection
                log.exception("failed to handle a message")
                reply = p.Error(code="internal", message="the hub could not handle this message")
        elif frame.type == WSMsgType.BINARY:
            reply = p.Error(code="malformed", message="binary frames are not part of the protocol")
        else:
            break
        if reply is not None:
            on_error(reply.code)  # counted for the hub's metrics
            writer.put(p.encode(reply))


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


async def booth_socket(request: web.Request) -> web.StreamResponse:
    token = _bearer(request)
    booth = request.app[APP_REGISTRY].verify(token)
    if booth is None:
        raise web.HTTPUnauthorized(text='{"error": "unknown or revoked device token"}', content_type="application/json")
    # Closed within a second when the token is revoked or replaced (a stolen or swapped device).
    return await serve_booth(request, booth, watch=(request.app[APP_BOOTH_WATCH], hash_token(token)))


async def booth_credential(request: web.Request) -> web.Response:
    """``GET /api/booth/credential``: does the hub accept this device token? (``videokiosk selftest``)

    Answers without touching the booth's live connection, so a running booth is never kicked."""
    booth = request.app[APP_REGISTRY].verify(_bearer(request))
    if booth is None:
        raise web.HTTPUnauthorized(text='{"error": "unknown or revoked device token"}', content_type="application/json")
    return web.json_response({"booth": booth.booth_id})


async def serve_booth(request: web.Request, booth: Booth,
                      handle: Callable[[p.Message], Awaitable[p.Error | None]] | None = None,
                      watch: tuple[SocketWatch, str] | None = None,
                      accept: frozenset[str] = p.BOOTH_TO_HUB) -> web.StreamResponse:
    """Speak the booth protocol with an authenticated ``booth``; also used for a customer's own
    browser joining from home by personal link (hub/guest.py), which passes its own ``handle``
    and ``accept`` (its part of the protocol). ``watch`` (the booth's token hash, a guest's pass)
    closes the socket when that no longer holds."""
    hub = request.app[APP_HUB]
    handle = handle or (lambda msg: hub.booth_message(booth, msg))
    ws = _websocket(hub)
    await ws.prepare(request)
    if watch is not None:
        watch[0].add(ws, watch[1])
    # A booth has one connection: a newer one (after a network drop) replaces the old.
    sockets = request.app[APP_BOOTH_SOCKETS]
    old = sockets.get(booth.booth_id)
    sockets[booth.booth_id] = ws
    if old is not None:
        await old.close()
    writer = SocketWriter(ws)
    unsubscribe = hub.state.subscribe(booth_channel(booth.booth_id), writer.put)
    connected = False
    conn_id = id(ws)
    try:
        # The first message must be `hello` (it says whether the booth rejoins a call).
        try:
            first = await ws.receive(timeout=HELLO_TIMEOUT_S)
            hello = p.parse(first.data, frozenset({"hello"})) if first.type == WSMsgType.TEXT else None
        except ProtocolError as exc:
            writer.put(p.encode(p.error_for(exc)))
            hello = None
        except asyncio.TimeoutError:
            hello = None
        if hello is None:
            await asyncio.sleep(0)  # let the writer flush the error before closing
            return ws
        await hub.booth_connected(booth, request.remote or "", hello, conn_id)
        connected = True
        await _pump(ws, writer, accept, handle,
                    lambda code: hub.emit("signalling_error", side="booth", code=code))
    finally:
        unsubscribe()
        if watch is not None:
            watch[0].discard(ws)
        if sockets.get(booth.booth_id) is ws:
            del sockets[booth.booth_id]
        if connected:
            # A grant that ended (token revoked, pass expired) takes the calls along at once.
            await hub.booth_disconnected(booth, conn_id, grant_ended=watch is not None and not watch[0].holds(watch[1]))
        await writer.close()
        await ws.close()
    return ws


async def advisor_socket(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text='{"error": "not_logged_in"}', content_type="application/json")
    require_csrf(request, session, request.query.get("csrf"))
    hub = request.app[APP_HUB]
    ws = _websocket(hub)
    await ws.prepare(request)
    channel = f"advisor:{secrets.token_hex(8)}"
    writer = SocketWriter(ws)
    unsubscribers = [hub.state.subscribe(channel, writer.put), hub.state.subscribe(ADVISORS, writer.put)]
    watch = request.app[APP_ADVISOR_SOCKETS]
    watch.add(ws, session.sid)  # closed within a second when the session ends (hub/sessions.py)
    try:
        await hub.advisor_connected(session.username, channel)
        await _pump(ws, writer, p.ADVISOR_TO_HUB, lambda msg: hub.advisor_message(session.username, channel, msg),
                    lambda code: hub.emit("signalling_error", side="advisor", code=code))
    finally:
        watch.discard(ws)
        for unsubscribe in unsubscribers:
            unsubscribe()
        await hub.advisor_disconnected(channel, session_ended=not watch.holds(session.sid))
        await writer.close()
        await ws.close()
    return ws
