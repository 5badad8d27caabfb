"""Helpers shared by the tests: an asyncio loop in a thread, for serving real sockets to a browser.

Playwright's sync API must not run inside an asyncio loop, so browser tests keep their servers on a
:class:`LoopThread` and talk to them through ``run``.

Example::

    with LoopThread() as lt:
        url = lt.serve(make_app())      # http://127.0.0.1:<free port>
        lt.run(some_coroutine())        # result, or the coroutine's exception
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self._runners: list[web.AppRunner] = []

    def __enter__(self) -> "LoopThread":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def run(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, app: web.Application, host: str = "127.0.0.1") -> str:
        """Serve ``app`` on a free port; returns its base URL."""

        async def start() -> str:
            # Open WebSockets would otherwise hold cleanup for the default 60 s.
            runner = web.AppRunner(app, shutdown_timeout=2.0)
            await runner.setup()
            site = web.TCPSite(runner, host, 0)
            await site.start()
            self._runners.append(runner)
            port = runner.addresses[0][1]
            return f"http://{host}:{port}"

        return self.run(start())

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            for runner in reversed(self._runners):
                await runner.cleanup()

        try:
            self.run(stop(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
