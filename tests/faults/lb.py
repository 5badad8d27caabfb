"""A TCP load balancer in front of several hub instances, as an office deployment has one.

Each new connection goes to the first backend that accepts it, so the test decides where booths
land by the order of ``backends``; when a backend dies, its connections break and new ones go on
to the next. Bytes are copied both ways unchanged (WebSockets and HTTP alike).

Example::

    lb = await TcpBalancer.start([port_a, port_b])
    url = f"http://127.0.0.1:{lb.port}"
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpBalancer:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.port = 0
        self.connections: list[int] = []  # backend port of each accepted connection, in order
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    async def start(cls, backends: list[int]) -> "TcpBalancer":
        lb = cls(backends)
        lb._server = await asyncio.start_server(lb._accept, "127.0.0.1", 0)
        lb.port = lb._server.sockets[0].getsockname()[1]
        return lb

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for port in self.backends:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.connections.append(port)
            pipes = [asyncio.ensure_future(self._copy(reader, up_writer)), asyncio.ensure_future(self._copy(up_reader, writer))]
            self._tasks.update(pipes)
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for task in pipes:
                task.cancel()
                self._tasks.discard(task)
            for w in (writer, up_writer):
                w.close()
            return
        writer.close()  # no backend alive: the client sees a closed connection and retries

    @staticmethod
    async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
