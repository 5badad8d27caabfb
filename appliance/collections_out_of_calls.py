"""Python's full garbage collections kept out of calls.

A full (generation 2) collection walks every object the daemon holds and stops its event loop
while it does, and that loop sends the customer's voice every 20 ms. In ``make bench`` one came
about 3 s into each call: 44.7 and 46.6 ms, each at the moment of the largest gap in the booth's
audio (issue 20). So when a customer enters the waiting room the daemon freezes what it holds
(``gc.freeze``): a collection during the call then walks only what the call made. After the call
the objects are handed back (``gc.unfreeze``), so what became garbage meanwhile is collected as
before.

It freezes without collecting first: a collection there would stop the loop just as the
advisor's admit may come, for as long as a full collection takes (45 ms on a desktop; Python in
the VM test's emulated booth runs about 15 times slower), while a freeze only moves lists. What
was garbage then is freed after the call instead.

``gc`` is the whole process's: one booth per process, so only a booth process's composition root
subscribes this (``appliance/daemon.py``), never a :class:`~appliance.daemon.Booth`, which tests
run several of in one process.

Example::

    >>> import gc
    >>> quiet = CollectionsOutOfCalls(gc)
    >>> quiet.follow({"state": "waiting"}); gc.get_freeze_count() > 0
    True
    >>> quiet.follow({"state": "call"}); quiet.follow({"state": "survey"}); gc.get_freeze_count()
    0
"""

from __future__ import annotations

import gc
from typing import Any, Protocol

from .journey import State

# Frozen from the waiting room to the call's end: between them nothing is collected but what is new.
FROZEN_IN = frozenset({State.WAITING, State.CALL})


class Collector(Protocol):
    """What is used of ``gc`` (a test passes its own)."""

    def freeze(self) -> None: ...
    def unfreeze(self) -> None: ...


class CollectionsOutOfCalls:
    """Follows the session's snapshots (``session.subscribe(quiet.follow)``); ``collector`` is ``gc``."""

    def __init__(self, collector: Collector = gc) -> None:
        self._gc = collector
        self._frozen = False

    def follow(self, snapshot: dict[str, Any]) -> None:
        frozen_now = State(snapshot["state"]) in FROZEN_IN
        if frozen_now and not self._frozen:
            self._gc.freeze()
        elif self._frozen and not frozen_now:
            self._gc.unfreeze()
        self._frozen = frozen_now
