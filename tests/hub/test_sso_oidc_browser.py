"""The login page's "Mit Office-SSO anmelden" in the real Chromium: to the provider and back,
signed in; and a refused sign-in explained on the login page."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.config import HubConfig
from videokiosk.clock import SystemClock

from .sso_servers import free_port, oidc_hub_config, oidc_provider  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def sso_console(loop_thread, tmp_path, oidc_provider):
    port = free_port()
    parts = HubParts.open(HubConfig.model_validate(oidc_hub_config(tmp_path / "hub.db", oidc_provider, port)),
                          clock=SystemClock())

    async def start() -> web.AppRunner:
        runner = web.AppRunner(make_app(parts), shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    runner = loop_thread.run(start())
    yield f"http://127.0.0.1:{port}", oidc_provider
    loop_thread.run(runner.cleanup())


def set_user(loop_thread, provider, sub: str, **claims) -> None:
    async def put() -> None:
        async with aiohttp.ClientSession() as http, http.put(f"{provider.url}/users/{sub}", json=claims) as r:
            assert r.status == 204

    loop_thread.run(put())


def sign_in_at_provider(page, url: str, sub: str) -> None:
    page.goto(url)
    page.get_by_role("link", name="Mit Office-SSO anmelden").click()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_office_sso_signs_in_to_the_console(sso_console, advisor_context, loop_thread):
    url, provider = sso_console
    set_user(loop_thread, provider, "sub-lena", preferred_username="lena", groups=["beratung"])
    page = advisor_context.new_page()
    sign_in_at_provider(page, url, "sub-lena")
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    expect(page.locator("#username")).to_have_text("lena")


def test_a_refused_sso_sign_in_is_explained_on_the_login_page(sso_console, advisor_context, loop_thread):
    url, provider = sso_console
    set_user(loop_thread, provider, "sub-kai", preferred_username="kai", groups=["kantine"])
    page = advisor_context.new_page()
    sign_in_at_provider(page, url, "sub-kai")
    expect(page.get_by_role("alert")).to_contain_text("nicht freigeschaltet")
    expect(page.get_by_role("button", name="Abmelden")).to_be_hidden()
    assert "sso_error" not in page.url  # a reload does not repeat the message
