"""Advisors sign in with OpenID Connect (code flow, PKCE, state, nonce) at a real provider process,
and every way a sign-in can be forged ends on the login page with a reason, never in a session."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.errors import HubConfigError
from hub.config import parse_hub_config
from hub.roles import LEAD, has_role
from videokiosk.clock import FakeClock

from .sso_servers import OidcProvider, free_port, oidc_hub_config, oidc_provider  # noqa: F401 (fixture)

PASSWORD = "s3cret-pass-12"
ROLES = {"beratung": ["advisor"], "teamleitung": ["advisor", "lead"]}


@pytest.fixture
def provider(oidc_provider):
    return oidc_provider


@pytest.fixture
async def hub(tmp_path, provider):
    """A hub whose clock is the real time (ID tokens carry real times)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = HubConfig.model_validate(oidc_hub_config(tmp_path / "hub.db", provider, port))
    parts = HubParts.open(config, clock=FakeClock(datetime.now(timezone.utc)))
    parts.users.add_user("anna", PASSWORD)
    server = TestServer(make_app(parts), host="127.0.0.1", port=port)
    await server.start_server()
    yield url, parts
    await server.close()


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def set_user(provider: OidcProvider, sub: str, **claims) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{provider.url}/users/{sub}", json=claims) as r:
            assert r.status == 204, await r.text()


async def tamper(provider: OidcProvider, **claims) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{provider.url}/test/tamper", json=claims) as r:
            assert r.status == 204


async def to_provider(b: aiohttp.ClientSession, hub_url: str) -> str:
    """Start a sign-in at the hub; the provider's authorization URL it sends the browser to."""
    async with b.get(f"{hub_url}/sso/oidc/start", allow_redirects=False) as r:
        assert r.status == 303, await r.text()
        return r.headers["Location"]


async def approve(authorize_url: str, sub: str) -> str:
    """The person signs in at the provider as ``sub``; the hub callback URL it redirects to."""
    async with aiohttp.ClientSession() as provider_side:
        async with provider_side.post(authorize_url, data={"sub": sub}, allow_redirects=False) as r:
            assert r.status == 302, await r.text()
            return r.headers["Location"]


async def come_back(b: aiohttp.ClientSession, callback_url: str) -> str:
    """Follow the provider's redirect back to the hub; where the hub sends the browser then."""
    async with b.get(callback_url, allow_redirects=False) as r:
        assert r.status == 303, await r.text()  # never a 500, never a stack trace
        return r.headers["Location"]


async def sign_in(b: aiohttp.ClientSession, hub_url: str, sub: str) -> str:
    return await come_back(b, await approve(await to_provider(b, hub_url), sub))


async def me(b: aiohttp.ClientSession, hub_url: str) -> int:
    async with b.get(f"{hub_url}/api/me") as r:
        return r.status


async def refused(b: aiohttp.ClientSession, hub_url: str, landed: str, reason: str) -> None:
    """The browser ``landed`` on the login page told ``reason``, and has no session."""
    assert landed == f"/?sso_error={reason}"
    assert await me(b, hub_url) == 401


async def test_the_login_page_offers_the_office_sso(hub):
    url, _ = hub
    async with browser() as b, b.get(f"{url}/api/login/options") as r:
        assert await r.json() == {"oidc": {"name": "Office-SSO"}, "ldap": False}


async def test_a_mapped_group_signs_in_with_a_session_like_a_local_login(hub, provider):
    url, parts = hub
    await set_user(provider, "sub-lena", preferred_username="lena", groups=["teamleitung", "kantine"])
    async with browser() as b:
        authorize = await to_provider(b, url)
        query = parse_qs(urlsplit(authorize).query)
        assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
        assert query["state"] and query["nonce"] and query["client_id"] == ["videokiosk-hub"]
        assert await come_back(b, await approve(authorize, "sub-lena")) == "/"
        async with b.get(f"{url}/api/me") as r:
            assert r.status == 200 and (await r.json())["username"] == "lena"
        async with b.get(f"{url}/api/stats") as r:  # the lead role came from the group
            assert r.status == 200
    assert has_role(parts.db, "lena", LEAD)
    # Nobody signs in locally as an SSO account: there is no password to guess.
    async with browser() as b, b.post(f"{url}/api/login", json={"username": "lena", "password": "!sso"}) as r:
        assert r.status == 401


async def test_a_tampered_state_gives_no_session(hub, provider):
    url, _ = hub
    await set_user(provider, "sub-lena", preferred_username="lena", groups=["beratung"])
    async with browser() as b:
        callback = await approve(await to_provider(b, url), "sub-lena")
        state = parse_qs(urlsplit(callback).query)["state"][0]
        forged = callback.replace(state, state[:-2] + ("AA" if not state.endswith("AA") else "BB"))
        await refused(b, url, await come_back(b, forged), "state")


async def test_a_callback_in_another_browser_gives_no_session(hub, provider):
    """Login CSRF: an attacker's own callback URL, sent to a victim, does not sign the victim in."""
    url, _ = hub
    await set_user(provider, "sub-mallory", preferred_username="mallory", groups=["beratung"])
    async with browser() as attacker, browser() as victim:
        callback = await approve(await to_provider(attacker, url), "sub-mallory")
        await refused(victim, url, await come_back(victim, callback), "state")


async def test_a_sign_in_left_at_the_provider_too_long_gives_no_session(hub, provider):
    url, parts = hub
    await set_user(provider, "sub-lena", preferred_username="lena", groups=["beratung"])
    async with browser() as b:
        callback = await approve(await to_provider(b, url), "sub-lena")
        parts.clock.advance(timedelta(seconds=parts.config.sso.oidc.pending_s + 1))
        await refused(b, url, await come_back(b, callback), "state")


