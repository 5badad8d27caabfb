"""What one hub socket costs: no permessage-deflate, and an idle writer keeps nothing it sent.

A hub holds thousands of sockets; these are the two things that made each one expensive (a
compressor per socket; the last text sent, e.g. an advisor's snapshot of every booth, kept alive
by the socket's idle writer).
"""

from __future__ import annotations

import asyncio
import secrets
import sys

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.sockets import SocketWriter


async def test_hub_sockets_refuse_permessage_deflate(running_hub):
    advisor = await running_hub.advisor("anna")  # aiohttp's client asks for deflate, as browsers do
    booth = await running_hub.booth()
    for sock in (advisor, booth):
        assert sock.ws.compress == 0
        await sock.close()


async def test_a_socket_writer_sends_in_order_and_then_holds_no_text():
    sent = "snapshot " + secrets.token_hex(8) + " " + "x" * 200_000  # one object, counted below
    before = sys.getrefcount(sent)
    ready: asyncio.Future[SocketWriter] = asyncio.get_running_loop().create_future()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        ready.set_result(SocketWriter(ws))
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(server.make_url("/ws"), max_msg_size=0) as ws:
            writer = await asyncio.wait_for(ready, 10)
            writer.put("first")
            writer.put("second")
            writer.put(sent)  # the last one sent is the one an idle writer kept
            got = [(await ws.receive(timeout=10)).data for _ in range(3)]
            assert got == ["first", "second", sent]
            del got
            assert sys.getrefcount(sent) == before  # the writer let go of it once it was on the wire
            await writer.close()
    finally:
        await server.close()
