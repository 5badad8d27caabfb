"""Real directory servers for the SSO tests, each in its own process on a free loopback port:
``slapd`` (Debian's OpenLDAP) with its own config in a temp dir, and an OpenID provider
(tests/hub/oidc_provider_main.py). Both are started, waited for (their "ready" line), and
stopped by the process id they were started with."""

from __future__ import annotations

import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ..support import private_ca_server

HERE = Path(__file__).parent
LDAP_SUFFIX = "dc=example,dc=org"
LDAP_ADMIN = f"cn=admin,{LDAP_SUFFIX}"
LDAP_ADMIN_PASSWORD = "admin-secret-for-tests"
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Process:
    """A child process whose output is read in a thread, so it never blocks on a full pipe."""

    def __init__(self, command: list[str], ready: str) -> None:
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     errors="replace")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready_line = self._wait_for(ready)

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _wait_for(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=READY_TIMEOUT_S)
            if line is None:
                raise RuntimeError(f"{self.proc.args[0]} exited before it was ready:\n" + "".join(self.seen))
            self.seen.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/ca.pem
TLSCertificateKeyFile {dir}/hub-key.pem
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
database mdb
suffix "{suffix}"
rootdn "{admin}"
rootpw {admin_password}
directory {dir}/data
maxsize 10485760
access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by * none
"""


class Slapd:
    """OpenLDAP with the entries of ``ldif`` (loaded with slapadd before it starts), on
    ``url`` (plain, StartTLS offered) and ``ldaps_url``, with a private CA (``ca_file``)."""

    def __init__(self, workdir: Path, ldif: str) -> None:
        if shutil.which("slapd") is None and not Path("/usr/sbin/slapd").exists():
            pytest.skip("slapd is not installed (Debian package slapd: scripts/system-packages.txt)")
        (workdir / "data").mkdir(parents=True)
        self.ca_file, _ = private_ca_server(workdir)  # ca.pem (self-signed, for 127.0.0.1) and hub-key.pem
        conf = workdir / "slapd.conf"
        conf.write_text(SLAPD_CONF.format(dir=workdir, suffix=LDAP_SUFFIX, admin=LDAP_ADMIN,
                                          admin_password=LDAP_ADMIN_PASSWORD))
        (workdir / "seed.ldif").write_text(ldif)
        subprocess.run(["/usr/sbin/slapadd", "-q", "-f", str(conf), "-l", str(workdir / "seed.ldif")], check=True,
                       capture_output=True, timeout=60)
        for _attempt in range(5):  # a free port may be taken by someone else in between: try another
            self.url, self.ldaps_url = f"ldap://127.0.0.1:{free_port()}", f"ldaps://127.0.0.1:{free_port()}"
            try:
                # -d 256: stay in the foreground and say "slapd starting" once it listens.
                self._process = _Process(["/usr/sbin/slapd", "-d", "256", "-f", str(conf),
                                          "-h", f"{self.url}/ {self.ldaps_url}/"], ready="slapd starting")
                return
            except RuntimeError:
                continue
        raise RuntimeError("slapd did not start on any free port")

    def admin(self):
        """A connection as the directory's administrator (to change groups during a test)."""
        import ldap3

        return ldap3.Connection(ldap3.Server(self.url), LDAP_ADMIN, LDAP_ADMIN_PASSWORD, auto_bind=True)

    def stop(self) -> None:
        self._process.stop()


class OidcProvider:
    def __init__(self) -> None:
        process = _Process([sys.executable, str(HERE / "oidc_provider_main.py")], ready="running on http://")
        self._process = process
        self.url = process.ready_line.split("running on ")[1].split()[0].rstrip("/")

    def stop(self) -> None:
        self._process.stop()


@pytest.fixture(scope="module")
def oidc_provider():
    """One provider process per test module (its users and tamper switch are set per test)."""
    server = OidcProvider()
    yield server
    server.stop()


def oidc_hub_config(store: Path, provider: OidcProvider, port: int, **oidc) -> dict:
    """A hub config whose OIDC client is registered at ``provider`` and called back on ``port``."""
    return {"store": {"path": str(store)},
            "sso": {"oidc": {"issuer": provider.url, "client_id": "videokiosk-hub", "client_secret": "hub-secret",
                             "redirect_url": f"http://127.0.0.1:{port}/sso/oidc/callback",
                             "roles": {"beratung": ["advisor"], "teamleitung": ["advisor", "lead"]}, **oidc}}}
