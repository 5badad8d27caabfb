"""Real servers the tests start and stop themselves: redis-server, coturn, a PostgreSQL cluster.

Example::

    with RedisServer(tmp_path) as redis:
        state = await RedisState.connect(redis.url)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Until something accepts on 127.0.0.1:port (polling a connect is the only signal a server gives)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)  # poll interval of a connect probe, not a wait for a result
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def stop(proc: subprocess.Popen | None) -> None:
    """Terminate a server started here; kill it if it does not go within 5 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class RedisServer:
    """``redis-server`` on 127.0.0.1 and a free port, no persistence, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> "RedisServer":
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is missing: run `make test` (scripts/system-packages.txt installs it)")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)


class TurnServer:
    """coturn's ``turnserver`` with the shared-secret scheme, on ``listen_ip`` (loopback by default).

    ``relay_ip`` is the address it relays from (a namespace's address in the netns test).
    """

    def __init__(self, directory: Path, secret: str = "test-shared-secret", listen_ip: str | None = "127.0.0.1",
                 relay_ip: str | None = None, port: int | None = None, netns: str | None = None,
                 verbose: bool = False) -> None:
        """``verbose``: coturn's ``-v``, which logs every session with its user name and address."""
        self.directory = directory
        self.verbose = verbose
        self.secret = secret
        self.listen_ip = listen_ip
        self.relay_ip = relay_ip or listen_ip
        self.port = port or free_port()
        self.netns = netns
        self.proc: subprocess.Popen | None = None
        self.log = directory / f"turnserver-{self.port}.log"

    def __enter__(self) -> "TurnServer":
        exe = shutil.which("turnserver") or "/usr/bin/turnserver"
        if not Path(exe).exists():
            pytest.fail("turnserver is missing: run `make test` (scripts/system-packages.txt installs coturn)")
        relay_port = 40000 + self.port % 20000
        listen = ["--listening-ip", self.listen_ip] if self.listen_ip else []  # None: every address (of a netns)
        cmd = [exe, "-n", *listen, "--listening-port", str(self.port),
               "--relay-ip", self.relay_ip, "--use-auth-secret", "--static-auth-secret", self.secret,
               "--realm", "videokiosk", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
               "--min-port", str(relay_port), "--max-port", str(relay_port + 200), "--fingerprint",
               "--log-file", str(self.log), "--simple-log", "--pidfile", str(self.directory / f"turn-{self.port}.pid"),
               "--no-multicast-peers", *(["-v"] if self.verbose else [])]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not self.netns:
            wait_for_port(self.port, proc=self.proc)
        return self

    def __exit__(self, *exc) -> None:
        stop(self.proc)


class PostgresServer:
    """A throwaway PostgreSQL cluster (``initdb``, then ``postgres``) on 127.0.0.1 and a free port,
    trust authentication for the user ``vk``, no fsync: a test's data lives as long as the test run.
    PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` system user
    (the Debian package creates it), from a folder under /tmp that user may enter."""

    USER = "vk"

    def __init__(self) -> None:
        self.port = free_port()
        self.directory: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._databases = 0

    @staticmethod
    def binary(name: str) -> str:
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        if not found:
            pytest.fail("PostgreSQL is missing (/usr/lib/postgresql/*/bin): run `make test` "
                        "(scripts/system-packages.txt installs the Debian package postgresql)")
        return str(found[-1])

    def _as_owner(self, argv: list[str]) -> list[str]:
        # setpriv execs in place (no parent left in between): the process started is postgres itself.
        owner = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        return [*owner, *argv] if os.geteuid() == 0 else argv

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> "PostgresServer":
        self.directory = Path(tempfile.mkdtemp(prefix="vk-postgres-"))
        data = self.directory / "data"
        data.mkdir()
        if os.geteuid() == 0:
            os.chmod(self.directory, 0o755)
            shutil.chown(data, "postgres", "postgres")
        subprocess.run(self._as_owner([self.binary("initdb"), "-D", str(data), "-U", self.USER, "--auth=trust",
                                       "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.start_server()
        return self

    def start_server(self) -> None:
        """The server on the cluster (again, after :meth:`stop_server`), on the same port."""
        data = self.directory / "data"
        self.proc = subprocess.Popen(
            self._as_owner([self.binary("postgres"), "-D", str(data), "-p", str(self.port), "-k", str(data),
                            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                            "-c", "max_connections=200"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout_s=30, proc=self.proc)
        self._until_ready()

    def stop_server(self) -> None:
        """``pg_ctl stop -m fast``, as an administrator restarting it would: every session ended,
        what was committed kept (on disk at the shutdown checkpoint)."""
        subprocess.run(self._as_owner([self.binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast",
                                       "-w", "-t", "60", "stop"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.proc.wait(30)

    def _until_ready(self, timeout_s: float = 60.0) -> None:
        """The port opens before recovery ends ("the database system is starting up"): until a session works."""
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=5).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.1)  # poll interval of a connect probe, not a wait for a result

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"t{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown: ends open sessions (SIGTERM waits for them)
        stop(self.proc)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
