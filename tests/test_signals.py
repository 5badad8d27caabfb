"""A served process (hub, demo, booth) stops on SIGINT and on SIGTERM (videokiosk/signals.py)."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from videokiosk.signals import on_stop_signal, wait_for_signal


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_either_signal_ends_the_wait(sig):
    waiting = asyncio.create_task(wait_for_signal())
    await asyncio.sleep(0)  # the handlers are in place once the task has started
    os.kill(os.getpid(), sig)
    await asyncio.wait_for(waiting, 10)


async def test_the_booth_gets_its_callback():
    called = asyncio.Event()
    on_stop_signal(called.set)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(called.wait(), 10)
