"""A hub given its PostgreSQL password in ``store.database_url`` (docs/scale-out.md prefers
~/.pgpass, but a URL is what people paste) never writes it anywhere: not in its log while it
serves, not when the server cannot be reached at start, not when the config is refused."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from hub.app import HubParts
from hub.config import HubConfig

from .hubproc import ROOT, HubProcess
from .servers import free_port

SECRET = "Pw-never-in-logs-7731"
PASSWORD = "s3cret-pass-12"


def with_password(url: str) -> str:
    """The test cluster trusts loopback, so it accepts (and ignores) the password given."""
    return url.replace("postgresql://vk@", f"postgresql://vk:{SECRET}@")


def serve(tmp_path: Path, database_url: str) -> subprocess.CompletedProcess:
    tmp_path.mkdir()
    config = tmp_path / "hub.toml"
    config.write_text(f'[server]\nhost = "127.0.0.1"\nport = 0\n[store]\ndatabase_url = "{database_url}"\n')
    return subprocess.run([sys.executable, "-m", "videokiosk.cli", "hub", "serve", "--config", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_database_password_is_never_written_out(postgres_url, tmp_path):
    url = with_password(postgres_url)
    parts = HubParts.open(HubConfig.model_validate({"store": {"database_url": url}}))
    parts.users.add_user("anna", PASSWORD)
    parts.db.close()
    hub = HubProcess(tmp_path / "serving", db=url, redis_url=None).start()
    try:
        login = urllib.request.Request(f"{hub.url}/api/login", method="POST", headers={"Content-Type": "application/json"},
                                       data=json.dumps({"username": "anna", "password": PASSWORD}).encode())
        with urllib.request.urlopen(login, timeout=30) as r:
            assert r.status == 200
    finally:
        hub.stop()
    served = hub.log.read_text()

    # Nothing listens there: the hub refuses to start, and says why.
    down = serve(tmp_path / "down", f"postgresql://vk:{SECRET}@127.0.0.1:{free_port()}/videokiosk")
    assert down.returncode == 2 and "cannot reach the hub database" in down.stderr
    # Off this machine without TLS: the config is refused, quoting the URL.
    refused = serve(tmp_path / "refused", f"postgresql://vk:{SECRET}@db.office.example/videokiosk")
    assert refused.returncode == 2 and "sslmode=verify-full" in refused.stderr
    assert "vk:<secret>@db.office.example" in refused.stderr

    for said in (served, down.stdout, down.stderr, refused.stdout, refused.stderr):
        assert SECRET not in said
