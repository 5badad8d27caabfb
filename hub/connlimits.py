"""Connections that cannot exhaust the hub: a cap per client address, idle and slow clients
closed, the open-files limit raised at start, and a repeated error logged once with a count.

- **Per address.** One address holds at most ``per_address`` connections at once (a proxy in
  front: raise it, and list the proxy in ``server.trusted_proxies``). A connection over the cap
  is aborted before aiohttp sees it.
- **TLS after the cap.** The hub does the TLS handshake itself after admitting the TCP connection
  (``start_tls``), within the idle timeout: a socket that never finishes its hello counts against
  its address and is closed like an idle one (asyncio's own TLS would hold it 60 s, uncounted).
- **Idle and slow.** aiohttp closes a connection that has not completed a request within
  ``idle_timeout_s`` of opening it or of its last answer (keep-alive timeout), which also ends a
  slowloris dripping a header byte by byte; WebSockets keep their own heartbeat.
- **Slow bodies.** aiohttp's keep-alive timer stops once the headers are in, so a client trickling
  the body would hold its handler for good: :func:`body_deadline` gives the whole body
  ``body_timeout_s`` from the headers on, then answers 408 and closes the connection. Its size is
  capped by the app's ``client_max_size`` (the speed test caps its own upload).
- **Open files.** :func:`raise_open_files_limit` lifts the soft limit to the hard one (the unit
  file sets the hard one, ``LimitNOFILE``).
- **Quiet under attack.** :class:`RepeatedErrors` logs the first of a kind of loop error with its
  traceback and then one line per minute with the count, never thousands of tracebacks.

Example::

    >>> limits = AddressCap(per_address=2)
    >>> limits.admit("192.0.2.1"), limits.admit("192.0.2.1"), limits.admit("192.0.2.1")
    (True, True, False)
"""

from __future__ import annotations

import asyncio
import logging
import resource
import ssl
from collections import Counter
from collections.abc import Callable

from aiohttp import web

from .clientaddr import client_key

log = logging.getLogger(__name__)
SUMMARY_EVERY_S = 60.0


def raise_open_files_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard one; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class AddressCap:
    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._open: Counter[str] = Counter()

    def admit(self, key: str) -> bool:
        if self._open[key] >= self.per_address:
            return False
        self._open[key] += 1
        return True

    def release(self, key: str) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]


class _Capped(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the per-address cap. With TLS the cap is
    applied to the bare TCP connection and the handshake comes after it, bounded in time: a
    client that opens sockets and never says hello is refused and dropped like any other."""

    def __init__(self, inner: asyncio.Protocol, cap: AddressCap, refused: Callable[[], None],
                 tls: ssl.SSLContext | None = None, handshake_s: float = 15.0) -> None:
        self._inner = inner
        self._cap = cap
        self._refused = refused
        self._tls = tls
        self._handshake_s = handshake_s
        self._key: str | None = None
        self._handshake: asyncio.Task | None = None
        self._early: list[bytes] | None = None  # decrypted bytes that came before aiohttp was told

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        key = client_key(peer[0] if peer else "?")
        if not self._cap.admit(key):
            self._refused()
            transport.abort()
            return
        self._key = key
        if self._tls is None:
            self._inner.connection_made(transport)
            return
        transport.pause_reading()  # the ClientHello is for the TLS layer, not for this protocol
        self._early = []
        self._handshake = asyncio.ensure_future(self._start_tls(transport))

    async def _start_tls(self, transport: asyncio.BaseTransport) -> None:
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport, self, self._tls, server_side=True, ssl_handshake_timeout=self._handshake_s)
        except OSError:  # no hello in time, a broken one, or the client went: the socket is closed
            self._release()
            return
        early, self._early = self._early, None
        if self._key is None:  # lost between the handshake and now
            return
        self._inner.connection_made(tls)
        for data in early or ():
            self._inner.data_received(data)

    def _release(self) -> bool:
        if self._key is None:
            return False
        self._cap.release(self._key)
        self._key = None
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self._release() and self._early is None:
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._early is not None:
            self._early.append(data)
            return
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._early is not None else self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class BodyTooSlow(TimeoutError):
    """Set on a request body that did not arrive in time. A TimeoutError, so that aiohttp's
    lingering read after the answer ends quietly and closes the connection."""


def body_deadline(timeout_s: float):
    """A middleware: a request body not complete ``timeout_s`` after its headers ends the request
    with 408 and the connection with it."""

    @web.middleware
    async def deadline(request: web.Request, handler):
        if not request.body_exists:
            return await handler(request)
        body = request.content

        def expire() -> None:
            if not body.is_eof():
                body.set_exception(BodyTooSlow())  # wakes the handler's read, now or later

        timer = asyncio.get_running_loop().call_later(timeout_s, expire)
        try:
            return await handler(request)
        except BodyTooSlow:
            log.info("a request body did not arrive within %.0f s: connection closed", timeout_s)
            response = web.json_response({"error": "the request body took too long", "reason": "too_slow"}, status=408)
            response.force_close()
            return response
        finally:
            timer.cancel()

    return deadline


class RepeatedErrors:
    """The event loop's exception handler: each kind of error once in full, then counted."""

    def __init__(self, loop: asyncio.AbstractEventLoop, every_s: float = SUMMARY_EVERY_S) -> None:
        self._loop = loop
        self._every_s = every_s
        self._seen: dict[tuple, list] = {}  # kind -> [count since last line, time of last line]

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        exc = context.get("exception")
        kind = (context.get("message", ""), type(exc).__name__, getattr(exc, "errno", None))
        self.count(kind, lambda: loop.default_exception_handler(context))

    def count(self, kind: tuple, first: Callable[[], None]) -> None:
        now = self._loop.time()
        seen = self._seen.get(kind)
        if seen is None:
            self._seen[kind] = [0, now]
            first()
            return
        seen[0] += 1
        if now - seen[1] >= self._every_s:
            log.error("%s (%s): %d more times in the last %.0f s", kind[0] or "error", kind[1] or "-", seen[0], now - seen[1])
            seen[0], seen[1] = 0, now


async def listen(runner: web.AppRunner, host: str, port: int, *, per_address: int,
                 ssl_context: ssl.SSLContext | None = None, handshake_s: float = 15.0) -> asyncio.Server:
    """Serve ``runner`` (set up, with its keep-alive timeout) on host:port behind the caps; a TLS
    handshake must be done within ``handshake_s``."""
    loop = asyncio.get_running_loop()
    errors = RepeatedErrors(loop)
    loop.set_exception_handler(errors)
    cap = AddressCap(per_address)

    def refused() -> None:
        errors.count(("connection over the per-address cap", "", None),
                     lambda: log.warning("a client address is over its connection cap (%d): refusing", per_address))

    return await loop.create_server(lambda: _Capped(runner.server(), cap, refused, ssl_context, handshake_s), host, port,
                                    backlog=1024, reuse_address=True)
