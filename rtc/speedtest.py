"""Upload and download rate, measured over plain HTTP against the hub (or the booth server).

Server side: :func:`add_speedtest_routes` registers ``GET /speedtest/download?bytes=N`` (N random
bytes, never cached) and ``POST /speedtest/upload`` (counts the body, keeps nothing). Client side:
:func:`measure` times one transfer each way. No aiortc here: the hub imports this module.

Example::

    app = web.Application()
    add_speedtest_routes(app)
    async with aiohttp.ClientSession() as http:
        up_kbps, down_kbps = await measure("http://127.0.0.1:8080", http)
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from .errors import RtcError

MIN_BYTES = 1024
MAX_BYTES = 8 * 1024 * 1024
# 512 KiB: long enough at 350 kbit/s to mean something (~12 s at worst is capped by the timeout),
# short enough not to disturb a hall's shared uplink.
DEFAULT_BYTES = 512 * 1024
CHUNK = 64 * 1024
# One random block, repeated: random so no proxy can compress it, shared so serving costs nothing.
_BLOCK = os.urandom(CHUNK)


def _clamp(raw: str | None) -> int:
    try:
        wanted = int(raw) if raw is not None else DEFAULT_BYTES
    except ValueError:
        raise web.HTTPBadRequest(text="bytes must be a whole number") from None
    return max(MIN_BYTES, min(MAX_BYTES, wanted))


async def download(request: web.Request) -> web.StreamResponse:
    size = _clamp(request.query.get("bytes"))
    response = web.StreamResponse(headers={
        "Content-Type": "application/octet-stream",
        "Content-Length": str(size),
        "Cache-Control": "no-store",
    })
    await response.prepare(request)
    left = size
    while left > 0:
        piece = _BLOCK[: min(CHUNK, left)]
        await response.write(piece)
        left -= len(piece)
    await response.write_eof()
    return response


async def upload(request: web.Request) -> web.Response:
    received = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        received += len(chunk)
        if received > MAX_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BYTES, actual_size=received)
    return web.json_response({"bytes": received}, headers={"Cache-Control": "no-store"})


def add_speedtest_routes(app: web.Application) -> None:
    app.router.add_get("/speedtest/download", download)
    app.router.add_post("/speedtest/upload", upload)


def _kbps(size: int, seconds: float) -> int:
    return int(size * 8 / 1000 / max(seconds, 1e-6))


async def _body(size: int) -> AsyncIterator[bytes]:
    left = size
    while left > 0:
        piece = _BLOCK[: min(CHUNK, left)]
        yield piece
        left -= len(piece)


async def measure(
    base_url: str,
    session: aiohttp.ClientSession,
    *,
    size: int = DEFAULT_BYTES,
    timeout_s: float = 15.0,
) -> tuple[int, int]:
    """Return ``(up_kbps, down_kbps)``. Raises :class:`RtcError` if the server cannot be reached.

    A transfer that does not finish within ``timeout_s`` counts what arrived so far, which is the
    honest answer on a line too slow for a call.
    """
    base = base_url.rstrip("/")
    limit = aiohttp.ClientTimeout(total=timeout_s)
    try:
        start = time.perf_counter()
        got = 0
        try:
            async with session.get(f"{base}/speedtest/download", params={"bytes": str(size)}, timeout=limit) as resp:
                resp.raise_for_status()
                async for chunk in resp.content.iter_chunked(CHUNK):
                    got += len(chunk)
        except TimeoutError:
            pass
        down = _kbps(got, time.perf_counter() - start)

        start = time.perf_counter()
        try:
            async with session.post(f"{base}/speedtest/upload", data=_body(size), timeout=limit) as resp:
                resp.raise_for_status()
                sent = int((await resp.json()).get("bytes", 0))
        except TimeoutError:
            sent = 0
        up = _kbps(sent, time.perf_counter() - start)
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise RtcError(f"speed test against {base} failed: {exc}") from None
    return up, down
