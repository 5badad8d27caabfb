"""Which STUN/TURN servers answer: probe them, hand aiortc only those, report the others.

aiortc gathers every candidate inside ``setLocalDescription`` and waits for each configured
server: a STUN server that does not answer costs about 5 s on every call. :class:`IceProber` sends
one STUN request to each server URL with a short timeout, at start and then periodically, and
:meth:`IceProber.usable` filters a server list down to the URLs that answered last time. A STUN
``Binding`` or TURN ``Allocate`` request gets *some* STUN answer from a live server (a TURN server
answers an unauthenticated Allocate with "401 Unauthorized"), which is all a probe needs to know.
UDP, TCP (``?transport=tcp``) and TLS (``turns:``) are probed over their own transport.

:meth:`IceProber.faults` names what is dead (``stun_unreachable``, ``turn_unreachable``), for the
booth to show on the hub as a fault.

Example::

    prober = IceProber(timeout_s=0.5, interval_s=300)
    await prober.probe(hub_servers)            # at start and whenever the hub sends new servers
    config = rtc_configuration(prober.usable(hub_servers))
    prober.faults()                            # e.g. ["stun_unreachable"]
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from aioice import stun

from .protocol import IceServer

log = logging.getLogger("videokiosk.ice")
DEFAULT_PORTS = {"stun": 3478, "turn": 3478, "stuns": 5349, "turns": 5349}


@dataclass(frozen=True)
class ServerUrl:
    """One ``stun:``/``turn:`` URL taken apart."""

    url: str
    scheme: str
    host: str
    port: int
    transport: str  # udp | tcp | tls

    @property
    def is_turn(self) -> bool:
        return self.scheme.startswith("turn")


def parse_url(url: str) -> ServerUrl:
    """``turn:host:port?transport=tcp`` -> parts; raises ValueError for anything else."""
    scheme, _, rest = url.partition(":")
    if scheme not in DEFAULT_PORTS or not rest:
        raise ValueError(f"not a STUN/TURN URL: {url!r}")
    address, _, query = rest.partition("?")
    if address.startswith("["):  # [IPv6]:port
        host, _, port = address[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = address.partition(":")
    transport = parse_qs(query).get("transport", ["udp"])[0].lower()
    if scheme in ("stuns", "turns"):
        transport = "tls"
    if transport not in ("udp", "tcp", "tls") or not host:
        raise ValueError(f"not a STUN/TURN URL: {url!r}")
    return ServerUrl(url, scheme, host, int(port) if port else DEFAULT_PORTS[scheme], transport)


@dataclass(frozen=True)
class ProbeResult:
    url: str
    ok: bool
    rtt_ms: float | None = None
    error: str | None = None


def _request(server: ServerUrl) -> stun.Message:
    method = stun.Method.ALLOCATE if server.is_turn else stun.Method.BINDING
    attributes = {"REQUESTED-TRANSPORT": 17 << 24} if server.is_turn else {}
    return stun.Message(message_method=method, message_class=stun.Class.REQUEST, attributes=attributes)


class _OneAnswer(asyncio.DatagramProtocol):
    def __init__(self, transaction_id: bytes) -> None:
        self.transaction_id = transaction_id
        self.answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            message = stun.parse_message(data)
        except ValueError:
            return
        if message.transaction_id == self.transaction_id and not self.answer.done():
            self.answer.set_result(None)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        if not self.answer.done():
            self.answer.set_exception(exc)


async def _probe_udp(server: ServerUrl, request: stun.Message, timeout_s: float) -> None:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _OneAnswer(request.transaction_id), remote_addr=(server.host, server.port))
    try:
        data = bytes(request)
        deadline = loop.time() + timeout_s
        # Resend once halfway, as STUN does: one lost datagram must not mark a live server dead.
        for share in (0.5, 0.5):
            transport.sendto(data)
            try:
                await asyncio.wait_for(asyncio.shield(protocol.answer), max(0.0, min(timeout_s * share, deadline - loop.time())))
                return
            except asyncio.TimeoutError:
                continue
        raise asyncio.TimeoutError
    finally:
        transport.close()


async def _probe_stream(server: ServerUrl, request: stun.Message, timeout_s: float) -> None:
    tls = ssl.create_default_context() if server.transport == "tls" else None
    reader, writer = await asyncio.open_connection(server.host, server.port, ssl=tls,
                                                   server_hostname=server.host if tls else None)
    try:
        writer.write(bytes(request))  # STUN over TCP/TLS: messages back to back, no extra framing
        await writer.drain()
        header = await reader.readexactly(20)
        length = struct.unpack("!H", header[2:4])[0]
        message = stun.parse_message(header + await reader.readexactly(length))
        if message.transaction_id != request.transaction_id:
            raise ValueError("answer to another request")
    finally:
        writer.close()


async def probe_url(url: str, timeout_s: float = 0.5) -> ProbeResult:
    """Send one STUN request to ``url``; ok if any STUN answer comes back within ``timeout_s``."""
    try:
        server = parse_url(url)
    except ValueError as exc:
        return ProbeResult(url, False, error=str(exc))
    request = _request(server)
    started = time.perf_counter()
    try:
        if server.transport == "udp":
            await _probe_udp(server, request, timeout_s)
        else:
            await asyncio.wait_for(_probe_stream(server, request, timeout_s), timeout_s)
    except asyncio.TimeoutError:
        return ProbeResult(url, False, error=f"no answer within {timeout_s:g} s")
    except (OSError, ValueError, ssl.SSLError, asyncio.IncompleteReadError) as exc:
        return ProbeResult(url, False, error=f"{type(exc).__name__}: {exc}"[:200])
    return ProbeResult(url, True, rtt_ms=(time.perf_counter() - started) * 1000)


def filter_servers(servers: Iterable[IceServer], alive: Callable[[str], bool]) -> list[IceServer]:
    """The servers with only their live URLs; a server with none left is dropped."""
    kept = []
    for server in servers:
        urls = [url for url in server.urls if alive(url)]
        if urls:
            kept.append(server if urls == list(server.urls) else server.model_copy(update={"urls": urls}))
    return kept


class IceProber:
    """Probes STUN/TURN URLs and remembers which answered.

    ``on_change`` is awaited with the new fault list whenever it changes (the booth reports it to
    the hub). URLs never probed count as alive: an admit never waits for a probe; :meth:`probe` runs
    at start and whenever the hub hands out servers, and :meth:`run` repeats it every ``interval_s``.

    Example::

        prober = IceProber(on_change=lambda faults: link.report_faults(faults))
        await prober.probe(servers)
        task = asyncio.create_task(prober.run(lambda: link.ice_servers))
    """

    def __init__(self, timeout_s: float = 0.5, interval_s: float = 300.0,
                 on_change: Callable[[list[str]], Awaitable[None]] | None = None) -> None:
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self._on_change = on_change
        self.results: dict[str, ProbeResult] = {}
        self._faults: list[str] = []
        self._probed_at: float | None = None
        self._running: asyncio.Task | None = None

    def alive(self, url: str) -> bool:
        result = self.results.get(url)
        return result is None or result.ok

    def usable(self, servers: Iterable[IceServer]) -> list[IceServer]:
        return filter_servers(servers, self.alive)

    def dead(self) -> list[ProbeResult]:
        return [r for r in self.results.values() if not r.ok]

    def faults(self) -> list[str]:
        return list(self._faults)

    async def probe(self, servers: Iterable[IceServer]) -> list[ProbeResult]:
        """Probe every URL of ``servers`` at once; forget URLs no longer configured."""
        urls = list(dict.fromkeys(url for server in servers for url in server.urls))
        results = await asyncio.gather(*(probe_url(url, self.timeout_s) for url in urls))
        self.results = {r.url: r for r in results}
        for r in results:
            if not r.ok:
                # The URL names a server of the office's own config, not a person: fine to log.
                log.warning("ICE server %s does not answer (%s): left out of calls", r.url, r.error)
        faults = sorted({"turn_unreachable" if r.url.startswith("turn") else "stun_unreachable" for r in results if not r.ok})
        if faults != self._faults:
            self._faults = faults
            if self._on_change is not None:
                await self._on_change(faults)
        return results

    def refresh(self, servers: Iterable[IceServer]) -> bool:
        """Start a probe in the background if the URLs changed or the last round is older than
        ``interval_s`` (the booth calls this on every session change: well before an admit)."""
        servers = list(servers)
        urls = {url for server in servers for url in server.urls}
        stale = self._probed_at is None or time.monotonic() - self._probed_at > self.interval_s
        if not urls or (self._running is not None and not self._running.done()):
            return False
        if not stale and urls == set(self.results):
            return False
        self._probed_at = time.monotonic()
        self._running = asyncio.ensure_future(self.probe(servers))
        return True

    async def run(self, servers: Callable[[], list[IceServer]]) -> None:
        """Probe ``servers()`` every ``interval_s`` until cancelled."""
        while True:
            try:
                await self.probe(servers())
            except Exception:  # a probe round must never take the booth down
                log.exception("ICE probe round failed")
            await asyncio.sleep(self.interval_s)  # the period between rounds, not a wait for a result
