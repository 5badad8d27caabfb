"""Advisors sign in with their directory password: an LDAP bind against a real slapd, groups
(groupOfNames member) map to roles, through the same login guard as local passwords."""

from __future__ import annotations

import re

import aiohttp
import ldap3
import pytest
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig, parse_hub_config
from hub.errors import HubConfigError
from hub.roles import TECHNICIAN, has_role
from videokiosk.clock import FakeClock

from ..support import private_ca_server
from .conftest import store_for
from .sso_servers import LDAP_SUFFIX, Slapd

PASSWORD = "s3cret-pass-12"
PEOPLE, GROUPS = f"ou=people,{LDAP_SUFFIX}", f"ou=groups,{LDAP_SUFFIX}"
LENA_DN = f"uid=lena,{PEOPLE}"
READER_DN = f"cn=reader,{LDAP_SUFFIX}"  # also the member a groupOfNames must keep when the last person goes
SEED = f"""\
dn: {LDAP_SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: {LENA_DN}
objectClass: inetOrgPerson
uid: lena
cn: Lena
sn: L
userPassword: lena-directory-pass

dn: uid=kai,{PEOPLE}
objectClass: inetOrgPerson
uid: kai
cn: Kai
sn: K
userPassword: kai-directory-pass

dn: cn=reader,{LDAP_SUFFIX}
objectClass: inetOrgPerson
cn: reader
sn: R
userPassword: reader-pass

dn: {GROUPS}
objectClass: organizationalUnit
ou: groups

dn: cn=beratung,{GROUPS}
objectClass: groupOfNames
cn: beratung
member: {READER_DN}
member: {LENA_DN}

dn: cn=technik,{GROUPS}
objectClass: groupOfNames
cn: technik
member: {READER_DN}
member: {LENA_DN}

dn: cn=kantine,{GROUPS}
objectClass: groupOfNames
cn: kantine
member: uid=kai,{PEOPLE}
"""
ROLES = {"beratung": ["advisor"], "technik": ["technician"]}


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = Slapd(tmp_path_factory.mktemp("slapd"), SEED)
    yield server
    server.stop()


def ldap_config(slapd: Slapd, **overrides) -> dict:
    return {"url": slapd.url, "user_dn_template": f"uid={{username}},{PEOPLE}", "group_base": GROUPS,
            "roles": ROLES, **overrides}


async def start_hub(database: str, ldap: dict):
    """A hub on ``database`` (a SQLite file or a PostgreSQL URL) signing in through ``ldap``."""
    config = HubConfig.model_validate({"store": store_for(database), "sso": {"ldap": ldap}})
    parts = HubParts.open(config, clock=FakeClock())
    parts.users.add_user("anna", PASSWORD)
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/"), parts


@pytest.fixture
async def hub(hub_database, slapd):
    """On both backends: the directory's advisors and their sessions are durable state."""
    server, url, parts = await start_hub(hub_database, ldap_config(slapd))
    yield url, parts
    await server.close()
    parts.db.close()


async def login(url: str, username: str, password: str, address: str = "127.0.0.1") -> tuple[int, dict, aiohttp.ClientSession]:
    b = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                              connector=aiohttp.TCPConnector(local_addr=(address, 0)))
    async with b.post(f"{url}/api/login", json={"username": username, "password": password}) as r:
        return r.status, await r.json(), b


async def test_a_directory_password_signs_in_with_the_groups_roles(hub):
    url, parts = hub
    status, body, b = await login(url, "lena", "lena-directory-pass")
    async with b:
        assert status == 200 and body["username"] == "lena"
        async with b.get(f"{url}/api/me") as r:
            assert r.status == 200
        async with b.get(f"{url}/api/fleet") as r:  # technician, from the group technik
            assert r.status == 200
    assert has_role(parts.db, "lena", TECHNICIAN)
    # The hub keeps no directory password: its row has the mark no password matches.
    (stored,) = parts.db.execute("SELECT password_hash FROM users WHERE username = 'lena'").fetchone()
    assert "lena-directory-pass" not in stored and stored == "!sso"


async def test_a_wrong_directory_password_or_none_is_refused(hub):
    url, _ = hub
    for password in ("wrong-password", ""):  # "" would be an anonymous bind: never a log-in
        status, body, b = await login(url, "lena", password)
        await b.close()
        assert status == 401, body
    status, _, b = await login(url, "nobody-here", "whatever-password")
    await b.close()
    assert status == 401


async def test_without_a_mapped_group_nobody_gets_in(hub):
    url, _ = hub
    status, body, b = await login(url, "kai", "kai-directory-pass")
    async with b:
        assert (status, body["error"]) == (403, "no_role")
        async with b.get(f"{url}/api/me") as r:
            assert r.status == 401


async def test_a_group_membership_removed_refuses_the_next_login_and_ends_the_session(hub, slapd):
    url, parts = hub
    status, _, first = await login(url, "lena", "lena-directory-pass")
    assert status == 200
    admin = slapd.admin()
    try:
        for group in ("beratung", "technik"):
            admin.modify(f"cn={group},{GROUPS}", {"member": [(ldap3.MODIFY_DELETE, [LENA_DN])]})
            assert admin.result["result"] == 0, admin.result
        status, body, second = await login(url, "lena", "lena-directory-pass")
        await second.close()
        assert (status, body["error"]) == (403, "no_role")
        async with first, first.get(f"{url}/api/me") as r:
            assert r.status == 401  # her open session ended with the refused log-in
    finally:
        for group in ("beratung", "technik"):
            admin.modify(f"cn={group},{GROUPS}", {"member": [(ldap3.MODIFY_ADD, [LENA_DN])]})
        admin.unbind()


