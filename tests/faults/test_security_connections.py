"""Connections, attacked: idle and slowloris clients, one address opening hundreds of sockets, a
hub out of file descriptors (one log line, not a flood of tracebacks), TLS by default."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import socket
import ssl
import subprocess
import sys

import aiohttp
import pytest

from hub.app import HubParts
from hub.config import HubConfig

from .hubproc import ROOT, HubProcess
from .servers import free_port, wait_for_port


async def _until_closed(reader: asyncio.StreamReader, timeout_s: float) -> bool:
    """True once the hub closed the connection (EOF or reset); TimeoutError if it stays open."""
    try:
        async with asyncio.timeout(timeout_s):
            while await reader.read(1024):
                pass
    except ConnectionError:
        pass
    return True


async def _slowloris(host: str, port: int, writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
    writer.write(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
    n = 0
    while not stop.is_set():  # a header line every 0.2 s, never the blank line that ends them
        writer.write(f"X-Drip-{n}: x\r\n".encode())
        n += 1
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            pass


async def _trickled_body(host: str, port: int, writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
    """Headers at once, then the promised body a byte every 0.2 s (it would take minutes)."""
    writer.write(f"POST /api/login HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                 "Content-Length: 2000\r\n\r\n{".encode())
    while not stop.is_set():
        writer.write(b" ")
        try:
            await writer.drain()
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            pass
        except ConnectionError:
            return


async def _answer_then_closed(reader: asyncio.StreamReader, timeout_s: float) -> bytes:
    """Everything the hub sends until it closes the connection (TimeoutError if it stays open)."""
    got = b""
    try:
        async with asyncio.timeout(timeout_s):
            while chunk := await reader.read(1024):
                got += chunk
    except ConnectionError:
        pass
    return got


@pytest.mark.slow
async def test_the_demo_closes_idle_and_slowloris_connections(tmp_path):
    from videokiosk.demo import start_demo

    hub_url, _booth_url, stop_demo = await start_demo(0, 0, tmp_path)
    port = int(hub_url.rsplit(":", 1)[1])
    stop = asyncio.Event()
    try:
        idle_r, idle_w = await asyncio.open_connection("127.0.0.1", port)
        slow_r, slow_w = await asyncio.open_connection("127.0.0.1", port)
        body_r, body_w = await asyncio.open_connection("127.0.0.1", port)
        drip = asyncio.ensure_future(_slowloris("127.0.0.1", port, slow_w, stop))
        trickle = asyncio.ensure_future(_trickled_body("127.0.0.1", port, body_w, stop))
        # The demo's limit is the default idle timeout (15 s); before, both stayed open for good.
        assert await _until_closed(idle_r, 25) and await _until_closed(slow_r, 25)
        # A trickled body: the default body timeout (20 s) from its headers on; before, for good.
        assert (await _answer_then_closed(body_r, 30)).startswith(b"HTTP/1.1 408")
        stop.set()
        await drip
        await trickle
    finally:
        stop.set()
        await stop_demo()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_one_address_cannot_take_every_connection(tmp_path, tls):
    """With TLS too: sockets that never say hello count against their address and are closed
    (asyncio's own TLS layer held them 60 s before the cap saw them: 1100 of them made a hub
    under a 1024 open-files limit unreachable)."""
    from hub.app import start_server

    server, client_tls = {"max_connections_per_address": 20, "idle_timeout_s": 1}, None
    if tls:
        files, client_tls = _tls_files(tmp_path)
        server |= files
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}, "server": server}))
    runner, listener = await start_server(parts, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        conns = [await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0)) for _ in range(60)]
        refused = 0
        for reader, _ in conns[20:]:  # over the cap: closed at once
            refused += await _until_closed(reader, 2)
        assert refused == 40
        async with aiohttp.ClientSession() as http:  # another address is served all the while
            scheme = "https" if tls else "http"
            assert (await http.get(f"{scheme}://127.0.0.1:{port}/healthz", ssl=client_tls or True)).status == 200
        for reader, _ in conns[:20]:  # and the 20 idle ones go after the idle timeout
            assert await _until_closed(reader, 5)
        for _, writer in conns:
            writer.close()
    finally:
        listener.close()
        await runner.cleanup()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
async def test_a_trickled_request_body_is_cut_off_and_others_are_served(tmp_path, tls):
    from hub.app import start_server

    server, client_tls = {"body_timeout_s": 1, "idle_timeout_s": 60}, None
    if tls:
        files, client_tls = _tls_files(tmp_path)
        server |= files
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}, "server": server}))
    parts.users.add_user("anna", "s3cret-pass-12")
    runner, listener = await start_server(parts, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_tls,
                                                       server_hostname="127.0.0.1" if tls else None)
        trickle = asyncio.ensure_future(_trickled_body("127.0.0.1", port, writer, stop))
        # Before, the handler waited for the rest of the body as long as it kept coming.
        answer = await _answer_then_closed(reader, 20)
        assert answer.startswith(b"HTTP/1.1 408") and b"too_slow" in answer
        stop.set()
        await trickle
        scheme = "https" if tls else "http"
        async with aiohttp.ClientSession() as http:  # a whole body in time is read as ever
            r = await http.post(f"{scheme}://127.0.0.1:{port}/api/login", ssl=client_tls or True,
                                json={"username": "anna", "password": "s3cret-pass-12"})
            assert r.status == 200
            r = await http.post(f"{scheme}://127.0.0.1:{port}/api/login", ssl=client_tls or True,
                                data=b"x" * (1024 * 1024), headers={"Content-Type": "application/json"})
            assert r.status == 413  # and a body over the size cap is refused
    finally:
        stop.set()
        listener.close()
        await runner.cleanup()


def _tls_files(tmp_path) -> tuple[dict, ssl.SSLContext]:
    """A hub certificate for 127.0.0.1 from a CA of the test's own, and a client trusting that CA."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.rtc.test_hublink import _cert, make_ca

    ca_key, ca_cert, ca_path = make_ca(tmp_path, "office-ca")
    key = ec.generate_private_key(ec.SECP256R1())
    cert, key_file = tmp_path / "hub.pem", tmp_path / "hub.key"
    cert.write_bytes(_cert("hub", ca_key, ca_cert, key, ca=False).public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return {"tls_cert": str(cert), "tls_key": str(key_file)}, ssl.create_default_context(cafile=str(ca_path))


def _low_fd_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    return apply


@pytest.mark.slow
async def test_out_of_file_descriptors_the_hub_logs_once_and_recovers(tmp_path):
    db = tmp_path / "hub.db"
    HubParts.open(HubConfig.model_validate({"store": {"path": str(db)}}))
    hub = HubProcess(tmp_path / "hub", db=db, redis_url=None)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with hub.log.open("ab") as log:
        hub.proc = subprocess.Popen([sys.executable, "-m", "videokiosk.cli", "hub", "serve", "--config", str(hub.config)],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_low_fd_limit(128))
    try:
        wait_for_port(hub.port, timeout_s=90, proc=hub.proc)
        conns = []
        for n in range(300):  # far more than the process may open
            try:
                conns.append(await asyncio.open_connection("127.0.0.1", hub.port, local_addr=(f"127.0.1.{n % 200 + 1}", 0)))
            except OSError:
                break
        async def request() -> int:
            async with aiohttp.ClientSession() as http:
                return (await http.get(f"{hub.url}/healthz", timeout=aiohttp.ClientTimeout(total=3))).status
        with pytest.raises((asyncio.TimeoutError, aiohttp.ClientError)):
            await request()  # the hub is full ...
        for _, writer in conns:
            writer.close()
        for _ in range(50):  # ... and serves again once they are gone
            try:
                assert await request() == 200
                break
            except (asyncio.TimeoutError, aiohttp.ClientError):
                continue
        else:
            pytest.fail("the hub did not recover")
        text = hub.log.read_text(errors="replace")
        assert len(re.findall(r"Traceback", text)) <= 1, text[-3000:]
        assert len(text) < 20_000
    finally:
        hub.stop()


def test_the_hub_raises_its_soft_open_files_limit_to_the_hard_one(tmp_path):
    db = tmp_path / "hub.db"
    hub = HubProcess(tmp_path / "hub", db=db, redis_url=None)
    soft_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def lower_soft() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, soft_hard))

    with hub.log.open("ab") as log:
        hub.proc = subprocess.Popen([sys.executable, "-m", "videokiosk.cli", "hub", "serve", "--config", str(hub.config)],
                                    cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log,
                                    stderr=subprocess.STDOUT, preexec_fn=lower_soft)
    try:
        wait_for_port(hub.port, timeout_s=90, proc=hub.proc)
        limits = open(f"/proc/{hub.proc.pid}/limits").read()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        soft, hard = line.split()[3:5]
        assert soft == hard == str(soft_hard)
    finally:
        hub.stop()


