"""The storage interface keeps its word on both backends (hub/storage/base.py): a transaction is
all of its block or nothing of it."""

from __future__ import annotations

import pytest

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
