"""Single sign-on on the web: what the login page offers, and the OIDC round trip.

- ``GET /api/login/options``: ``{"oidc": {"name": ...} | null, "ldap": bool}``; the console shows
  "Mit <name> anmelden" when OIDC is configured.
- ``GET /sso/oidc/start``: a pre-login cookie for this browser, then off to the provider.
- ``GET /sso/oidc/callback``: back from the provider; a session like a local log-in's and on to
  the console, or back to the login page with ``?sso_error=<reason>``, which it explains.

The SSO libraries are imported here only for what hub.toml configures (``[sso.oidc]``,
``[sso.ldap]``): a hub without them never needs the ``sso`` extra.
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web

from videokiosk.clock import Clock

from .storage import Database
from .auth import start_session
from .errors import SsoError
from .login_guard import Directory
from .sso_accounts import SsoAccounts
from .sso_config import SsoSection

log = logging.getLogger(__name__)
PRELOGIN_COOKIE = "vk_sso"
CALLBACK_PATH = "/sso/oidc/callback"


def ldap_directory(config: SsoSection, db: Database, clock: Clock) -> Directory | None:
    """The office's LDAP directory for the login guard, if ``[sso.ldap]`` is configured."""
    if config.ldap is None:
        return None
    from .sso_ldap import LdapDirectory  # ldap3: the sso extra

    return LdapDirectory(config.ldap, SsoAccounts(db, clock))


def add_sso_routes(app: web.Application, config: SsoSection, db: Database, clock: Clock) -> None:
    offered = {"oidc": {"name": config.oidc.display_name} if config.oidc else None, "ldap": config.ldap is not None}

    async def options(request: web.Request) -> web.Response:
        return web.json_response(offered)

    app.router.add_get("/api/login/options", options)
    if config.oidc is None:
        return
    from .sso_oidc import OidcLogin  # authlib: the sso extra

    oidc = OidcLogin(config.oidc, db, clock, SsoAccounts(db, clock))

    def back_to_login(reason: str) -> web.Response:
        response = web.Response(status=303, headers={"Location": f"/?sso_error={reason}"})
        response.del_cookie(PRELOGIN_COOKIE, path="/sso/oidc/")
        return response

    async def start(request: web.Request) -> web.Response:
        browser = secrets.token_urlsafe(32)
        try:
            url = await oidc.start(browser)
        except SsoError as err:
            log.warning("sso: could not start an OIDC sign-in: %s", err)
            return back_to_login(err.reason)
        response = web.Response(status=303, headers={"Location": url})
        # Lax, not Strict: it must come back with the provider's redirect (a top-level GET).
        response.set_cookie(PRELOGIN_COOKIE, browser, httponly=True, samesite="Lax", secure=request.secure,
                            path="/sso/oidc/", max_age=int(config.oidc.pending_s))
        return response

    async def callback(request: web.Request) -> web.Response:
        try:
            username = await oidc.finish(request.query, request.cookies.get(PRELOGIN_COOKIE))
        except SsoError as err:
            log.info("sso: sign-in refused: %s", err)  # the message names no person
            return back_to_login(err.reason)
        response = web.Response(status=303, headers={"Location": "/"})
        response.del_cookie(PRELOGIN_COOKIE, path="/sso/oidc/")
        return start_session(request, username, response)

    async def close(app: web.Application):
        yield
        await oidc.close()

    app.router.add_get("/sso/oidc/start", start)
    app.router.add_get(CALLBACK_PATH, callback)
    app.cleanup_ctx.append(close)