def test_the_hub_unit_sets_an_open_files_limit():
    unit = (ROOT / "systemd" / "hub" / "videokiosk-hub.service").read_text()
    assert int(re.search(r"^LimitNOFILE=(\d+)$", unit, re.M).group(1)) >= 65536


def test_a_hub_on_the_network_refuses_plain_http_unless_told(tmp_path):
    db = tmp_path / "hub.db"
    config = tmp_path / "hub.toml"
    port = free_port()
    config.write_text(f'[server]\nhost = "0.0.0.0"\nport = {port}\n[store]\npath = "{db}"\n')
    run = lambda *extra: subprocess.run([sys.executable, "-m", "videokiosk.cli", "hub", "serve", "--config", str(config), *extra],  # noqa: E731
                                        cwd=ROOT, capture_output=True, text=True, timeout=60)
    refused = run()
    assert refused.returncode == 2 and "--insecure-http" in refused.stderr and "tls_cert" in refused.stderr
    errors = tmp_path / "serve.err"
    with errors.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "videokiosk.cli", "hub", "serve", "--insecure-http", "--config", str(config)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        wait_for_port(port, timeout_s=90, proc=proc)
    except RuntimeError as exc:  # say why it stopped (a clean-clone run once saw exit 1 here)
        raise AssertionError(f"{exc}: {errors.read_text()[-2000:]}") from None
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_hub_config_cannot_switch_on_the_demo_account(tmp_path):
    from hub.config import parse_hub_config
    from hub.errors import HubConfigError

    with pytest.raises(HubConfigError):
        parse_hub_config({"auth": {"demo": True}})


