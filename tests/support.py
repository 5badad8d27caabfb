"""Helpers shared by the tests: an asyncio loop in a thread, for serving real sockets to a browser.

Playwright's sync API must not run inside an asyncio loop, so browser tests keep their servers on a
:class:`LoopThread` and talk to them through ``run``.

Example::

    with LoopThread() as lt:
        url = lt.serve(make_app())      # http://127.0.0.1:<free port>
        lt.run(some_coroutine())        # result, or the coroutine's exception
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self._runners: list[web.AppRunner] = []

    def __enter__(self) -> "LoopThread":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def run(self, coro: Awaitable[T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def serve(self, app: web.Application, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> str:
        """Serve ``app`` on a free port (HTTPS with ``tls``); returns its base URL."""

        async def start() -> str:
            # Open WebSockets would otherwise hold cleanup for the default 60 s.
            runner = web.AppRunner(app, shutdown_timeout=2.0)
            await runner.setup()
            site = web.TCPSite(runner, host, 0, ssl_context=tls)
            await site.start()
            self._runners.append(runner)
            port = runner.addresses[0][1]
            return f"{'https' if tls else 'http'}://{host}:{port}"

        return self.run(start())

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def stop() -> None:
            for runner in reversed(self._runners):
                await runner.cleanup()

        try:
            self.run(stop(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)


def certificate(subject: str, key, *, issuer: tuple | None = None, ca: bool, ip: str | tuple[str, ...] | None = None,
                days: float = 2.0):
    """A test certificate as strict verifiers want it (Python 3.13 verifies with
    VERIFY_X509_STRICT: key identifiers and key usage present): self-signed unless ``issuer`` is
    (issuer key, issuer certificate); ``ip`` (one address or several) becomes its subject
    alternative name."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_key, issuer_cert = issuer if issuer is not None else (key, None)
    issuer_public = issuer_cert.public_key() if issuer_cert is not None else key.public_key()
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                                            crl_sign=ca, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False))
    if ip is not None:
        addresses = [x509.IPAddress(ipaddress.ip_address(a)) for a in ((ip,) if isinstance(ip, str) else ip)]
        builder = (builder.add_extension(x509.SubjectAlternativeName(addresses), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def write_pem(directory: Path, stem: str, cert, key=None) -> tuple[Path, Path | None]:
    """``<stem>.pem`` (the certificate) and, given a key, ``<stem>-key.pem``."""
    from cryptography.hazmat.primitives import serialization

    cert_file = directory / f"{stem}.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is None:
        return cert_file, None
    key_file = directory / f"{stem}-key.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def private_ca_server(directory: Path, host: str | tuple[str, ...] = "127.0.0.1") -> tuple[Path, ssl.SSLContext]:
    """A hub's private certificate: a self-signed CA certificate for ``host`` (an address or
    several: the file a technician gets as ``ca.pem``) and the server context that presents it."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    ca, key_file = write_pem(directory, "ca", certificate("videokiosk test hub", key, ca=True, ip=host), key)
    key_file = key_file.rename(directory / "hub-key.pem")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(ca, key_file)
    return ca, context


def watched_store(path: Path, **options: Any):
    """The booth's store, with ``confirmed``: an event set when the hub confirmed a withdrawal
    (tests wait on it instead of polling the file)."""
    from appliance.store import BoothStore

    class WatchedStore(BoothStore):
        def __init__(self) -> None:
            super().__init__(path, **options)
            self.confirmed = asyncio.Event()

        def withdrawal_delivered(self, session_id: str) -> None:
            super().withdrawal_delivered(session_id)
            self.confirmed.set()

    return WatchedStore()
