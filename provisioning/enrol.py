"""``videokiosk enrol --hub URL --code CODE``: a booth's first boot, from code to credential.

The booth makes its own Ed25519 key pair (kept in ``/etc/videokiosk/booth-key.pem``, mode 0600),
sends the one-time code with its public key and a signature to the hub, and gets a device token.
It writes the token to ``/etc/videokiosk/device-token`` (mode 0600, owned by the daemon's user) and
the hub's answer (booth id, name, location, hub URL) into ``/etc/videokiosk/booth.toml``, keeping
every other setting already there. Enrolling again gets a new token and revokes the old one.

Example (what the technician types; the admin made the code with
``videokiosk hub enrolment-code --booth jc-halle-1``)::

    sudo overlayroot-chroot videokiosk enrol --hub https://hub.example.org --code 7K3M-QX9D
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import pwd
import ssl
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.config import BoothConfig, parse_config
from appliance.errors import ConfigError

from .errors import EnrolmentFailed, NotPersistent, ProvisioningError
from .protocol import ENROL_PATH, signed_message

CONFIG_DIR = Path("/etc/videokiosk")
SERVICE_USER = "videokiosk"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class EnrolPaths:
    config: Path = CONFIG_DIR / "booth.toml"
    key: Path = CONFIG_DIR / "booth-key.pem"
    token: Path = CONFIG_DIR / "device-token"

    @property
    def ca(self) -> Path:
        """Where the hub's CA certificate is kept: next to the config, so the daemon (started from
        ``/``) and ``selftest`` find it whatever directory the technician enrolled from."""
        return self.config.parent / "hub-ca.pem"


# --- key and files -------------------------------------------------------------------------------


def _write_private(path: Path, data: bytes, owner: str | None = None) -> None:
    """Write atomically with mode 0600 from the first byte; hand it to ``owner`` when root."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    if owner and os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(owner)
            os.chown(tmp, entry.pw_uid, entry.pw_gid)
        except KeyError:  # a dev machine without the service user
            pass
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    """Write atomically, mode 0644 (the config, the hub's CA certificate: no secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The booth's identity key: made once, reused when the booth enrols again."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ProvisioningError(f"{path}: not an Ed25519 key; move it away and enrol again")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    _write_private(path, pem)
    return key


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def dump_toml(data: dict) -> str:
    """The config as TOML: top-level scalars, then one ``[section]`` per table (all ours has)."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    for section, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in table.items() if value is not None]
    return "\n".join(lines).lstrip("\n") + "\n"


def merged_config(existing: dict, booth: dict, hub_url: str, token_path: Path, ca_file: Path | None) -> dict:
    """The booth's config after enrolment: the hub's answer wins, every other setting stays."""
    data = {key: dict(value) if isinstance(value, dict) else value for key, value in existing.items()}
    data["booth"] = {"id": booth["id"], "name": booth["name"], "location": booth["location"]}
    hub = data.setdefault("hub", {})
    hub.pop("token", None)  # an inline demo token must not outlive the enrolment
    hub.update(url=hub_url.rstrip("/"), token_file=str(token_path))
    if ca_file is not None:
        hub["ca_file"] = str(ca_file)
    return data


def read_existing(path: Path) -> dict:
    """The current config as a dict, or {} if there is none; a broken one is kept aside, not lost."""
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        aside = path.with_name(path.name + ".broken")
        os.replace(path, aside)
        print(f"enrol: {path} was not valid TOML; kept it as {aside} and wrote a fresh one", file=sys.stderr)
        return {}


def volatile_reason(path: Path, mounts: str) -> str | None:
    """Why writing ``path`` would not survive a reboot (it sits on an overlay root), or None."""
    best, fstype = "", ""
    target = str(path.resolve() if path.exists() else path.parent.resolve())
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3 and (target == fields[1] or target.startswith(fields[1].rstrip("/") + "/")):
            if len(fields[1]) >= len(best):
                best, fstype = fields[1], fields[2]
    if fstype == "overlay":
        return f"{path} is on the read-only root's overlay ({best}): changes vanish at the next reboot"
    return None


# --- talking to the hub --------------------------------------------------------------------------


