"""The 14-day promise, withdrawal, an unlinkable survey and a schema with only consented fields."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from appliance.errors import StoreError
from appliance.store import BoothStore
from videokiosk.surveypool import RELEASE_AT, week_of

# DEVELOPERS.md, promise 2: these and nothing else (plus keys and expiries).
CONSENTED = {
    "consents": {"session_id", "consented_at", "text_hash", "language", "expires_at"},
    "participants": {"session_id", "kind", "customer_number", "name", "role", "expires_at"},
    "technical": {"session_id", "ip_address", "operating_system", "device", "browser", "upload_kbps",
                  "download_kbps", "transmission_quality", "expires_at"},
    "survey": {"week", "question", "answer", "responses"},
}


def fill(store, sid="s1"):
    store.record_consent(sid, "de", "sha256:abc")
    store.record_customer(sid, name="Ada", customer_number="123")
    store.record_participant_role(sid, "interpreter")
    store.record_technical(sid, upload_kbps=900, download_kbps=1200, operating_system="Linux")


def personal_rows(store):
    return sum(len(store.rows(t)) for t in ("consents", "participants", "technical"))


def test_row_at_13_days_stays_and_at_14_days_is_gone(store, clock):
    fill(store)
    start = clock.now()
    store.bump_stats(start.date(), calls=1)
    for _ in range(RELEASE_AT):
        store.record_survey(start.date(), rating=4, easy=True, again=True)
    # Expiries are whole days (videokiosk/retention.py): a row lives 13 to 14 days.
    assert store.purge(start + timedelta(days=13)) == {"consents": 0, "participants": 0, "technical": 0}
    assert personal_rows(store) == 4
    assert store.purge(start + timedelta(days=14)) == {"consents": 1, "participants": 2, "technical": 1}
    assert personal_rows(store) == 0
    # anonymous tables are untouched by the purge
    assert store.rows("daily_stats")[0]["calls"] == 1 and len(store.rows("survey")) == 3


def test_purge_is_seen_by_a_second_connection_and_survives_reopen(tmp_path, clock):
    path = tmp_path / "booth.db"
    a = BoothStore(path, clock=clock)
    fill(a, "old")
    clock.advance(timedelta(days=10))
    fill(a, "new")
    a.purge(clock.advance(timedelta(days=4)))
    a.close()
    b = BoothStore(path, clock=clock)
    assert {r["session_id"] for r in b.rows("consents")} == {"new"}
    b.close()


def test_withdraw_deletes_only_that_session(store):
    fill(store, "a")
    fill(store, "b")
    assert store.withdraw("a") == 4
    assert {r["session_id"] for t in ("consents", "participants", "technical") for r in store.rows(t)} == {"b"}


def test_a_withdrawal_waits_for_the_hub_in_the_same_transaction_as_the_deletion(tmp_path, store, clock):
    """Kept by withdraw() itself, not later by the hub link's errand: a power cut between the two
    would lose it. Only the random id; gone once delivered, or with the purge after the retention."""
    fill(store, "a")
    fill(store, "b")
    store.withdraw("a")
    store.close()
    store = BoothStore(tmp_path / "booth.db", clock=clock)  # the errand never ran: a power cut
    assert store.pending_withdrawals() == ["a"] and store.columns("withdrawals") == ["session_id", "expires_at"]
    store.withdraw("b")
    store.withdrawal_delivered("a")
    assert store.pending_withdrawals() == ["b"]
    store.purge(clock.advance(timedelta(days=store.retention_days - 1)))
    assert store.pending_withdrawals() == ["b"]
    store.purge(clock.advance(timedelta(days=1)))  # the hub's rows it would delete are gone by now too
    assert store.pending_withdrawals() == []
    store.close()
    alone = BoothStore(tmp_path / "alone.db", clock=clock, keep_withdrawals=False)  # a booth without a hub
    fill(alone, "c")
    alone.withdraw("c")
    assert alone.pending_withdrawals() == []
    alone.close()


@pytest.mark.parametrize("first_write", ["purge", "next customer's consent"])
def test_a_withdrawal_the_disk_did_not_take_is_done_with_the_first_write_it_takes(store, clock, first_write):
    """A full disk, or an SD card the kernel remounted read-only (here: the connection made
    read-only), takes no deletion: withdraw() says so, and the rows go before the first write the
    disk takes again, with the hub's outbox entry in the same transaction."""
    fill(store, "a")
    fill(store, "b")
    store.db.execute("PRAGMA query_only = ON")
    with pytest.raises(StoreError, match="could not be written"):
        store.withdraw("a")
    with pytest.raises(StoreError):
        store.record_consent("c", "de", "sha256:abc")  # still nothing taken: "a" waits on
    assert {r["session_id"] for r in store.rows("consents")} == {"a", "b"}
    store.db.execute("PRAGMA query_only = OFF")
    if first_write == "purge":
        store.purge(clock.now())
    else:
        store.record_consent("c", "de", "sha256:abc")
    assert all(r["session_id"] != "a" for t in ("consents", "participants", "technical") for r in store.rows(t))
    assert len(store.rows("participants")) == 2 and store.pending_withdrawals() == ["a"]  # b's untouched
    store.withdrawal_delivered("a")
    store.record_consent("d", "de", "sha256:abc")  # done once: nothing tried again
    assert store.pending_withdrawals() == []


