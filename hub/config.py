"""The hub's one config file (TOML), validated once at start and passed down.

Example::

    >>> cfg = HubConfig.model_validate({"server": {"port": 0}, "ice_servers": [{"urls": ["stun:stun.example.org"]}]})
    >>> cfg.calls.reconnect_timeout_s
    60.0

``videokiosk hub --config hub.toml`` loads it; a wrong value names the key, the value and what is
allowed, and the CLI exits with code 2.
"""

from __future__ import annotations

import ipaddress
import logging
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rtc.protocol import IceServer
from videokiosk.config_errors import describe_validation_error
from videokiosk.retention import MAX_RETENTION_DAYS

from .errors import HubConfigError
from .sso_config import SsoSection
from .turn import TurnConfig

log = logging.getLogger(__name__)

# Same promise as on the booth (videokiosk/retention.py): personal rows are deleted after 14 days at the latest.


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSection(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Origins allowed to open the advisor socket besides the hub's own (a reverse proxy's name).
    extra_origins: list[str] = []
    # Connections one client address may hold (hub/connlimits.py); a reverse proxy needs more.
    max_connections_per_address: Annotated[int, Field(ge=1, le=100_000)] = 256
    # A connection that has not completed a request this long after opening (or after its last
    # answer) is closed: idle clients and slowloris alike.
    idle_timeout_s: Annotated[float, Field(gt=0, le=600)] = 15.0
    # A request body (login, consent, the booth's speed test upload...) not complete this long
    # after its headers ends the request with 408 and closes the connection: a trickled body.
    body_timeout_s: Annotated[float, Field(gt=0, le=600)] = 20.0
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); nobody else's is.
    trusted_proxies: list[Annotated[str, Field(pattern=r"^[0-9A-Fa-f:.]+(/\d{1,3})?$")]] = []

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> "ServerSection":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("server.tls_cert and server.tls_key must be given together")
        return self


class StoreSection(_Section):
    path: Path = Path("/var/lib/videokiosk/hub.db")
    # Hubs on several machines share one PostgreSQL instead (docs/scale-out.md); the password in
    # ~/.pgpass or PGPASSFILE, not here. Off loopback only with a verified TLS connection.
    database_url: Annotated[str, Field(pattern=r"^postgres(ql)?://")] | None = None
    retention_days: Annotated[int, Field(ge=1, le=MAX_RETENTION_DAYS)] = MAX_RETENTION_DAYS
    purge_interval_s: Annotated[float, Field(gt=0)] = 3600.0

    @model_validator(mode="after")
    def _tls_off_loopback(self) -> "StoreSection":
        url = urlsplit(self.database_url or "postgresql://localhost")
        host = url.hostname or "localhost"  # none: the local Unix socket
        sslmode = parse_qs(url.query).get("sslmode", [""])[-1]
        if not (host == "localhost" or host.startswith("/") or _is_loopback_ip(host)) \
                and sslmode not in ("verify-ca", "verify-full"):
            raise ValueError("store.database_url leaves this machine: add ?sslmode=verify-full (and the server's CA "
                             "in ~/.postgresql/root.crt) so the hub's data travels encrypted to the right server")
        return self


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AuthSection(_Section):
    # Wrong passwords for one account from one address before that pair must wait (doubling from
    # 1 s up to lockout_s); an address as a whole gets address_failures (an office behind one NAT).
    max_failures: Annotated[int, Field(ge=1, le=100)] = 5
    address_failures: Annotated[int, Field(ge=1, le=1000)] = 20
    lockout_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    # Password checks (argon2id, 64 MiB each) running at once, waiting at most, and per address.
    login_workers: Annotated[int, Field(ge=1, le=16)] = 2
    login_queue: Annotated[int, Field(ge=0, le=256)] = 8
    login_per_address: Annotated[int, Field(ge=1, le=16)] = 1
    session_ttl_s: Annotated[float, Field(gt=60, le=7 * 86400)] = 12 * 3600.0
    # How often each hub checks its open consoles' sessions against the database. An ended session
    # is announced to every hub at once (hub/sessions.py); this check catches what an announcement
    # missed (Redis down, a message lost), so above 1 s a removed advisor may keep a console longer.
    session_check_s: Annotated[float, Field(gt=0, le=60)] = 0.25


class CallsSection(_Section):
    # A call whose booth or advisor is gone this long ends cleanly for both sides.
    reconnect_timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    heartbeat_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # For the "estimated wait" a booth shows: average minutes per consultation.
    average_call_s: Annotated[float, Field(gt=0)] = 600.0


class StateSection(_Section):
    # Several hub processes behind one load balancer share presence, queue and calls in Redis
    # (hub/state_redis.py); one hub alone keeps them in process.
    backend: Literal["memory", "redis"] = "memory"
    redis_url: Annotated[str, Field(pattern=r"^(redis|rediss|unix)://")] = "redis://127.0.0.1:6379/0"
    prefix: Annotated[str, Field(max_length=40)] = "vk:"


class MailSection(_Section):
    """Invitations (hub/mail.py). Without ``smtp_host`` mails go to ``eml_dir`` as .eml files."""

    smtp_host: str | None = None
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    starttls: bool = True
    ca_file: Path | None = None  # trust this CA for STARTTLS (an office's own CA); else the system's
    username: str | None = None
    password: str | None = None
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")] = "videotermin@localhost"
    # Where the personal links point: the hub's address as customers reach it from home.
    public_url: Annotated[str, Field(pattern=r"^https?://\S+$")] = "http://127.0.0.1:8080"
    # The folder the mails are written to when there is no SMTP host (the default keeps the place
    # it had under the key's old name).
    eml_dir: Path = Path("/var/lib/videokiosk/outbox")
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 8
    retry_base_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0

    @model_validator(mode="before")
    @classmethod
    def _old_name_of_eml_dir(cls, data: Any) -> Any:
        # Deprecated: ``outbox_dir`` was this folder's name; "outbox" is the queue of mails waiting to
        # go out (hub/outbox.py). Configs written with the old name keep working.
        if not isinstance(data, dict) or "outbox_dir" not in data:
            return data
        if "eml_dir" in data:
            raise ValueError("mail.outbox_dir is the old name of mail.eml_dir: give only eml_dir")
        log.warning("hub config: [mail] outbox_dir is deprecated, call it eml_dir")
        return {("eml_dir" if key == "outbox_dir" else key): value for key, value in data.items()}


class HubConfig(_Section):
    server: ServerSection = ServerSection()
    store: StoreSection = StoreSection()
    auth: AuthSection = AuthSection()
    calls: CallsSection = CallsSection()
    state: StateSection = StateSection()
    mail: MailSection = MailSection()
    # Single sign-on for advisors: OpenID Connect and/or LDAP (docs/hub-sso.md).
    sso: SsoSection = SsoSection()
    ice_servers: list[IceServer] = []
    # A coturn with use-auth-secret: each booth and advisor gets its own short-lived credential.
    turn: TurnConfig | None = None


def parse_hub_config(data: dict, source: str = "<hub config>") -> HubConfig:
    try:
        return HubConfig.model_validate(data)
    except ValidationError as err:
        raise HubConfigError(describe_validation_error(source, err)) from None


def load_hub_config(path: Path | str) -> HubConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise HubConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise HubConfigError(f"{path}: cannot read config file ({exc})") from None
    return parse_hub_config(data, str(path))
