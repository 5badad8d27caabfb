"""Advisors sign in with their directory password: an LDAP bind as the user (ldap3).

The hub binds *as the user* (the DN from a template, or searched by a service account), so the
directory checks the password; the hub never stores it. The groups the user is a member of
(``groupOfNames`` ``member`` by default) map to roles (hub/sso_accounts.py). It runs behind the
same login guard as local passwords (hub/login_guard.py): bounded work in the guard's pool,
per-address back-off. Imported only when ``[sso.ldap]`` is configured.

A local account of the same name wins over the directory (small offices, the demo); an account
that single sign-on made is always the directory's to decide.
"""

from __future__ import annotations

import logging
import math
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from .errors import SsoError
from .sso_accounts import SsoAccounts, SsoIdentity, is_directory_account
from .sso_config import LdapSection, roles_for

log = logging.getLogger(__name__)
SOURCE = "ldap"


@dataclass(frozen=True)
class DirectoryAccount:
    username: str
    dn: str
    groups: frozenset[str]  # each group's name attribute and its DN: the role map may use either


class _OpenSslTls(ldap3.Tls):
    """ldap3's TLS, with the directory's certificate and its name both checked by OpenSSL (a default
    context trusting ``ca_file``, else the system's CAs). ldap3 2.9 turns OpenSSL's name check off and
    checks the name itself with ``ssl.match_hostname``, gone since Python 3.12: its fallback knows no
    IP addresses, so on Python 3.13 (Debian 13) every directory reached by IP was refused."""

    def __init__(self, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)
        self._ca_file = ca_file

    def wrap_socket(self, connection: ldap3.Connection, do_handshake: bool = False) -> None:
        # Made per connection, as ldap3 does: a CA file renewed on disk counts from the next log-in.
        context = ssl.create_default_context(cafile=self._ca_file)
        connection.socket = context.wrap_socket(connection.socket, server_hostname=connection.server.host,
                                                do_handshake_on_connect=do_handshake)


class LdapDirectory:
    def __init__(self, config: LdapSection, accounts: SsoAccounts) -> None:
        self.config = config
        self._accounts = accounts
        parts = urlsplit(config.url)
        tls = None
        if parts.scheme == "ldaps" or config.starttls:
            tls = _OpenSslTls(config.ca_file)
        self._server = ldap3.Server(parts.hostname, port=parts.port, use_ssl=parts.scheme == "ldaps", tls=tls,
                                    connect_timeout=math.ceil(config.timeout_s), get_info=ldap3.NONE)

    def handles(self, stored_hash: str | None) -> bool:
        """Whether the directory decides this log-in (no local account of that name)."""
        return is_directory_account(stored_hash)

    def authenticate(self, username: str, password: str) -> DirectoryAccount | None:
        """The account if ``password`` binds as ``username``; None otherwise. Blocking: the login
        guard runs it in its pool."""
        if not password or not username:
            return None  # an empty password is an anonymous bind in LDAP: it would "succeed"
        try:
            dn = self._user_dn(username)
            if dn is None:
                return None
            with self._connect(dn, password) as conn:
                if not conn.bound:
                    return None
                return DirectoryAccount(username, dn, self._groups(conn, dn))
        except SsoError:
            raise
        except (LDAPException, OSError) as exc:  # the directory is another machine: down, refusing, slow
            log.warning("ldap: directory unreachable or refused the request (%s)", type(exc).__name__)
            raise SsoError("unavailable", f"ldap: directory unreachable ({type(exc).__name__})") from None

    def admit(self, account: DirectoryAccount) -> str:
        """Bring the hub account up to date (on the event loop: it writes the database)."""
        identity = SsoIdentity(SOURCE, account.dn, account.username)
        return self._accounts.admit(identity, roles_for(account.groups, self.config.roles))

    def _connect(self, dn: str | None, password: str | None) -> ldap3.Connection:
        conn = ldap3.Connection(self._server, user=dn, password=password, read_only=True, raise_exceptions=False,
                                receive_timeout=math.ceil(self.config.timeout_s), auto_bind=ldap3.AUTO_BIND_NONE)
        conn.open()
        if self.config.starttls and not conn.start_tls():
            conn.unbind()
            raise SsoError("unavailable", "ldap: StartTLS failed")
        conn.bind()
        return conn

    def _user_dn(self, username: str) -> str | None:
        config = self.config
        if config.user_dn_template is not None:
            return config.user_dn_template.format(username=escape_rdn(username))
        with self._connect(config.bind_dn, config.bind_password) as conn:
            if not conn.bound:
                raise SsoError("unavailable", "ldap: the service account (sso.ldap.bind_dn) cannot bind")
            conn.search(config.user_base, config.user_filter.format(username=escape_filter_chars(username)),
                        search_scope=ldap3.SUBTREE, attributes=[], size_limit=2)
            found = [entry.entry_dn for entry in conn.entries]
        return found[0] if len(found) == 1 else None  # none, or not one person: no log-in

    def _groups(self, conn: ldap3.Connection, dn: str) -> frozenset[str]:
        attribute = self.config.group_name_attribute
        conn.search(self.config.group_base, self.config.group_filter.format(user_dn=escape_filter_chars(dn)),
                    search_scope=ldap3.SUBTREE, attributes=[attribute])
        names: set[str] = set()
        for entry in conn.entries:
            names.add(entry.entry_dn)
            if attribute in entry:
                names.update(str(value) for value in entry[attribute].values)
        return frozenset(names)
