"""Real-time priority for the booth daemon while a call transmits, as far as its service grants it.

One event loop in the daemon sends the customer's voice, a packet every 20 ms, beside the video,
the kiosk page and the hub link. At normal priority it waits for the CPU behind the kiosk's
Chromium whenever the booth is busy, and the advisor's browser sees the voice arrive unevenly: its
jitter buffer then holds every word longer. In ``make bench`` (issue 20) a tenth of the voice's
packets left the booth 7 to 28 ms late or more (by call), the advisor's browser aimed to hold 58 ms
of it where it holds 32 ms from a browser, and the customer's voice reached the advisor 1.4 to 1.9
times as late as a browser's. Browsers run their audio threads real-time (Chromium: round robin, priority 8,
where the system allows it). With the booth's process round robin the same bench measured the
voice's packets within 3 ms of their time at p97, and mouth-to-ear within 1.03x of the browser.

Only during the call: nothing is transmitted before it, and the daemon's start (its imports) and
the device check must not hold the kiosk's Chromium back on a booth with few cores. Every thread of
the process goes round robin when the call starts (the voice's encoder runs on the loop's worker
threads) and back to normal when it ends; threads started meanwhile inherit it and go back too.

How much is granted is the service's to say, once: ``LimitRTPRIO=`` in
``systemd/videokiosk-booth.service`` (an unprivileged process may take round robin up to its
``RLIMIT_RTPRIO``). 0, as outside that unit (a developer's shell, the tests), means normal priority.
The daemon asks for it itself instead of the unit setting ``CPUSchedulingPolicy=``, so a kernel
that refuses real-time inside services (``CONFIG_RT_GROUP_SCHED``) costs a warning, never the
booth: systemd would fail such a unit at its start. Round robin cannot take the booth over: the
kernel leaves at least 5 % of each second to other tasks (``sched_rt_runtime_us``), and a loop that
stops answering misses the watchdog.

The policy is the whole process's: one booth per process, so only a booth process's composition
root subscribes this (``appliance/daemon.py``), as with :mod:`appliance.collections_out_of_calls`.

Example::

    >>> import logging
    >>> calls = RealtimeInCalls(logging.getLogger("demo"), granted=lambda: 0)  # not granted
    >>> calls.follow({"state": "call"}); calls.priority
    0
"""

from __future__ import annotations

import logging
import os
import resource
from collections.abc import Callable, Iterable
from typing import Any

from .journey import State


def granted_priority() -> int:
    """The round-robin priority this process may take (its soft ``RLIMIT_RTPRIO``)."""
    return resource.getrlimit(resource.RLIMIT_RTPRIO)[0]


def own_threads() -> list[int]:
    return [int(tid) for tid in os.listdir("/proc/self/task")]


def schedule(thread: int, priority: int) -> None:
    """Round robin at ``priority`` for one thread of this process; 0: normal priority again."""
    policy = os.SCHED_RR if priority > 0 else os.SCHED_OTHER
    os.sched_setscheduler(thread, policy, os.sched_param(priority))


class RealtimeInCalls:
    """Follows the session's snapshots (``session.subscribe(realtime.follow)``)."""

    def __init__(self, log: logging.Logger, *, granted: Callable[[], int] = granted_priority,
                 threads: Callable[[], Iterable[int]] = own_threads,
                 apply: Callable[[int, int], None] = schedule) -> None:
        self._log = log
        self._granted = granted()
        self._threads = threads
        self._apply = apply
        self._refused = False
        #: The priority the process's threads run at now (0: normal).
        self.priority = 0
        if self._granted > 0:
            log.info("calls will run round robin at real-time priority %d (LimitRTPRIO)", self._granted)
        else:
            log.info("calls run at normal priority: no real-time priority granted (LimitRTPRIO)")

    def follow(self, snapshot: dict[str, Any]) -> None:
        wanted = self._granted if State(snapshot["state"]) is State.CALL and not self._refused else 0
        if wanted != self.priority:
            self._set(wanted)

    def _set(self, priority: int) -> None:
        for thread in self._threads():
            try:
                self._apply(thread, priority)
            except ProcessLookupError:
                continue  # the thread ended meanwhile
            except OSError as exc:
                self._refused = True  # once: the next calls run at normal priority without asking
                self._log.warning("real-time priority %d refused (%s): calls run at normal priority, their sound may "
                                  "arrive unevenly when the booth is busy", priority, exc.strerror or type(exc).__name__)
                if priority > 0:
                    self._set(0)  # the threads it was given to already: none keeps it
                return
        self.priority = priority
        if priority > 0:
            self._log.info("the call runs round robin at real-time priority %d", priority)
