"""The hub's schema migrations (hub/storage/migrations.py), on SQLite and on PostgreSQL: applied in
order at start and once, adopted from a file made before migrations, and a hub refuses a database a
newer hub has migrated, with a message that says what to do."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from hub.errors import SchemaTooNew
from hub.storage import open_database
from hub.storage.migrations import Migration, known, migrate

from .conftest import store_for


def test_a_fresh_database_gets_every_migration_once(hub_database):
    db = open_database(hub_database)
    versions = [r["version"] for r in db.query("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m.version for m in known()] and versions[0] == 1
    assert {"calls", "appointments", "mail_outbox", "user_roles", "stats_survey"} <= set(db.table_names())
    db.close()
    again = open_database(hub_database)  # a restart (or the next hub) applies nothing twice
    assert again.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(known())


def test_a_new_migration_is_applied_at_the_next_start(hub_database):
    db = open_database(hub_database)
    later = [*known(), Migration(99, "later", "CREATE TABLE later_table (id INTEGER PRIMARY KEY, note TEXT);")]
    assert migrate(db, later) == 99
    assert "later_table" in db.table_names()


def test_a_failing_migration_leaves_nothing_half_done(hub_database):
    db = open_database(hub_database)
    broken = [*known(), Migration(99, "broken", "CREATE TABLE half_done (id INTEGER);\nSELECT no_such_column FROM calls;")]
    with pytest.raises(Exception):
        migrate(db, broken)
    assert "half_done" not in db.table_names()
    assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == len(known())


def test_a_hub_refuses_a_schema_newer_than_it_knows(hub_database):
    db = open_database(hub_database)
    db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)", [500, "future", "2030-01-01"])
    db.close()
    with pytest.raises(SchemaTooNew, match=r"schema version 500, but this hub knows versions up to \d+ only"):
        open_database(hub_database)


def test_the_hub_command_says_so_without_a_stack_trace(tmp_path, hub_database):
    db = open_database(hub_database)
    db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)", [500, "future", "2030-01-01"])
    db.close()
    config = tmp_path / "hub.toml"
    store = store_for(hub_database)
    config.write_text("[store]\n" + "".join(f'{k} = "{v}"\n' for k, v in store.items()))
    done = subprocess.run([sys.executable, "-m", "videokiosk.cli", "hub", "purge", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "a newer hub has migrated it" in done.stderr and "Traceback" not in done.stderr


def test_a_sqlite_file_from_before_migrations_is_adopted(tmp_path):
    """Columns added by later releases (then by sqlite-utils' transform) and the survey's old
    ``day`` column are brought level; rows stay."""
    path = tmp_path / "hub.db"
    with sqlite3.connect(path) as old:
        old.executescript("""
            CREATE TABLE guest_pass_calls (call_id TEXT PRIMARY KEY, pass_hash TEXT, expires_at TEXT);
            CREATE TABLE appointment_participants (participant_id TEXT PRIMARY KEY, appointment_id TEXT, role TEXT,
                email TEXT, token_hash TEXT, code_hash TEXT, expires_at TEXT);
            CREATE TABLE stats_survey (day TEXT NOT NULL, location TEXT NOT NULL, question TEXT NOT NULL,
                answer TEXT NOT NULL, responses INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, location, question, answer));
            INSERT INTO appointment_participants (participant_id, appointment_id, role) VALUES ('p-1', 'a-1', 'customer');
            INSERT INTO appointment_participants (participant_id, appointment_id, role) VALUES ('p-0', 'a-1', 'interpreter');
        """)
    db = open_database(path)
    assert "surveyed" not in db["guest_pass_calls"].columns_dict  # levelled, then dropped by 0006
    assert {"agreed_by", "agreed_at", "list_order"} <= set(db["appointment_participants"].columns_dict)
    assert "week" in db["stats_survey"].columns_dict
    people = db["appointment_participants"].rows_where("appointment_id = ?", ["a-1"], order_by="list_order")
    assert [p["participant_id"] for p in people] == ["p-1", "p-0"]  # invited order kept
