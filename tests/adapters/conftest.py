"""Fixtures: a fake OpenID provider on an ephemeral port, and a small Flask site using idp_rp.

The gateway and demo portal live in their own directories; they are importable here without being
installed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
for sub in ("gateway", "demo_portal"):
    if str(ADAPTERS / sub) not in sys.path:
        sys.path.insert(0, str(ADAPTERS / sub))

from flask import Flask  # noqa: E402

from idp_rp.flask import IdpRP  # noqa: E402

from .fake_op import FakeOP  # noqa: E402

SITE = "http://localhost"
CLIENT_ID = "dept-portal"


@pytest.fixture
def op():
    provider = FakeOP()
    provider.register(CLIENT_ID, [SITE + "/oidc/callback"])
    yield provider
    provider.stop()


def make_site(op: FakeOP, **settings) -> tuple[Flask, IdpRP]:
    app = Flask("site")
    app.secret_key = "test-secret"
    options = {"issuer": op.issuer, "client_id": CLIENT_ID, "client_secret": "s3cret", **settings}
    ext = IdpRP(app, **options)

    @app.get("/")
    def index():
        user = ext.current_user
        return f"hello {user.name}" if user else "anonymous"

    @app.get("/profile")
    @ext.login_required
    def profile():
        user = ext.current_user
        return {"sub": user.sub, "name": user.name, "acr": user.acr, "amr": user.amr, "sid": user.sid}

    @app.get("/strong")
    @ext.require_acr("urn:idp:loa:3")
    def strong():
        return {"acr": ext.current_user.acr}

    return app, ext


@pytest.fixture
def site(op):
    app, ext = make_site(op)
    return app, ext


def follow_to_provider(client, path: str):
    """GET `path` on the site; expect a redirect to the provider; return (authorize URL, params)."""
    resp = client.get(path)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = resp.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def provider_redirect(authorize_url: str) -> str:
    """Let the fake provider approve; return the site-relative callback path with its query."""
    resp = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert resp.status_code == 302, resp.text
    parts = urlsplit(resp.headers["Location"])
    return parts.path + "?" + parts.query


def login(client, path: str = "/profile"):
    """Full browser login through the fake provider; return the callback response."""
    url, _ = follow_to_provider(client, path)
    return client.get(provider_redirect(url))
