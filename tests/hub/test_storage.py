"""The storage interface keeps its word on both backends (hub/storage/base.py): a transaction is
all of its block or nothing of it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hub.db import amend_customer, name_call
from hub.storage import open_database


def test_a_failed_transaction_leaves_nothing_and_a_nested_one_is_a_savepoint(hub_database):
    db = open_database(hub_database)
    db.execute("INSERT INTO advisor_sessions (sid_hash, username, csrf, expires_at) VALUES ('s1', 'anna', 'c', 'x')")
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.execute("DELETE FROM advisor_sessions WHERE username = ?", ["anna"])
            db["calls"].upsert({"call_id": "c-1", "expires_at": "2026-01-15T00:00:00+00:00"}, pk="call_id")
            raise RuntimeError("half way")
    assert db["advisor_sessions"].count_where() == 1 and db["calls"].count_where() == 0
    with db.transaction():
        db["calls"].upsert({"call_id": "c-2", "expires_at": "2026-01-15T00:00:00+00:00"}, pk="call_id")
        with pytest.raises(RuntimeError), db.transaction():
            db.execute("DELETE FROM advisor_sessions")
            raise RuntimeError("inner only")
    assert db["advisor_sessions"].count_where() == 1
    assert [r["call_id"] for r in db["calls"].rows_where()] == ["c-2"]
    db.close()


def test_a_block_on_another_thread_never_joins_the_loops_open_transaction(tmp_path):
    """The hub writes on its event loop while a command or a test writes from another thread: the
    second block waits for the first. Joined into it instead (as a savepoint), its row would go when
    the first block fails, although its own block had returned: an acknowledged write lost."""
    import threading

    db = open_database(str(tmp_path / "hub.db"))
    inside, other_returned = threading.Event(), threading.Event()

    def other_thread():
        inside.wait(10)
        with db.transaction():
            db.execute("INSERT INTO calls (call_id, expires_at) VALUES ('from-other-thread', 'x')")
        other_returned.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.execute("INSERT INTO calls (call_id, expires_at) VALUES ('from-the-loop', 'x')")
            inside.set()
            other_returned.wait(1.0)  # it must not get in now; if it could, it would within this second
            raise RuntimeError("the loop's block fails")
    worker.join(10)
    assert other_returned.is_set()
    assert [r["call_id"] for r in db["calls"].rows_where()] == ["from-other-thread"]
    db.close()


def test_details_amended_before_the_admit_names_its_call_stay_the_newer(hub_database):
    """The admit writes the details the customer waited with after its first messages are out;
    details that crossed the admit may be written before that, and are the newer."""
    db = open_database(hub_database)
    expires = datetime(2026, 1, 15, tzinfo=timezone.utc)
    waited = {"name": "Erika Muster", "customer_number": None}
    assert name_call(db, "c-1", waited, expires) == waited
    assert amend_customer(db, "c-1", {"customer_number": "123A456"}, expires) == {**waited, "customer_number": "123A456"}
    amended = amend_customer(db, "c-2", {"name": "Erika Musterfrau"}, expires)
    assert name_call(db, "c-2", waited, expires) == amended == {"name": "Erika Musterfrau", "customer_number": None}
    db.close()
