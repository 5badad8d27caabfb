"""Full garbage collections kept out of calls (appliance/collections_out_of_calls.py): the daemon
freezes what it holds when a customer enters the waiting room (without a collection of its own
there), and hands it back after the call, whichever way the call ends."""

from __future__ import annotations

import gc

import pytest

from appliance.collections_out_of_calls import CollectionsOutOfCalls


class Collector:
    """Stands in for ``gc`` and notes what was asked of it."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def collect(self) -> int:  # not to be asked: a collection stops the loop just as the admit may come
        self.asked.append("collect")
        return 0

    def freeze(self) -> None:
        self.asked.append("freeze")

    def unfreeze(self) -> None:
        self.asked.append("unfreeze")


def walk(states: list[str]) -> list[list[str]]:
    """What the collector was asked at each state of the journey."""
    collector = Collector()
    quiet = CollectionsOutOfCalls(collector)
    asked = []
    for state in states:
        before = len(collector.asked)
        quiet.follow({"state": state})
        asked.append(collector.asked[before:])
    return asked


def test_a_call_is_frozen_from_the_waiting_room_to_its_end():
    asked = walk(["idle", "consent", "device_check", "waiting", "call", "survey", "goodbye", "idle"])
    assert asked == [[], [], [], ["freeze"], [], ["unfreeze"], [], []]


@pytest.mark.parametrize("after", ["idle", "consent", "out_of_service"], ids=["cancelled", "withdrawn", "out of service"])
def test_leaving_the_waiting_room_without_a_call_unfreezes(after):
    assert walk(["waiting", after]) == [["freeze"], ["unfreeze"]]


def test_snapshots_within_the_call_ask_nothing_more():
    assert walk(["waiting", "waiting", "call", "call", "idle"]) == [["freeze"], [], [], [], ["unfreeze"]]


def test_the_real_collector_holds_objects_only_while_a_customer_waits_or_talks():
    quiet = CollectionsOutOfCalls()
    assert gc.get_freeze_count() == 0
    try:
        quiet.follow({"state": "waiting"})
        assert gc.get_freeze_count() > 0
        quiet.follow({"state": "call"})
        assert gc.get_freeze_count() > 0
    finally:
        quiet.follow({"state": "survey"})
    assert gc.get_freeze_count() == 0