def _ssl_context(ca_file: Path | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else None


async def request_credential(hub_url: str, code: str, key: Ed25519PrivateKey,
                             ca_file: Path | None = None) -> dict:
    """POST the code, public key and signature; returns the hub's ``{booth, token}`` answer."""
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = {
        "code": code,
        "public_key": base64.b64encode(public).decode(),
        "signature": base64.b64encode(key.sign(signed_message(code, public))).decode(),
    }
    url = hub_url.rstrip("/") + ENROL_PATH
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http:
            async with http.post(url, json=body, ssl=_ssl_context(ca_file)) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
                status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise EnrolmentFailed(f"cannot reach the hub at {hub_url} ({exc.__class__.__name__}: {exc}); "
                              "check the URL and the network") from None
    if not isinstance(answer, dict):
        raise EnrolmentFailed(f"{url} answered {status} without the expected JSON: is this a videokiosk hub?")
    if status != 200:
        raise EnrolmentFailed(f"the hub refused the code: {answer.get('error', f'HTTP {status}')}")
    booth, token = answer.get("booth"), answer.get("token")
    if not isinstance(booth, dict) or not isinstance(token, str) or not token:
        raise EnrolmentFailed(f"{url} answered without a booth and token: is this a videokiosk hub?")
    return answer


async def enrol(hub_url: str, code: str, paths: EnrolPaths = EnrolPaths(), ca_file: Path | None = None,
                service_user: str | None = SERVICE_USER) -> BoothConfig:
    """The whole enrolment; returns the config it wrote."""
    key = load_or_create_key(paths.key)
    answer = await request_credential(hub_url, code, key, ca_file)
    kept_ca = paths.ca.absolute() if ca_file is not None else None
    data = merged_config(read_existing(paths.config), answer["booth"], hub_url, paths.token.absolute(), kept_ca)
    try:
        config = parse_config(data, "the enrolled config")
    except ConfigError as exc:
        raise EnrolmentFailed(f"the hub's answer does not make a valid booth config: {exc}") from None
    _write_private(paths.token, (answer["token"] + "\n").encode(), owner=service_user)
    if kept_ca is not None and kept_ca != ca_file.absolute():
        _write_public(kept_ca, ca_file.read_bytes())
    _write_public(paths.config, dump_toml(data).encode())  # no secret in it: the token has its own file
    return config


# --- CLI -----------------------------------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", required=True, metavar="URL", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("--code", required=True, help="the one-time enrolment code from the hub admin")
    parser.add_argument("--config", type=Path, default=EnrolPaths.config, help="booth config to write")
    parser.add_argument("--key", type=Path, default=EnrolPaths.key, help="the booth's private key (made if missing)")
    parser.add_argument("--token-file", type=Path, default=EnrolPaths.token, help="where the device token goes")
    parser.add_argument("--ca-file", type=Path, help="CA certificate for a hub with a private certificate")
    parser.add_argument("--allow-volatile", action="store_true",
                        help="write even onto the overlay of a read-only root (lost at reboot; for tests)")


def run(args: argparse.Namespace) -> int:
    paths = EnrolPaths(args.config, args.key, args.token_file)
    if not args.hub.startswith(("https://", "http://")):
        print(f"videokiosk enrol: --hub {args.hub!r} must be a URL starting with https:// (or http:// on a "
              "lab network)", file=sys.stderr)
        return 2
    try:
        if not args.allow_volatile:
            mounts = Path("/proc/self/mounts").read_text() if Path("/proc/self/mounts").exists() else ""
            reason = volatile_reason(paths.config, mounts)
            if reason:
                raise NotPersistent(f"{reason}. Run it as `sudo overlayroot-chroot videokiosk enrol ...` "
                                    "and reboot afterwards.")
        config = asyncio.run(enrol(args.hub, args.code, paths, args.ca_file))
    except (ProvisioningError, OSError) as exc:
        print(f"videokiosk enrol: {exc}", file=sys.stderr)
        return 1
    print(f"enrolled as booth {config.booth.id} ({config.booth.name}, {config.booth.location}) with {config.hub.url}")
    print("any earlier credential of this booth no longer works; reboot the booth (or, on a writable root, "
          "sudo systemctl restart videokiosk-booth)")
    return 0
