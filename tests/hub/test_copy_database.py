"""Moving an office from SQLite to PostgreSQL (docs/scale-out.md): ``videokiosk hub copy-database``
copies every row with its expiry; new rows continue after the copied ids; a target that already
holds rows is refused with a message, not a stack trace."""

from __future__ import annotations

import subprocess
import sys

from hub.storage import open_database


def vk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videokiosk.cli", "hub", *args], capture_output=True, text=True,
                          timeout=120)


def test_every_row_and_its_expiry_moves_to_postgresql(tmp_path, postgres_url):
    source = open_database(tmp_path / "hub.db")
    source["calls"].insert({"call_id": "c-1", "name": "Erika Muster", "upload_kbps": 2000.5,
                            "expires_at": "2026-03-16T00:00:00+00:00"})
    source["users"].insert({"username": "anna", "password_hash": "$argon2id$x", "created_at": "2026-01-01"})
    for n in range(3):
        source["mail_outbox"].insert({"appointment_id": "a-1", "message": b"\x00mail\xff", "status": "sent",
                                      "expires_at": "2026-03-20T00:00:00+00:00"})
    config = tmp_path / "hub.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "hub.db"}"\n')
    done = vk("copy-database", "--config", str(config), postgres_url)
    assert done.returncode == 0, done.stderr
    assert "calls 1" in done.stdout and "mail_outbox 3" in done.stdout
    target = open_database(postgres_url)
    for table in ("calls", "users", "mail_outbox"):
        assert list(target[table].rows_where(order_by=target.primary_key(table)[0])) == \
            [{k: (bytes(v) if isinstance(v, memoryview) else v) for k, v in row.items()}
             for row in source[table].rows_where(order_by=source[table].pks[0])]
    assert target["calls"].get("c-1")["expires_at"] == "2026-03-16T00:00:00+00:00"
    assert bytes(target["mail_outbox"].get(3)["message"]) == b"\x00mail\xff"
    assert target["mail_outbox"].insert({"appointment_id": "a-2", "status": "pending"}).last_pk == 4

    again = vk("copy-database", "--config", str(config), postgres_url)
    assert again.returncode == 2 and "already holds rows" in again.stderr and "Traceback" not in again.stderr
