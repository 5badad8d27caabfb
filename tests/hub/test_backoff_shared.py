"""The back-offs' failure stores (hub/backoff.py, hub/backoff_redis.py): what one hub counts,
another hub sharing the Redis waits for; the numbers are the same in memory and in Redis; client
addresses never stand in Redis as such; a Redis that is down leaves each hub counting alone
instead of failing a log-in."""

from __future__ import annotations

import logging
import secrets

import pytest

from hub.backoff import GUESS_BASE_S, GUESS_FREE, GUESS_MAX_S, Backoff, MemoryFailures
from hub.backoff_redis import RedisFailures
from tests.faults.servers import free_port
from videokiosk.clock import FakeClock

ADDRESS = "203.0.113.7"


@pytest.fixture(params=["memory", "redis"])
def two_hubs(request):
    """The back-off of appointment guesses as two hubs hold it: sharing one store."""
    clock = FakeClock()
    if request.param == "memory":  # one hub: the two are one process's
        failures = MemoryFailures(clock)
        yield Backoff.for_guesses(failures, "appointment"), Backoff.for_guesses(failures, "appointment")
        return
    server = request.getfixturevalue("redis_server")
    prefix = f"t{secrets.token_hex(4)}:"
    a, b = (RedisFailures.from_url(server.url, prefix, clock) for _ in range(2))
    yield Backoff.for_guesses(a, "appointment"), Backoff.for_guesses(b, "appointment")
    a.close()
    b.close()


def test_failures_on_one_hub_make_the_other_wait_with_the_same_numbers(two_hubs):
    a, b = two_hubs
    for i in range(GUESS_FREE):
        assert a.wait_s(ADDRESS) == 0.0 and b.wait_s(ADDRESS) == 0.0
        (a if i % 2 else b).failed(ADDRESS)
    # The free tries are used up across both: the first wait, counted from the last failure.
    assert GUESS_BASE_S - 1 < b.wait_s(ADDRESS) <= GUESS_BASE_S
    for _ in range(10):
        a.failed(ADDRESS)
    assert GUESS_MAX_S - 1 < b.wait_s(ADDRESS) <= GUESS_MAX_S
    assert a.wait_s("198.51.100.1") == 0.0  # another address: nothing to wait


def test_a_failure_taken_back_or_a_success_is_seen_by_every_hub(two_hubs):
    a, b = two_hubs
    for _ in range(GUESS_FREE):
        a.failed(ADDRESS)
    assert b.wait_s(ADDRESS) > 0
    b.forgive(ADDRESS)  # the last attempt turned out right
    assert a.wait_s(ADDRESS) == 0.0
    a.failed(ADDRESS)
    b.succeeded(ADDRESS)
    for _ in range(GUESS_FREE - 1):
        a.failed(ADDRESS)
    assert b.wait_s(ADDRESS) == 0.0  # the count started again after the success


def test_redis_holds_no_address_and_forgets_a_quiet_key(redis_server):
    failures = RedisFailures.from_url(redis_server.url, f"t{secrets.token_hex(4)}:", FakeClock())
    Backoff.for_guesses(failures, "appointment").failed(ADDRESS)
    key = failures.key("appointment", ADDRESS)
    assert failures.client.exists(key) and ADDRESS not in key
    assert not [k for k in failures.client.keys("*") if ADDRESS in k]
    assert 0 < failures.client.pttl(key) <= 900_000  # forgotten 15 minutes after the last failure
    failures.close()


def test_a_redis_that_is_down_leaves_each_hub_counting_alone(caplog):
    clock = FakeClock()
    failures = RedisFailures.from_url(f"redis://127.0.0.1:{free_port()}/0", "vk:", clock)  # nothing listens
    guesses = Backoff.for_guesses(failures, "appointment")
    with caplog.at_level(logging.WARNING, logger="hub.backoff_redis"):
        for _ in range(GUESS_FREE):
            guesses.failed(ADDRESS)
        assert guesses.wait_s(ADDRESS) == GUESS_BASE_S  # no error: counted in this hub's memory
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and ADDRESS not in warnings[0].getMessage()  # said once, without the address
    failures.close()
