"""The end of a served process: SIGINT (Ctrl+C) or SIGTERM (systemd stopping the service).

The hub (``videokiosk hub serve``), the demo and the booth daemon stop on the same two signals::

    await wait_for_signal()  # the hub and the demo: serve until one of them arrives
    on_stop_signal(booth.request_exit)  # the booth: a technician's restart ends it as well
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_stop_signal(callback: Callable[[], object]) -> None:
    """Call ``callback`` in the running loop when SIGINT or SIGTERM arrives."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, callback)


async def wait_for_signal() -> None:
    """Return once SIGINT or SIGTERM has arrived."""
    stop = asyncio.Event()
    on_stop_signal(stop.set)
    await stop.wait()
