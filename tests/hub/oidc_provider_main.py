"""The OpenID provider the SSO tests sign in at: ``oidc-provider-mock`` (a real Authlib-based
provider in its own process), with two things it lacks:

- it checks PKCE: a code is redeemed only with the verifier of the S256 challenge it was issued
  for (like Keycloak or Entra ID with PKCE required);
- ``PUT /test/tamper`` with claims (``{"iss": ...}``, ``{"aud": ...}``, ``{"nonce": ...}``) makes the next ID tokens
  carry them instead of the true ones, signed with the provider's real key: a provider that lies,
  for the tests of what the hub refuses.

Run: ``python oidc_provider_main.py`` (prints uvicorn's "running on http://127.0.0.1:PORT").
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from base64 import urlsafe_b64encode
from urllib.parse import parse_qs, urlsplit

import uvicorn
from oidc_provider_mock import _app as provider

TAMPER: dict = {}
CHALLENGES: dict[str, str] = {}  # code -> its S256 challenge


class TamperableOpenIDCode(provider.OpenIDCode):
    def get_authorization_code_claims(self, authorization_code):
        # Applied last (after iss, aud, exp and the request's nonce): the tampered claims win.
        return {**super().get_authorization_code_claims(authorization_code), **TAMPER}


provider.OpenIDCode = TamperableOpenIDCode  # read when the app is built, below


def s256(verifier: str) -> str:
    return urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def with_pkce_and_tamper(wsgi_app):
    def app(environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/test/tamper" and method == "PUT":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            TAMPER.clear()
            TAMPER.update(json.loads(body or b"{}"))
            start_response("204 No Content", [])
            return [b""]
        if path == "/oauth2/token" and method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            challenge = CHALLENGES.get(form.get("code", ""))
            if challenge is None or s256(form.get("code_verifier", "")) != challenge:
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [b'{"error": "invalid_grant", "error_description": "PKCE verification failed"}']
        if path == "/oauth2/authorize" and method == "POST":
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}

            def remember_challenge(status, headers, exc_info=None):
                for name, value in headers:
                    code = parse_qs(urlsplit(value).query).get("code", [None])[0] if name.lower() == "location" else None
                    if code and query.get("code_challenge_method") == "S256" and query.get("code_challenge"):
                        CHALLENGES[code] = query["code_challenge"]
                return start_response(status, headers, exc_info)

            return wsgi_app(environ, remember_challenge)
        return wsgi_app(environ, start_response)

    return app


if __name__ == "__main__":
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on loopback, for the test only
    logging.basicConfig(level=logging.INFO)
    flask_app = provider.app(require_nonce=True)
    flask_app.wsgi_app = with_pkce_and_tamper(flask_app.wsgi_app)
    uvicorn.run(flask_app, interface="wsgi", host="127.0.0.1", port=0, log_config=None)
