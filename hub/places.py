"""Each waiting customer's place in the queue, told to their booth when it changes.

Every hub instance tells only the booths connected to it, and only places that changed. Any
change to the queue, on this instance or on another one sharing the state, is announced on the
``queue`` channel; each instance then reads the order once (session ids only, not the entries)
and sends the new places. Why it is built like this: with a thousand customers waiting, the old
way (the instance that saw the change re-sent every place, through Redis for the other instances)
put a thousand messages in front of the advisors' notice of the next arrival. Now changes that
come in quick succession cost one pass, the pass runs after the notices already on their way, and
it yields every few hundred messages so an arrival is never stuck behind it.

Example::

    >>> import asyncio
    >>> from hub.state import InMemoryState
    >>> state = InMemoryState()
    >>> places = QueuePlaces(state, per_call_s=240)
    >>> places.arrived("s-0001", "jc-halle-1", 1)  # a booth connected here is first in the queue
    >>> asyncio.run(places.changed())  # someone left: new places go out soon after, changed ones only
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from rtc import protocol as p

from .state import SharedState, booth_channel

log = logging.getLogger(__name__)
QUEUE = "queue"  # channel: "the queue changed", between hub instances
CHUNK = 20  # places sent before yielding to the loop (and to an arrival waiting behind them)
PAUSE_S = 0.001  # between chunks: the loop gets whole iterations without a chunk (Redis writer, replies)


class QueuePlaces:
    """Places for the waiting customers at booths connected to this instance."""

    def __init__(self, state: SharedState, per_call_s: float) -> None:
        self._state = state
        self._per_call_s = per_call_s
        self._local: dict[str, str] = {}  # session id -> booth id, customers at booths connected here
        self._told: dict[str, int] = {}  # session id -> the place that booth was told last
        self._dirty = False
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] = state.subscribe(QUEUE, lambda _text: self._schedule())

    def arrived(self, session_id: str, booth_id: str, place: int) -> None:
        """A booth here sent ``waiting`` and got ``place``: it hears it now (again, for a rejoin)."""
        self._local[session_id] = booth_id
        self._tell(session_id, booth_id, place)

    def _tell(self, session_id: str, booth_id: str, place: int) -> None:
        self._told[session_id] = place
        self._state.deliver(booth_channel(booth_id), p.encode(p.QueueUpdate(
            session_id=session_id, position=place, estimated_wait_s=(place - 1) * self._per_call_s)))

    def forget(self, session_id: str) -> None:
        self._local.pop(session_id, None)
        self._told.pop(session_id, None)

    def forget_booth(self, booth_id: str) -> list[str]:
        """Forget the customers waiting at ``booth_id`` (it went away); returns their session ids."""
        sessions = [s for s, b in self._local.items() if b == booth_id]
        for session_id in sessions:
            self.forget(session_id)
        return sessions

    async def changed(self) -> None:
        """The queue changed: every instance (this one included) tells its booths their new places."""
        await self._state.publish(QUEUE, "changed")

    def _schedule(self) -> None:
        self._dirty = True
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while self._dirty:
                self._dirty = False
                await asyncio.sleep(0)  # the advisors' notices of this change go out first
                await self._tell_all()
        except Exception:  # Redis away, say: the next change tries again
            log.exception("queue places not sent")
        finally:
            self._task = None

    async def _tell_all(self) -> None:
        if not self._local:
            return  # nobody waits at a booth connected here
        known = list(self._local)  # an arrival during the read below is not in `order` yet
        order = await self._state.waiting_ids()
        still = set(order)
        for session_id in known:
            if session_id not in still:  # admitted or gone, perhaps through another instance
                self.forget(session_id)
        sent = 0
        for place, session_id in enumerate(order, start=1):
            booth_id = self._local.get(session_id)  # checked again after each yield: it may have left
            if booth_id is None or self._told.get(session_id) == place:
                continue
            self._tell(session_id, booth_id, place)
            sent += 1
            if sent % CHUNK == 0:
                await asyncio.sleep(PAUSE_S)

    async def close(self) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
