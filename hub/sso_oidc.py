"""OpenID Connect sign-in for advisors: authorization code flow with PKCE (S256), state and nonce.

Authlib makes the secrets, the PKCE challenge and checks the ID token's claims (with joserfc for
the signature); aiohttp, which the hub speaks already, carries the requests. Imported only when
``[sso.oidc]`` is configured.

One sign-in:

1. ``start`` makes ``state``, ``nonce`` and a PKCE verifier, stores them in the database under
   the state's hash and this browser's pre-login cookie (any hub process may get the callback),
   and sends the browser to the provider.
2. ``finish`` takes the state back *once* (a replayed callback finds nothing), only from the same
   browser and before it expires, exchanges the code with the verifier, and checks the ID token:
   signature by the provider's published keys, issuer, audience, expiry, nonce.
3. The groups claim maps to roles (hub/sso_accounts.py): no mapped group, no entry.

Every failure is an :class:`SsoError` with a reason the login page explains; nothing of it
reaches the browser as a stack trace.
"""

from __future__ import annotations

import hashlib
import logging
from base64 import b64encode
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from videokiosk.clock import Clock

from .storage import Database
from .errors import SsoError
from .sso_accounts import SsoAccounts, SsoIdentity
from .sso_config import OidcSection, roles_for

log = logging.getLogger(__name__)
SOURCE = "oidc"
# Sign-ins started and not finished (each expires after pending_s): a flood of starts stops here.
MAX_PENDING = 10_000


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class OidcLogin:
    def __init__(self, config: OidcSection, db: Database, clock: Clock, accounts: SsoAccounts) -> None:
        self.config = config
        self._db = db
        self._clock = clock
        self._accounts = accounts
        self._metadata: dict[str, Any] | None = None  # the provider's discovery document, fetched once
        self._keys: KeySet | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self, browser: str) -> str:
        """The provider's URL to send this browser to (``browser``: its pre-login cookie)."""
        metadata = await self._discovery()
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        now = self._clock.now()
        with self._db.transaction():
            self._db.execute("DELETE FROM sso_pending WHERE expires_at <= ?", [now.isoformat()])
            if self._db.execute("SELECT count(*) FROM sso_pending").fetchone()[0] >= MAX_PENDING:
                raise SsoError("busy", "oidc: too many sign-ins under way")
            self._db.execute("INSERT INTO sso_pending VALUES (?, ?, ?, ?, ?)", [
                _hash(state), _hash(browser), nonce, verifier,
                (now + timedelta(seconds=self.config.pending_s)).isoformat()])
        return add_params_to_uri(metadata["authorization_endpoint"], [
            ("response_type", "code"), ("client_id", self.config.client_id),
            ("redirect_uri", self.config.redirect_url), ("scope", " ".join(self.config.scopes)),
            ("state", state), ("nonce", nonce),
            ("code_challenge", create_s256_code_challenge(verifier)), ("code_challenge_method", "S256")])

    async def finish(self, query: Mapping[str, str], browser: str | None) -> str:
        """The signed-in advisor's user name, from the provider's redirect back to the hub."""
        if "error" in query:  # the person said no at the provider, or it refused; no session either way
            raise SsoError("denied", f"oidc: the provider answered {query['error'][:40]!r}")
        nonce, verifier = self._take_pending(query.get("state") or "", browser or "")
        code = query.get("code")
        if not code:
            raise SsoError("provider", "oidc: the provider sent neither a code nor an error")
        token = await self._exchange(code, verifier)
        claims = await self._id_token_claims(token, nonce)
        username = claims.get(self.config.username_claim)
        if not isinstance(username, str):
            raise SsoError("token", f"oidc: the ID token has no {self.config.username_claim!r} claim")
        groups = claims.get(self.config.groups_claim) or []
        groups = [groups] if isinstance(groups, str) else [g for g in groups if isinstance(g, str)]
        identity = SsoIdentity(SOURCE, str(claims["sub"]), username)
        return self._accounts.admit(identity, roles_for(groups, self.config.roles))

    def _take_pending(self, state: str, browser: str) -> tuple[str, str]:
        """The sign-in ``state`` started in this browser, removed: it answers once."""
        with self._db.transaction():
            row = self._db.execute("SELECT browser_hash, nonce, verifier, expires_at FROM sso_pending "
                                   "WHERE state_hash = ?", [_hash(state)]).fetchone()
            if row is not None:
                self._db.execute("DELETE FROM sso_pending WHERE state_hash = ?", [_hash(state)])
        if row is None or row[0] != _hash(browser) or row[3] <= self._clock.now().isoformat():
            raise SsoError("state", "oidc: unknown, used, expired or another browser's sign-in state")
        return row[1], row[2]

    async def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        metadata = await self._discovery()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.config.redirect_url,
                "code_verifier": verifier, "client_id": self.config.client_id}
        headers = {}
        if self.config.client_secret is not None:  # client_secret_basic: both form-encoded first (RFC 6749 2.3.1)
            pair = f"{quote(self.config.client_id, safe='')}:{quote(self.config.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + b64encode(pair.encode("utf-8")).decode("ascii")
        try:
            async with self._session().post(metadata["token_endpoint"], data=form, headers=headers) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SsoError("unavailable", f"oidc: token endpoint unreachable ({type(exc).__name__})") from None
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise SsoError("provider", f"oidc: the code was refused (HTTP {status}, {str(error)[:40]!r})")
        return body

    async def _id_token_claims(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        metadata = await self._discovery()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                decoded = jwt.decode(token["id_token"], await self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rolled its keys since we fetched them
                decoded = jwt.decode(token["id_token"], await self._key_set(refresh=True), registry=registry)
            # Every check named, none left to the token: issuer, audience, subject, nonce, expiry.
            options = {"iss": {"essential": True, "value": self.config.issuer},
                       "aud": {"essential": True, "value": self.config.client_id},
                       "sub": {"essential": True}, "exp": {"essential": True},
                       "nonce": {"essential": True, "value": nonce}}
            claims = CodeIDToken(decoded.claims, decoded.header, options,
                                 {"nonce": nonce, "client_id": self.config.client_id,
                                  "access_token": token.get("access_token")})
            claims.validate(now=int(self._clock.now().timestamp()), leeway=int(self.config.leeway_s))
        except JoseError as exc:
            raise SsoError("token", f"oidc: ID token refused ({type(exc).__name__}: {getattr(exc, 'description', '') or ''})") from None
        except (ValueError, TypeError) as exc:
            raise SsoError("token", f"oidc: ID token unreadable ({type(exc).__name__})") from None
        return dict(claims)

    async def _discovery(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            metadata = await self._get_json(url)
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(metadata.get(key), str):
                    raise SsoError("unavailable", f"oidc: the provider's discovery document has no {key}")
            if metadata.get("issuer") != self.config.issuer:  # OIDC Discovery 1.0, section 4.3
                raise SsoError("unavailable", "oidc: the provider calls itself another issuer than sso.oidc.issuer")
            self._metadata = metadata
        return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            try:
                self._keys = KeySet.import_key_set(await self._get_json((await self._discovery())["jwks_uri"]))
            except (JoseError, ValueError, TypeError, KeyError):
                raise SsoError("unavailable", "oidc: the provider's signing keys are unreadable") from None
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._session().get(url) as response:
                response.raise_for_status()
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SsoError("unavailable", f"oidc: provider unreachable ({type(exc).__name__})") from None
        if not isinstance(body, dict):
            raise SsoError("unavailable", "oidc: the provider answered something else than a JSON object")
        return body

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:  # made on first use: on the running loop
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.config.timeout_s))
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
