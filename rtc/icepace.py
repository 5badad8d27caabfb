"""ICE that reports success the moment its check list completes, not at the next 20 ms tick.

aioice's ``Connection.connect()`` paces its connectivity checks with a plain ``sleep(0.02)`` and
looks at the check list only between sleeps. On a call the browser's check usually arrives first
and aioice's triggered check completes the list within a few milliseconds, but ``connect()`` is
still asleep: DTLS, and so the first frame, waits for the rest of the tick. Measured on loopback
(bench/bench_call.py): ICE took 21 ms on every call, of which 5 ms were checks.

:func:`use_prompt_ice` gives one peer connection's ICE connections a ``connect()`` that sleeps the
same 20 ms between checks but wakes as soon as the check list reports completed or failed. It is
aioice 0.13's own ``connect()`` otherwise, step for step; an aioice without the private parts it
relies on keeps its own (and the call simply connects a tick later), with a log line.

Example::

    pc = RTCPeerConnection(config)
    pc.addTrack(camera_track)        # creates the transceivers and their ICE connections
    use_prompt_ice(pc)               # before setLocalDescription / setRemoteDescription
"""

from __future__ import annotations

import asyncio
import functools
import logging
import types

from aioice import Connection
from aiortc import RTCPeerConnection

log = logging.getLogger("videokiosk.ice")
CHECK_INTERVAL_S = 0.02  # aioice's Ta (RFC 8445 section 6.1.4.2): unchanged
# What the replacement connect() uses of aioice 0.13's Connection beyond its public API.
_NEEDS = ("_local_candidates_end", "_remote_candidates", "_pair_remote_candidate", "sort_check_list",
          "_unfreeze_initial", "_early_checks", "_early_checks_done", "check_incoming", "_check_periodic",
          "_check_list", "_check_list_state", "query_consent", "_query_consent_task")


class _WakingQueue(asyncio.Queue):
    """aioice's check-list state queue, which also wakes the pacing sleep when something is put."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def put_nowait(self, item) -> None:
        super().put_nowait(item)
        self.changed.set()


async def _prompt_connect(self: Connection, check_interval_s: float = CHECK_INTERVAL_S) -> None:
    """aioice 0.13 ``Connection.connect()``, with a pacing sleep that ends when the list is done."""
    if not self._local_candidates_end:
        raise ConnectionError("Local candidates gathering was not performed")
    if self.remote_username is None or self.remote_password is None:
        raise ConnectionError("Remote username or password is missing")
    for remote_candidate in self._remote_candidates:
        self._pair_remote_candidate(remote_candidate)
    self.sort_check_list()
    self._unfreeze_initial()
    for early_check in self._early_checks:
        self.check_incoming(*early_check)
    self._early_checks.clear()
    self._early_checks_done = True

    state: _WakingQueue = self._check_list_state
    while self._check_periodic():
        if state.qsize():
            break  # completed (or failed) by a check that finished meanwhile
        try:
            await asyncio.wait_for(state.changed.wait(), check_interval_s)
        except TimeoutError:
            pass
        state.changed.clear()

    res = await state.get() if self._check_list else 2  # aioice's ICE_FAILED
    for check in self._check_list:
        if check.task:
            check.task.cancel()
    if res != 1:  # aioice's ICE_COMPLETED
        raise ConnectionError("ICE negotiation failed")
    self._query_consent_task = asyncio.create_task(self.query_consent())


def _connections(pc: RTCPeerConnection) -> list[Connection]:
    dtls = [t.sender.transport for t in pc.getTransceivers()] + ([pc.sctp.transport] if pc.sctp else [])
    found: list[Connection] = []
    for transport in dtls:
        connection = transport.transport.iceGatherer._connection
        if connection not in found:
            found.append(connection)
    return found


def use_prompt_ice(pc: RTCPeerConnection, check_interval_s: float = CHECK_INTERVAL_S) -> bool:
    """Swap the prompt ``connect()`` into ``pc``'s ICE connections; False if aioice has changed."""
    from aioice import ice

    if (getattr(ice, "ICE_COMPLETED", None), getattr(ice, "ICE_FAILED", None)) != (1, 2):
        log.warning("aioice's check-list states changed: keeping its own ICE pacing")
        return False
    connections = _connections(pc)
    for connection in connections:
        if not all(hasattr(connection, name) for name in _NEEDS) or connection._check_list_state.qsize():
            log.warning("aioice's Connection changed: keeping its own ICE pacing")
            return False
    for connection in connections:
        connection._check_list_state = _WakingQueue()
        connection.connect = types.MethodType(functools.partial(_prompt_connect, check_interval_s=check_interval_s), connection)
    return bool(connections)
