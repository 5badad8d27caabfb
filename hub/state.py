"""The hub's shared state behind one small interface: presence, the queue, call routes, messages.

One hub process uses :class:`InMemoryState`. Several hub processes behind a load balancer share a
backend with the same methods (Redis: hashes for presence and routes, a sorted set for the queue,
a Lua script for :meth:`SharedState.admit`, pub/sub for :meth:`SharedState.publish`). Everything
that crosses a connection goes through :meth:`publish` on a named channel, so a booth on one
instance and an advisor on another still reach each other:

- ``booth:<booth_id>``: to one booth; ``advisor:<connection id>``: to one advisor socket;
- ``advisors``: to every advisor socket.

Beside these, small shared *tables* of text values by key (:meth:`SharedState.put_record` ...)
hold what one hub writes and another acts on without a shape of its own in this interface: the
group-call bookkeeping (hub/groupcall.py).

Example::

    >>> import asyncio
    >>> from rtc.protocol import WaitingEntry
    >>> state = InMemoryState()
    >>> entry = WaitingEntry(session_id="s-0001", booth_id="booth-1", booth_name="Halle", location="X",
    ...                      since="2026-01-01T08:00:00+00:00", language="de", kind="walk_in")
    >>> asyncio.run(state.enqueue(entry))
    1
    >>> entry, route = asyncio.run(state.admit("s-0001", "c-0001", "anna", "advisor:1"))
    >>> route.booth_id, asyncio.run(state.admit("s-0001", "c-0002", "ben", "advisor:2"))
    ('booth-1', None)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from rtc.protocol import BoothInfo, WaitingEntry

log = logging.getLogger(__name__)

Handler = Callable[[str], None]


def booth_channel(booth_id: str) -> str:
    return f"booth:{booth_id}"


@dataclass(frozen=True)
class CallRoute:
    """Who talks to whom in one call. ``state`` is ``active`` or ``reconnecting``."""

    call_id: str
    booth_id: str
    session_id: str
    advisor: str
    advisor_channel: str
    state: str = "active"

    def with_state(self, state: str) -> "CallRoute":
        return replace(self, state=state)


class SharedState(Protocol):
    # presence
    async def put_presence(self, booth: BoothInfo) -> None: ...
    async def presence(self) -> list[BoothInfo]: ...
    async def get_presence(self, booth_id: str) -> BoothInfo | None: ...

    # the waiting room, in arrival order
    async def enqueue(self, entry: WaitingEntry) -> int | None:
        """Put ``entry`` at the back (a session already waiting keeps its place) and return its
        place, counted from 1. None, and nothing changes, if that session id is another booth's
        customer. One step: no read-then-write, and one round trip on the arrival's hot path."""

    async def update_waiting(self, session_id: str, changes: dict) -> WaitingEntry | None: ...
    async def remove_waiting(self, session_id: str) -> WaitingEntry | None: ...
    async def waiting(self) -> list[WaitingEntry]: ...
    async def get_waiting(self, session_id: str) -> WaitingEntry | None:
        """One waiting entry (without reading the whole queue)."""

    async def waiting_ids(self) -> list[str]:
        """The waiting session ids in arrival order: the places, without reading every entry."""

    async def mark_informed(self, session_id: str) -> bool:
        """True the first time only: the booth is told "advisor informed" once."""

    async def admit(self, session_id: str, call_id: str, advisor: str, advisor_channel: str) -> tuple[WaitingEntry, CallRoute] | None:
        """Atomically take ``session_id`` off the queue and create its call route.

        Exactly one of several racing callers gets the entry and route; the others get None.
        """

    # call routes
    async def get_route(self, call_id: str) -> CallRoute | None: ...
    async def put_route(self, route: CallRoute) -> None: ...
    async def drop_route(self, call_id: str) -> CallRoute | None: ...
    async def routes(self) -> list[CallRoute]: ...

    # small shared tables of text values by key
    async def put_record(self, table: str, key: str, value: str, *, only_new: bool = False) -> bool:
        """Store ``value`` under ``key``; with ``only_new``, only if ``key`` is free. True if stored:
        of several hubs claiming one key with ``only_new``, exactly one gets True."""

    async def get_record(self, table: str, key: str) -> str | None: ...
    async def take_record(self, table: str, key: str) -> str | None:
        """Get and delete in one step: of several racing callers, one gets the value."""

    async def records(self, table: str) -> dict[str, str]: ...

    # messages
    async def publish(self, channel: str, text: str) -> None: ...
    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        """Deliver every message published on ``channel`` to ``handler``; returns the unsubscribe."""

    def deliver(self, channel: str, text: str) -> None:
        """To this instance's subscribers of ``channel`` only (a booth known to be connected here)."""


