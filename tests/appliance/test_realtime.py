"""Real-time priority while a call transmits (appliance/realtime.py): every thread of the booth's
process round robin in the call, normal again after it, and a refusal costs a warning only."""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys

import pytest

from appliance.realtime import RealtimeInCalls
from tests.systemd.unitroot import REPO, booth_realtime_priority

# A booth process in small: a worker thread from before the call, the session's states, a thread
# started during the call. Prints each thread's (policy, priority) at each step.
PROCESS = r"""
import json, logging, os, threading
from appliance.realtime import RealtimeInCalls

def policies():
    seen = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            seen.add((os.sched_getscheduler(int(tid)), os.sched_getparam(int(tid)).sched_priority))
        except ProcessLookupError:
            pass
    return sorted(seen)

stop = threading.Event()
def worker(started):
    started.set()
    stop.wait()
def start_thread():
    started = threading.Event()
    threading.Thread(target=worker, args=(started,)).start()
    started.wait()

class Said(logging.Handler):
    def emit(self, record):
        said.append(record.getMessage())

said = []
logging.getLogger("test").addHandler(Said())
logging.getLogger("test").setLevel(logging.INFO)
start_thread()
realtime = RealtimeInCalls(logging.getLogger("test"), **({"granted": lambda: GRANTED} if GRANTED else {}))
steps = {}
for state in ("waiting", "call"):
    realtime.follow({"state": state})
    steps[state] = policies()
start_thread()
steps["call, a new thread"] = policies()
realtime.follow({"state": "survey"})
steps["survey"] = policies()
stop.set()
print(json.dumps({"steps": steps, "said": said}))
"""


def run_booth_process(granted: int | None) -> dict:
    """``granted``: as its service would grant it; None: as its RLIMIT_RTPRIO says, which is 0 here."""
    def no_limit() -> None:
        resource.setrlimit(resource.RLIMIT_RTPRIO, (0, resource.getrlimit(resource.RLIMIT_RTPRIO)[1]))

    done = subprocess.run([sys.executable, "-c", f"GRANTED = {granted}\n" + PROCESS], capture_output=True, text=True,
                          timeout=60, cwd=REPO, preexec_fn=no_limit)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    return {step: [tuple(p) for p in seen] for step, seen in out["steps"].items()}, out["said"]


def test_every_thread_runs_round_robin_in_the_call_and_normal_after_it():
    priority = booth_realtime_priority()
    assert priority > 0
    steps, said = run_booth_process(priority)
    if any("refused" in line for line in said):
        pytest.skip(f"this machine refuses real-time priority (no CAP_SYS_NICE?): {said}")
    assert f"the call runs round robin at real-time priority {priority}" in said
    normal = [(os.SCHED_OTHER, 0)]
    assert steps == {"waiting": normal, "call": [(os.SCHED_RR, priority)], "call, a new thread": [(os.SCHED_RR, priority)],
                     "survey": normal}


def test_without_a_grant_the_call_runs_at_normal_priority():
    steps, said = run_booth_process(None)
    assert said == ["calls run at normal priority: no real-time priority granted (LimitRTPRIO)"]
    assert set(steps) == {"waiting", "call", "call, a new thread", "survey"}
    assert all(seen == [(os.SCHED_OTHER, 0)] for seen in steps.values()), steps


def test_a_refusal_is_a_warning_once_and_no_thread_keeps_the_priority(caplog):
    applied: dict[int, int] = {}

    def apply(thread: int, priority: int) -> None:
        if thread == 3 and priority > 0:
            raise PermissionError(1, "Operation not permitted")
        if thread == 2:
            raise ProcessLookupError(3, "No such process")  # a thread that ended meanwhile
        applied[thread] = priority

    realtime = RealtimeInCalls(logging.getLogger("test"), granted=lambda: 5, threads=lambda: [1, 2, 3, 4], apply=apply)
    with caplog.at_level(logging.INFO, logger="test"):
        realtime.follow({"state": "call"})
        assert realtime.priority == 0 and applied == {1: 0, 3: 0, 4: 0}
        realtime.follow({"state": "survey"})
        realtime.follow({"state": "call"})  # the next call does not ask again
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING
    assert "Operation not permitted" in refusals[0].getMessage()
    assert realtime.priority == 0 and applied == {1: 0, 3: 0, 4: 0}
