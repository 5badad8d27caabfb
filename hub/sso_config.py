"""``[sso]`` in hub.toml: single sign-on for advisors, OpenID Connect and/or LDAP (docs/hub-sso.md).

Plain pydantic, no SSO library: a hub without ``[sso]`` never imports Authlib or ldap3, and a
broken section names the key like every other config mistake.

Example::

    >>> sso = SsoSection.model_validate({"oidc": {
    ...     "issuer": "https://login.example.org", "client_id": "videokiosk",
    ...     "redirect_url": "https://hub.example.org/sso/oidc/callback",
    ...     "roles": {"beratung": ["advisor"], "teamleitung": ["advisor", "lead"]}}})
    >>> sorted(roles_for(["teamleitung", "kantine"], sso.oidc.roles))
    ['advisor', 'lead']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .clientaddr import is_loopback
from .roles import LEAD, TECHNICIAN

ADVISOR = "advisor"  # every account is an advisor; SSO needs it said, so nobody gets in by default
SSO_ROLES = (ADVISOR, LEAD, TECHNICIAN)
Role = Literal["advisor", "lead", "technician"]
# A group (OIDC claim value, LDAP group name or DN) -> the roles its members get here.
RoleMap = Annotated[dict[Annotated[str, Field(min_length=1, max_length=512)], list[Role]], Field(min_length=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def roles_for(groups: Iterable[str], mapping: dict[str, list[str]]) -> set[str]:
    """The roles ``groups`` map to; empty means: no access to this hub."""
    return {role for group in groups for role in mapping.get(group, ())}


def _is_loopback_host(host: str | None) -> bool:

    return host is not None and is_loopback(host)


class OidcSection(_Section):
    # The provider's issuer URL exactly as its discovery document and ID tokens name it.
    issuer: Annotated[str, Field(pattern=r"^https?://\S+$")]
    client_id: Annotated[str, Field(min_length=1, max_length=256)]
    # Confidential clients send it (client_secret_basic); a public client leaves it out (PKCE alone).
    client_secret: str | None = None
    # This hub's callback as the browser reaches it; registered with the provider.
    redirect_url: Annotated[str, Field(pattern=r"^https?://\S+/sso/oidc/callback$")]
    # Shown on the login page: "Mit <display_name> anmelden".
    display_name: Annotated[str, Field(min_length=1, max_length=40)] = "Office-SSO"
    scopes: list[Annotated[str, Field(pattern=r"^[\x21-\x7e]+$")]] = ["openid", "profile"]
    username_claim: Annotated[str, Field(min_length=1)] = "preferred_username"
    groups_claim: Annotated[str, Field(min_length=1)] = "groups"
    roles: RoleMap
    # Clock difference tolerated between hub and provider when checking exp / iat.
    leeway_s: Annotated[float, Field(ge=0, le=300)] = 60.0
    # How long a started sign-in may take at the provider before it must start again.
    pending_s: Annotated[float, Field(gt=0, le=3600)] = 600.0
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Plain http to a provider that is not on this machine sends codes and tokens in clear.
    allow_insecure_http: bool = False

    @model_validator(mode="after")
    def _https_unless_loopback(self) -> "OidcSection":
        host = urlsplit(self.issuer).hostname
        if urlsplit(self.issuer).scheme == "http" and not _is_loopback_host(host) and not self.allow_insecure_http:
            raise ValueError(f"sso.oidc.issuer {self.issuer!r} is plain http to another machine: use https, "
                             "or set sso.oidc.allow_insecure_http = true (tests, a provider behind a TLS proxy)")
        if "openid" not in self.scopes:
            raise ValueError("sso.oidc.scopes must contain 'openid'")
        return self


class LdapSection(_Section):
    # ldap://host:389 (with starttls) or ldaps://host:636.
    url: Annotated[str, Field(pattern=r"^ldaps?://[^/\s]+/?$")]
    starttls: bool = False
    ca_file: str | None = None  # trust this CA for ldaps / StartTLS; else the system's
    # Either a DN template ("uid={username},ou=people,dc=example,dc=org") the user binds as
    # directly, or a service account that searches the user's DN first.
    user_dn_template: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = None
    user_base: str | None = None
    user_filter: str = "(uid={username})"
    # Groups the user is in: groupOfNames entries under group_base whose member is the user's DN.
    group_base: Annotated[str, Field(min_length=1)]
    group_filter: str = "(&(objectClass=groupOfNames)(member={user_dn}))"
    group_name_attribute: str = "cn"
    roles: RoleMap
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Passwords in clear to another machine are refused unless said otherwise (a TLS tunnel).
    allow_insecure: bool = False

    @model_validator(mode="after")
    def _check(self) -> "LdapSection":
        if (self.user_dn_template is None) == (self.user_base is None):
            raise ValueError("sso.ldap: give either user_dn_template, or user_base (with bind_dn / bind_password "
                             "of a service account that may search it)")
        if self.user_dn_template is not None and "{username}" not in self.user_dn_template:
            raise ValueError("sso.ldap.user_dn_template must contain {username}")
        if (self.bind_dn is None) != (self.bind_password is None):
            raise ValueError("sso.ldap.bind_dn and sso.ldap.bind_password must be given together")
        for key, placeholder in (("user_dn_template", "username"), ("user_filter", "username"),
                                 ("group_filter", "user_dn")):
            template = getattr(self, key)
            try:
                if template is not None:
                    template.format(**{placeholder: "x"})
            except (KeyError, IndexError, ValueError):
                raise ValueError(f"sso.ldap.{key} may contain {{{placeholder}}} and no other {{...}}") from None
        if self.url.startswith("ldaps://") and self.starttls:
            raise ValueError("sso.ldap: ldaps:// is TLS already; starttls = true is for ldap://")
        host = urlsplit(self.url).hostname
        if self.url.startswith("ldap://") and not self.starttls and not _is_loopback_host(host) \
                and not self.allow_insecure:
            raise ValueError(f"sso.ldap.url {self.url!r} sends passwords in clear to another machine: use "
                             "ldaps://, or starttls = true, or set allow_insecure = true")
        return self


class SsoSection(_Section):
    oidc: OidcSection | None = None
    ldap: LdapSection | None = None
