"""The register of processing (videokiosk/register.py) against both databases, in full: every
table and every column the running code creates is declared, and every declared one exists. An
added column or table in booth.db or hub.db fails here until it is declared, with its consent item,
purpose and retention, and so appears in `videokiosk privacy-report`.

Also here: the data files are private (0600, their folder 0700), -wal and -shm included.
"""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.store import BoothStore
from hub.app import HubParts, make_app
from hub.config import HubConfig
from videokiosk.register import LANGUAGES, REGISTER, columns, texts


def schema_of(path: Path) -> dict[str, set[str]]:
    """Every table (SQLite's own excepted) with every column, as the file holds them."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: {r[1] for r in db.execute(f'PRAGMA table_info("{t}")')} for t in tables}


@pytest.fixture
def databases(tmp_path) -> dict[str, Path]:
    """booth.db and hub.db as the booth and the hub (every module of its app) create them."""
    booth = BoothStore(tmp_path / "booth" / "booth.db")
    booth.close()
    roles = {"beratung": ["advisor"]}
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub" / "hub.db")}, "sso": {
        # Single sign-on configured, so its tables are created too (nothing is contacted to build them).
        "oidc": {"issuer": "https://login.example.org", "client_id": "videokiosk", "roles": roles,
                 "redirect_url": "https://hub.example.org/sso/oidc/callback"},
        "ldap": {"url": "ldaps://ldap.example.org", "user_dn_template": "uid={username},ou=people,dc=example,dc=org",
                 "group_base": "ou=groups,dc=example,dc=org", "roles": roles}}}))
    make_app(parts)  # appointments, guests, statistics, enrolment, sign-on... create their tables here
    parts.db.conn.close()
    return {"booth": tmp_path / "booth" / "booth.db", "hub": tmp_path / "hub" / "hub.db"}


@pytest.mark.parametrize("database", ["booth", "hub"])
def test_every_table_and_column_is_in_the_register_and_nothing_else(databases, database):
    actual, declared = schema_of(databases[database]), columns(database)
    undeclared = {t: sorted(cols - declared.get(t, set())) for t, cols in actual.items() if cols - declared.get(t, set())}
    missing = {t: sorted(cols - actual.get(t, set())) for t, cols in declared.items() if cols - actual.get(t, set())}
    assert undeclared == {}, f"{database}.db holds what the register does not declare: {undeclared}"
    assert missing == {}, f"the register declares what {database}.db does not hold: {missing}"


def test_personal_items_sit_only_in_tables_that_expire(databases):
    """A column with a consented personal item lives in a table with an expiry and a 14-day rule, or\n    in Redis only while the person waits or talks (tests/hub/test_redis_register.py checks Redis)."""
    personal = {"customer_number", "name", "role", "ip_address", "operating_system", "device", "browser",
                "rates", "transmission_quality", "consent_record", "booking", "agreement"}
    for table in REGISTER:
        if not personal & set(table.columns.values()):
            continue
        if table.database == "redis":  # live state only: gone at admit, leave or the call's end
            assert table.retention in ("while_waiting", "while_in_call"), table.name
        else:
            assert "expires_at" in table.columns and table.retention in ("days_14", "appointment_14"), table.name


def test_the_postgresql_schema_is_the_register_too(postgres_url):
    """A hub on PostgreSQL (hub/storage/postgres.py) holds exactly what the register declares, as on SQLite."""
    parts = HubParts.open(HubConfig.model_validate({"store": {"database_url": postgres_url}}))
    make_app(parts)
    actual = {t: set(parts.db[t].columns_dict) for t in parts.db.table_names()}
    parts.db.close()
    declared = columns("hub")
    undeclared = {t: sorted(cols - declared.get(t, set())) for t, cols in actual.items() if cols - declared.get(t, set())}
    missing = {t: sorted(cols - actual.get(t, set())) for t, cols in declared.items() if cols - actual.get(t, set())}
    assert undeclared == {} and missing == {}, (undeclared, missing)


def test_the_privacy_report_names_every_column_in_german_and_english():
    done = subprocess.run([str(Path(sys.executable).with_name("videokiosk")), "privacy-report"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO)" in done.stdout
    assert "Record of processing activities (GDPR Art. 30)" in done.stdout
    for language in LANGUAGES:
        t = texts(language)
        for table in REGISTER:
            assert t["purpose"][table.purpose] in done.stdout and t["retention"][table.retention] in done.stdout
            for column, item in table.columns.items():
                assert f"  - {column}: {t['item'][item]}" in done.stdout, (language, table.name, column)


def test_data_files_and_folders_are_private(databases):
    for path in databases.values():
        with sqlite3.connect(path) as db:  # a write, so that -wal and -shm exist
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("CREATE TABLE IF NOT EXISTS t (x)")
        files = [f for f in path.parent.iterdir() if f.name.startswith(path.name)]
        assert {f.name for f in files} >= {path.name, path.name + "-wal", path.name + "-shm"}
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f"{f.name}: {oct(f.stat().st_mode)}"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