def test_a_booth_refuses_a_plain_http_hub_on_the_network():
    from appliance.config import parse_config
    from appliance.errors import ApplianceError

    booth = {"id": "b-01", "name": "x", "location": "y"}
    for url in ("http://hub.example.org", "http://192.0.2.1:8080"):
        with pytest.raises((ApplianceError, ValueError)):
            parse_config({"booth": booth, "hub": {"url": url, "token": "t"}})
    parse_config({"booth": booth, "hub": {"url": "http://127.0.0.1:8080", "token": "t"}})
    parse_config({"booth": booth, "hub": {"url": "https://hub.example.org", "token": "t"}})


async def test_a_hub_serving_tls_sends_hsts_and_plain_http_does_not(tmp_path):
    from hub.app import start_server
    from tests.rtc.test_hublink import make_ca, _cert
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_key, ca_cert, ca_path = make_ca(tmp_path, "hsts-test-ca")
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "hub.pem").write_bytes(_cert("hub", ca_key, ca_cert, key, ca=False).public_bytes(serialization.Encoding.PEM))
    (tmp_path / "hub.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    for tls in (True, False):
        server = {"tls_cert": str(tmp_path / "hub.pem"), "tls_key": str(tmp_path / "hub.key")} if tls else {}
        parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / f"hub-{tls}.db")}, "server": server}))
        runner, listener = await start_server(parts, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        try:
            async with aiohttp.ClientSession() as http:
                ssl_ctx = ssl.create_default_context(cafile=str(ca_path)) if tls else None
                r = await http.get(f"{'https' if tls else 'http'}://127.0.0.1:{port}/healthz", ssl=ssl_ctx)
                assert r.status == 200
                assert ("max-age=" in r.headers.get("Strict-Transport-Security", "")) == tls
        finally:
            listener.close()
            await runner.cleanup()