async def test_a_replayed_callback_gives_no_second_session(hub, provider):
    url, _ = hub
    await set_user(provider, "sub-lena", preferred_username="lena", groups=["beratung"])
    async with browser() as b, browser() as thief:
        callback = await approve(await to_provider(b, url), "sub-lena")
        # Someone who copied the URL and the browser's pre-login cookie too.
        prelogin = b.cookie_jar.filter_cookies(URL(f"{url}/sso/oidc/callback"))["vk_sso"].value
        thief.cookie_jar.update_cookies({"vk_sso": prelogin}, URL(f"{url}/sso/oidc/"))
        assert await come_back(b, callback) == "/"
        await refused(thief, url, await come_back(thief, callback), "state")


async def test_without_a_mapped_group_nobody_gets_in(hub, provider):
    url, _ = hub
    await set_user(provider, "sub-kai", preferred_username="kai", groups=["kantine"])
    await set_user(provider, "sub-ute", preferred_username="ute")  # no groups claim at all
    for sub in ("sub-kai", "sub-ute"):
        async with browser() as b:
            await refused(b, url, await sign_in(b, url, sub), "no_role")


async def test_a_group_taken_away_refuses_the_next_sign_in_and_ends_the_session(hub, provider):
    url, parts = hub
    await set_user(provider, "sub-lena", preferred_username="lena", groups=["teamleitung"])
    async with browser() as first:
        assert await sign_in(first, url, "sub-lena") == "/"
        await set_user(provider, "sub-lena", preferred_username="lena", groups=["kantine"])
        async with browser() as second:
            assert await sign_in(second, url, "sub-lena") == "/?sso_error=no_role"
        assert await me(first, url) == 401  # the open session ended with the refused sign-in
    await set_user(provider, "sub-lena", preferred_username="lena", groups=["beratung"])
    async with browser() as third:
        assert await sign_in(third, url, "sub-lena") == "/"
        assert not has_role(parts.db, "lena", LEAD)  # lead went with the group
        parts.users.remove_user("lena")  # how an office ends access at once: the session goes
        assert await me(third, url) == 401


# Each makes the provider sign an ID token the hub must refuse (the hub allows 60 s of clock difference).
FORGED = {
    "wrong-issuer": lambda now: {"iss": "https://login.attacker.example"},
    "wrong-audience": lambda now: {"aud": ["another-app"]},
    "wrong-nonce": lambda now: {"nonce": "the-nonce-of-another-sign-in"},
    "expired": lambda now: {"exp": int((now - timedelta(minutes=2)).timestamp())},
}


@pytest.mark.parametrize("forged", FORGED)
async def test_an_id_token_for_someone_else_or_expired_is_refused(hub, provider, forged):
    url, parts = hub
    await set_user(provider, "sub-lena", preferred_username="lena", groups=["beratung"])
    await tamper(provider, **FORGED[forged](parts.clock.now()))
    try:
        async with browser() as b:
            await refused(b, url, await sign_in(b, url, "sub-lena"), "token")
    finally:
        await tamper(provider)


async def test_a_local_account_is_not_taken_over_by_a_directory_name(hub, provider):
    url, _ = hub
    await set_user(provider, "sub-other-anna", preferred_username="anna", groups=["teamleitung"])
    async with browser() as b:
        await refused(b, url, await sign_in(b, url, "sub-other-anna"), "conflict")
    async with browser() as b, b.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD}) as r:
        assert r.status == 200  # local accounts stay


async def test_the_person_saying_no_at_the_provider_ends_on_the_login_page(hub):
    url, _ = hub
    async with browser() as b:
        authorize = await to_provider(b, url)
        async with aiohttp.ClientSession() as provider_side:
            async with provider_side.post(authorize, data={"action": "deny"}, allow_redirects=False) as r:
                callback = r.headers["Location"]
        assert await come_back(b, callback) == "/?sso_error=denied"


async def test_an_unreachable_provider_is_explained_not_a_500(tmp_path):
    port = free_port()
    config = HubConfig.model_validate({
        "store": {"path": str(tmp_path / "hub.db")},
        "sso": {"oidc": {"issuer": f"http://127.0.0.1:{free_port()}", "client_id": "hub", "timeout_s": 5,
                         "redirect_url": f"http://127.0.0.1:{port}/sso/oidc/callback", "roles": ROLES}}})
    server = TestServer(make_app(HubParts.open(config)), host="127.0.0.1", port=port)
    await server.start_server()
    try:
        async with browser() as b, b.get(f"http://127.0.0.1:{port}/sso/oidc/start", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/?sso_error=unavailable"
    finally:
        await server.close()


@pytest.mark.parametrize("oidc, says", [
    ({"issuer": "http://login.example.org"}, "plain http"),
    ({"roles": {}}, "sso.oidc.roles"),
    ({"roles": {"beratung": ["admin"]}}, "sso.oidc.roles.beratung.0"),
    ({"redirect_url": "https://hub.example.org/elsewhere"}, "sso.oidc.redirect_url"),
])
def test_a_broken_oidc_config_names_the_key(oidc, says):
    good = {"issuer": "https://login.example.org", "client_id": "hub", "roles": ROLES,
            "redirect_url": "https://hub.example.org/sso/oidc/callback"}
    with pytest.raises(HubConfigError, match=says.replace(".", r"\.")):
        parse_hub_config({"sso": {"oidc": {**good, **oidc}}}, "hub.toml")


def test_the_documented_examples_are_valid():
    """docs/hub-sso.md's example sections load as they are."""
    import re
    import tomllib
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "hub-sso.md").read_text("utf-8")
    examples = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(examples) == 2
    for example in examples:
        config = parse_hub_config(tomllib.loads(example), "docs/hub-sso.md")
        assert config.sso.oidc or config.sso.ldap