async def test_remove_user_ends_a_directory_advisors_session(hub):
    url, parts = hub
    status, _, b = await login(url, "lena", "lena-directory-pass")
    async with b:
        assert status == 200
        parts.users.remove_user("lena")  # `videokiosk hub remove-user lena`
        async with b.get(f"{url}/api/me") as r:
            assert r.status == 401


async def test_local_accounts_stay_and_win_over_the_directory(hub):
    url, _ = hub
    status, _, b = await login(url, "anna", PASSWORD)
    await b.close()
    assert status == 200


async def test_a_guesser_is_slowed_by_the_same_login_guard(hub):
    url, parts = hub
    guard = parts.config.auth
    statuses = []
    for i in range(guard.max_failures + 1):
        status, _, b = await login(url, "lena", f"guess-{i}", address="127.0.0.3")
        await b.close()
        statuses.append(status)
    # The same back-off as for local passwords: a handful of wrong binds, then the guesser waits.
    assert statuses.count(401) <= guard.max_failures and statuses[-2:] == [429, 429], statuses
    status, _, b = await login(url, "lena", "lena-directory-pass", address="127.0.0.4")  # the real one, elsewhere
    await b.close()
    assert status == 200


async def test_a_service_account_finds_the_user(tmp_path, slapd):
    server, url, _ = await start_hub(str(tmp_path / "hub.db"), ldap_config(
        slapd, user_dn_template=None, user_base=PEOPLE, bind_dn=f"cn=reader,{LDAP_SUFFIX}", bind_password="reader-pass"))
    try:
        status, body, b = await login(url, "lena", "lena-directory-pass")
        await b.close()
        assert status == 200, body
        status, _, b = await login(url, "lena)(uid=*", "lena-directory-pass")  # filter injection finds nobody
        await b.close()
        assert status == 401
    finally:
        await server.close()


@pytest.mark.parametrize("tls", ["starttls", "ldaps"])
async def test_tls_to_the_directory_trusts_the_configured_ca_only(tmp_path, slapd, tls):
    secure = {"starttls": True} if tls == "starttls" else {"url": slapd.ldaps_url}
    server, url, _ = await start_hub(str(tmp_path / "good.db"), ldap_config(slapd, ca_file=str(slapd.ca_file), **secure))
    try:
        status, body, b = await login(url, "lena", "lena-directory-pass")
        await b.close()
        assert status == 200, body
    finally:
        await server.close()
    (tmp_path / "other").mkdir()
    other_ca, _ = private_ca_server(tmp_path / "other")
    server, url, _ = await start_hub(str(tmp_path / "bad.db"), ldap_config(slapd, ca_file=str(other_ca), **secure))
    try:
        status, body, b = await login(url, "lena", "lena-directory-pass")
        await b.close()
        assert (status, body["error"]) == (503, "unavailable")  # a directory it cannot verify gets no password
    finally:
        await server.close()


@pytest.mark.parametrize("tls", ["starttls", "ldaps"])
async def test_a_directory_whose_certificate_names_another_host_gets_no_password(tmp_path, slapd, tls):
    # The directory's certificate is for 127.0.0.1; the hub is told to reach it as localhost (the same
    # server): a trusted CA is not enough, the name must match too (hub/sso_ldap.py checks it with OpenSSL).
    url = (slapd.url if tls == "starttls" else slapd.ldaps_url).replace("127.0.0.1", "localhost")
    secure = {"starttls": True} if tls == "starttls" else {}
    server, hub_url, _ = await start_hub(str(tmp_path / "hub.db"),
                                         ldap_config(slapd, url=url, ca_file=str(slapd.ca_file), **secure))
    try:
        status, body, b = await login(hub_url, "lena", "lena-directory-pass")
        await b.close()
        assert (status, body.get("error")) == (503, "unavailable"), body
    finally:
        await server.close()


async def test_a_directory_that_is_down_is_explained_not_a_500(tmp_path):
    server, url, _ = await start_hub(str(tmp_path / "hub.db"), {"url": "ldap://127.0.0.1:9", "user_dn_template": "uid={username},o=x",
                                                "group_base": "o=x", "roles": ROLES, "timeout_s": 3})
    try:
        status, body, b = await login(url, "lena", "lena-directory-pass")
        await b.close()
        assert (status, body["error"]) == (503, "unavailable")
    finally:
        await server.close()


@pytest.mark.parametrize("ldap, says", [
    ({"url": "ldap://ldap.example.org"}, "in clear"),
    ({"url": "ldaps://ldap.example.org", "starttls": True}, "ldaps"),
    ({"user_dn_template": None}, "either user_dn_template"),
    ({"user_dn_template": "uid=x,o=y"}, "{username}"),
    ({"roles": {"beratung": ["root"]}}, r"sso.ldap.roles.beratung.0"),
    ({"group_filter": "(member={dn})"}, "sso.ldap.group_filter may contain {user_dn}"),
])
def test_a_broken_ldap_config_names_the_problem(ldap, says):
    good = {"url": "ldaps://ldap.example.org", "user_dn_template": "uid={username},o=y", "group_base": "o=y",
            "roles": ROLES}
    with pytest.raises(HubConfigError, match=re.escape(says)):
        parse_hub_config({"sso": {"ldap": {**good, **ldap}}}, "hub.toml")


def test_plain_ldap_to_another_machine_only_when_told():
    parse_hub_config({"sso": {"ldap": {"url": "ldap://ldap.example.org", "starttls": True,
                                       "user_dn_template": "uid={username},o=y", "group_base": "o=y", "roles": ROLES}}})
    parse_hub_config({"sso": {"ldap": {"url": "ldap://ldap.example.org", "allow_insecure": True,
                                       "user_dn_template": "uid={username},o=y", "group_base": "o=y", "roles": ROLES}}})