def test_survey_rows_carry_no_session_link_and_only_a_week(store, clock):
    fill(store)
    day = clock.now().date()
    for _ in range(RELEASE_AT - 2):
        store.record_survey(day, rating=5, easy=True, again=None)
    store.record_survey(day, rating=5, easy=False, again=True)
    assert store.rows("survey") == []  # four surveys: nothing written yet, not even a count
    store.record_survey(day + timedelta(days=1), rating=3, easy=None, again=None)
    cols = set(store.columns("survey"))
    assert "session_id" not in cols and not any("time" in c or c.endswith("_at") for c in cols)
    rows = {(r["question"], r["answer"]): r["responses"] for r in store.rows("survey")}
    assert rows == {("rating", "5"): 4, ("rating", "3"): 1, ("easy", "yes"): 3, ("easy", "no"): 1, ("again", "yes"): 1}
    assert {r["week"] for r in store.rows("survey")} == {week_of(day).isoformat()}
    # no rowid either: insertion order cannot be lined up with the consent table
    with pytest.raises(sqlite3.OperationalError):
        store.db.execute("SELECT rowid FROM survey")


def test_schema_holds_exactly_the_consented_fields(store):
    for table, allowed in CONSENTED.items():
        assert set(store.columns(table)) == allowed, table
    stats = set(store.columns("daily_stats"))
    assert not stats & {"session_id", "name", "customer_number", "ip_address", "role"}
    with pytest.raises(StoreError, match="not a consented technical field: email"):
        store.record_technical("s1", email="a@b.c")


def test_nothing_is_stored_about_a_session_before_its_consent(store):
    with pytest.raises(StoreError):
        store.record_customer("nobody", name="Ada", customer_number=None)
    assert personal_rows(store) == 0


def test_other_participants_keep_a_role_and_never_a_name(store):
    store.record_consent("s", "de", "h")
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("INSERT INTO participants (session_id, kind, name, expires_at) VALUES ('s','other','X','z')")
    # A further participant who joins the call (twice: reconnected) is one row with the role alone,
    # kept with the customer's session: her withdrawal takes it along.
    store.record_participant_role("s", "interpreter")
    store.record_participant_role("s", "interpreter")
    assert [(r["kind"], r["role"], r["name"]) for r in store.rows("participants")] == [("other", "interpreter", None)]
    store.withdraw("s")
    assert store.rows("participants") == []


def test_store_file_is_private(tmp_path, clock):
    s = BoothStore(tmp_path / "sub" / "booth.db", clock=clock)
    assert (tmp_path / "sub" / "booth.db").stat().st_mode & 0o077 == 0
    s.close()


def test_unwritable_location_gives_a_clear_error(tmp_path, clock):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the booth store"):
        BoothStore(blocker / "booth.db", clock=clock)