def deliver_to(handlers: list[Handler], channel: str, text: str) -> None:
    """Hand ``text`` to each handler (the subscribers of ``channel`` in this process)."""
    for handler in list(handlers):
        try:
            handler(text)
        except Exception:  # one broken socket must not stop delivery to the others
            log.exception("subscriber of %s failed", channel.split(":")[0])


class InMemoryState:
    """The embedded default. Atomicity is free: no method awaits between its read and its write."""

    def __init__(self) -> None:
        self._presence: dict[str, BoothInfo] = {}
        self._queue: dict[str, WaitingEntry] = {}  # dicts keep insertion order: the queue order
        self._informed: set[str] = set()
        self._routes: dict[str, CallRoute] = {}
        self._tables: dict[str, dict[str, str]] = {}
        self._subscribers: dict[str, list[Handler]] = {}

    async def put_presence(self, booth: BoothInfo) -> None:
        self._presence[booth.booth_id] = booth

    async def presence(self) -> list[BoothInfo]:
        return list(self._presence.values())

    async def get_presence(self, booth_id: str) -> BoothInfo | None:
        return self._presence.get(booth_id)

    async def enqueue(self, entry: WaitingEntry) -> int | None:
        waiting = self._queue.get(entry.session_id)
        if waiting is None:
            self._queue[entry.session_id] = entry
            return len(self._queue)
        if waiting.booth_id != entry.booth_id:
            return None
        self._queue[entry.session_id] = entry
        return list(self._queue).index(entry.session_id) + 1

    async def update_waiting(self, session_id: str, changes: dict) -> WaitingEntry | None:
        entry = self._queue.get(session_id)
        if entry is None:
            return None
        entry = entry.model_copy(update=changes)
        self._queue[session_id] = entry
        return entry

    async def remove_waiting(self, session_id: str) -> WaitingEntry | None:
        self._informed.discard(session_id)
        return self._queue.pop(session_id, None)

    async def waiting(self) -> list[WaitingEntry]:
        return list(self._queue.values())

    async def get_waiting(self, session_id: str) -> WaitingEntry | None:
        return self._queue.get(session_id)

    async def waiting_ids(self) -> list[str]:
        return list(self._queue)

    async def mark_informed(self, session_id: str) -> bool:
        if session_id not in self._queue or session_id in self._informed:
            return False
        self._informed.add(session_id)
        return True

    async def admit(self, session_id: str, call_id: str, advisor: str, advisor_channel: str) -> tuple[WaitingEntry, CallRoute] | None:
        entry = self._queue.pop(session_id, None)
        if entry is None:
            return None
        self._informed.discard(session_id)
        route = self._routes[call_id] = CallRoute(call_id, entry.booth_id, session_id, advisor, advisor_channel)
        return entry, route

    async def get_route(self, call_id: str) -> CallRoute | None:
        return self._routes.get(call_id)

    async def put_route(self, route: CallRoute) -> None:
        self._routes[route.call_id] = route

    async def drop_route(self, call_id: str) -> CallRoute | None:
        return self._routes.pop(call_id, None)

    async def routes(self) -> list[CallRoute]:
        return list(self._routes.values())

    async def put_record(self, table: str, key: str, value: str, *, only_new: bool = False) -> bool:
        rows = self._tables.setdefault(table, {})
        if only_new and key in rows:
            return False
        rows[key] = value
        return True

    async def get_record(self, table: str, key: str) -> str | None:
        return self._tables.get(table, {}).get(key)

    async def take_record(self, table: str, key: str) -> str | None:
        return self._tables.get(table, {}).pop(key, None)

    async def records(self, table: str) -> dict[str, str]:
        return dict(self._tables.get(table, {}))

    async def publish(self, channel: str, text: str) -> None:
        self.deliver(channel, text)

    def deliver(self, channel: str, text: str) -> None:
        deliver_to(self._subscribers.get(channel, ()), channel, text)

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        self._subscribers.setdefault(channel, []).append(handler)

        def unsubscribe() -> None:
            handlers = self._subscribers.get(channel, [])
            if handler in handlers:
                handlers.remove(handler)
            if not handlers:
                self._subscribers.pop(channel, None)

        return unsubscribe


def state_lifecycle(state: "SharedState"):
    """An aiohttp cleanup context: start the backend with the app, close it after (no-op in-process)."""
    async def ctx(app) -> AsyncIterator[None]:
        start, close = getattr(state, "start", None), getattr(state, "close", None)
        if start is not None:
            await start()
        yield
        if close is not None:
            await close()
    return ctx
