"""A hub as its own process (``videokiosk hub serve``), so a test can SIGKILL it like a power cut.

Example::

    hub = HubProcess(tmp_path / "a", db=tmp_path / "hub.db", redis_url=redis.url).start()
    hub.kill()
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from hub.storage import is_postgres_url

from .servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


class HubProcess:
    def __init__(self, directory: Path, *, db: Path | str, redis_url: str | None, prefix: str = "vk:",
                 reconnect_timeout_s: float = 60.0, heartbeat_s: float = 5.0,
                 max_connections_per_address: int = 256, extra: str = "") -> None:
        """``db``: a SQLite file, or a ``postgresql://`` URL (then this hub's own folder holds no database)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = directory / "hub.toml"
        self.log = directory / "hub.log"
        self.config.write_text(
            f'[server]\nhost = "127.0.0.1"\nport = {self.port}\nmax_connections_per_address = {max_connections_per_address}\n'
            + (f'[store]\ndatabase_url = "{db}"\n' if is_postgres_url(db) else f'[store]\npath = "{db}"\n')
            + f'[calls]\nreconnect_timeout_s = {reconnect_timeout_s}\nheartbeat_s = {heartbeat_s}\n'
            + (f'[state]\nbackend = "redis"\nredis_url = "{redis_url}"\nprefix = "{prefix}"\n' if redis_url else "")
            + extra
        )
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HubProcess":
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "videokiosk.cli", "hub", "serve", "--config", str(self.config)],
                                         cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, timeout_s=30, proc=self.proc)
        return self

    def rss_bytes(self) -> int:
        """The hub process's resident memory, from /proc."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def kill(self) -> None:
        """SIGKILL: no goodbye to the sockets, no cleanup, as when the machine loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
