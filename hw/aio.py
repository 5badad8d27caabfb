"""Small asyncio helpers for device loops."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Cancel ``task`` and wait until it has really stopped (it may be holding a device).

    Example::

        >>> async def demo():
        ...     task = asyncio.get_running_loop().create_task(asyncio.sleep(60))
        ...     await cancel_and_wait(task)
        ...     return task.cancelled()
        >>> asyncio.run(demo())
        True
    """
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
