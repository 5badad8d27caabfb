"""Short-lived TURN credentials, minted by the hub with the shared-secret scheme coturn implements
(``use-auth-secret`` / ``static-auth-secret``, the "TURN REST API"): the user name is
``<expiry unix time>:<random name>`` and the password is ``base64(HMAC-SHA1(secret, user name))``.
coturn recomputes it from the same secret and refuses it after the expiry, so a leaked credential
is worth little and the hub stores none.

The name after the expiry is random, never the booth's id, the advisor's user name or a home
participant's: coturn logs each session's user name beside the client's address, and the office
keeps that log as long as it likes, beyond the 14 days of the call rows.

Example::

    >>> cfg = TurnConfig(host="turn.example.org", secret="s3cret-shared", ttl_s=600)
    >>> servers = turn_ice_servers(cfg, now=1_700_000_000)
    >>> servers[0].urls
    ['stun:turn.example.org:3478']
    >>> servers[1].username.startswith("1700000600:"), servers[1].urls[1]
    (True, 'turn:turn.example.org:3478?transport=tcp')
    >>> servers[1].credential == credential_for("s3cret-shared", servers[1].username)
    True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from rtc.protocol import IceServer


class TurnConfig(BaseModel):
    """``[turn]`` of the hub config: one coturn (or compatible) server and its shared secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    host: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9.:\[\]-]+$")]
    port: Annotated[int, Field(ge=1, le=65535)] = 3478
    tls_port: Annotated[int, Field(ge=1, le=65535)] = 5349
    secret: Annotated[str, Field(min_length=8, max_length=256)]
    # Long enough for the longest consultation; a call that outlives it keeps its allocation
    # (coturn checks the credential at allocation and refresh only against this expiry).
    ttl_s: Annotated[int, Field(ge=60, le=86400)] = 4 * 3600
    transports: list[Annotated[str, Field(pattern=r"^(udp|tcp|tls)$")]] = ["udp", "tcp", "tls"]


def credential_for(secret: str, username: str) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()).decode("ascii")


def turn_credentials(secret: str, ttl_s: int, now: float | None = None) -> tuple[str, str]:
    """A fresh ``(username, credential)``, valid until ``now + ttl_s``, that names nobody."""
    expiry = int(now if now is not None else time.time()) + ttl_s
    username = f"{expiry}:{secrets.token_hex(8)}"
    return username, credential_for(secret, username)


def turn_ice_servers(config: TurnConfig, now: float | None = None) -> list[IceServer]:
    """The TURN host as STUN, and as TURN over UDP, TCP and TLS with a fresh credential."""
    username, credential = turn_credentials(config.secret, config.ttl_s, now)
    host = config.host
    urls = {
        "udp": f"turn:{host}:{config.port}?transport=udp",
        "tcp": f"turn:{host}:{config.port}?transport=tcp",
        "tls": f"turns:{host}:{config.tls_port}?transport=tcp",
    }
    return [
        IceServer(urls=[f"stun:{host}:{config.port}"]),
        IceServer(urls=[urls[t] for t in config.transports], username=username, credential=credential),
    ]


def credential_valid(secret: str, username: str, credential: str, now: float | None = None) -> bool:
    """What coturn checks: the HMAC matches and the expiry has not passed."""
    expiry, _, _who = username.partition(":")
    if not expiry.isdigit() or int(expiry) < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(credential_for(secret, username), credential)
