"""A real browser (Debian's Chromium, headless) signs in at a relying party through the login page,
then opens a second relying party and is signed in there without typing (single sign-on).

Two kinds of relying party are driven: the demo department portal (adapters/demo_portal, on idp-rp)
and a small site built on Authlib's Flask OAuth client, an implementation written outside this
project. Every server runs on an ephemeral loopback port and is stopped by the test.
"""
from __future__ import annotations

import html
import secrets
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from live_server import ServerThread

from .browser import TIMEOUT_MS

pytestmark = pytest.mark.interop

DEMO_PORTAL_DIR = Path(__file__).resolve().parents[2] / "adapters" / "demo_portal"



# -- relying parties -----------------------------------------------------------------------------

def authlib_site(idp, server: ServerThread, client, title: str, scope: str = "openid profile"):
    """A department site using Authlib's Flask client (code flow, PKCE, nonce, ID token checks)."""
    from authlib.integrations.flask_client import OAuth
    from flask import Flask, redirect, session, url_for

    app = Flask(f"authlib_rp_{server.port}")
    app.secret_key = secrets.token_urlsafe(32)
    app.config["SESSION_COOKIE_NAME"] = f"authlib_rp_{server.port}"  # both sites share the host name
    oauth = OAuth(app)
    oauth.register("idp", client_id=client.client_id, client_secret=client.client_secret,
                   server_metadata_url=idp.url("/.well-known/openid-configuration"),
                   client_kwargs={"scope": scope, "code_challenge_method": "S256"})

    @app.get("/")
    def index():
        user = session.get("user")
        if user:
            return (f"<h1>{html.escape(title)}</h1><p id='who'>已登录：<span id='name'>"
                    f"{html.escape(user['name'])}</span></p><p id='sub'>{html.escape(user['sub'])}</p>"
                    f"<p id='acr'>{html.escape(user.get('acr') or '')}</p>"
                    f"<p id='entity'>{html.escape(user.get('entity') or '')}</p>")
        return f"<h1>{html.escape(title)}</h1><p>您尚未登录</p><a id='login' href='{url_for('login')}'>登录</a>"

    @app.get("/login")
    def login():
        from flask import request  # ?acr=... : the site demands an assurance level (acr_values)
        extra = {"acr_values": request.args["acr"]} if request.args.get("acr") else {}
        return oauth.idp.authorize_redirect(server.base_url + "/callback", **extra)

    @app.get("/callback")
    def callback():
        token = oauth.idp.authorize_access_token()
        claims = token["userinfo"]  # the validated ID token claims
        entity = claims.get("entity")  # the enterprise the person acts for, when the scope asked for it
        session["user"] = {"sub": claims["sub"], "name": claims.get("name", ""), "acr": claims.get("acr"),
                           "entity": f"{entity['uscc']} {entity['role']}" if entity else None}
        return redirect("/")

    return app



@contextmanager
def authlib_portal(idp, title: str, scopes: tuple[str, ...] = ("openid", "profile")):
    """An Authlib site registered at ``idp`` as a client with ``scopes``, started on a loopback port."""
    server = ServerThread()
    client = idp.register_client(name=title, redirect_uris=[server.base_url + "/callback"], scopes=list(scopes))
    server.app = authlib_site(idp, server, client, title, scope=" ".join(scopes))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Site:
    def __init__(self, server: ServerThread, start_path: str, signed_in_marker: str, name_selector: str,
                 link_to_other: str | None = None):
        self.server, self.start_path = server, start_path
        self.signed_in_marker, self.name_selector = signed_in_marker, name_selector
        self.link_to_other = link_to_other  # a selector of the link a person would click to the other site

    @property
    def start_url(self) -> str:
        return self.server.base_url + self.start_path


def make_authlib_sites(idp, servers):
    sites = []
    for index, server in enumerate(servers):
        title = f"部门网站 {index + 1}"
        client = idp.register_client(name=title, redirect_uris=[server.base_url + "/callback"],
                                     scopes=["openid", "profile"])
        server.app = authlib_site(idp, server, client, title)
        sites.append(Site(server, "/login", "已登录", "#name"))
    return sites


def make_demo_portals(idp, servers):
    if str(DEMO_PORTAL_DIR) not in sys.path:
        sys.path.insert(0, str(DEMO_PORTAL_DIR))
    try:
        from demo_portal import create_app
    except ImportError as exc:
        pytest.skip(f"the demo portal is not importable: {exc}")
    sites = []
    for index, server in enumerate(servers):
        other = servers[1 - index]
        client = idp.register_client(name=f"示范门户 {index + 1}", redirect_uris=[server.base_url + "/oidc/callback"],
                                     post_logout_redirect_uris=[server.base_url + "/"],
                                     scopes=["openid", "profile"])
        server.app = create_app(title=f"示范门户 {index + 1}", port=server.port, base_url=server.base_url,
                                issuer=idp.issuer, client_id=client.client_id, client_secret=client.client_secret,
                                other_portal_url=other.base_url + "/profile", secret_key=secrets.token_urlsafe(32))
        sites.append(Site(server, "/profile", "个人信息", "#name",
                          link_to_other=f"a[href='{other.base_url}/profile']"))
    return sites


@pytest.fixture(params=["authlib", "demo_portal"])
def sites(request, live_idp):
    servers = [ServerThread(), ServerThread()]
    try:
        factory = make_authlib_sites if request.param == "authlib" else make_demo_portals
        made = factory(live_idp, servers)
        for server in servers:
            server.start()
        yield made
    finally:
        for server in servers:
            server.stop()


# -- the test ------------------------------------------------------------------------------------

def test_login_in_browser_then_single_sign_on(chromium, live_idp, sites, tmp_path, request):
    first, second = sites
    kind = request.node.callspec.params["sites"]
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        login_pages = []
        page.on("request", lambda req: login_pages.append(req.url)
                if req.url.startswith(live_idp.url("/login")) else None)

        page.goto(first.start_url)
        page.wait_for_url(live_idp.url("/login") + "*")
        assert page.locator("#username").is_visible() and page.locator("#password").is_visible()
        page.screenshot(path=str(tmp_path / f"{kind}-1-login.png"), full_page=True)
        page.fill("#username", live_idp.person.id_number)
        page.fill("#password", live_idp.person.password)
        page.click("form[action$='/login'] button[type=submit]")
        page.wait_for_url(first.server.base_url + "/**")
        page.screenshot(path=str(tmp_path / f"{kind}-2-first-site.png"), full_page=True)
        text = page.inner_text("body")
        assert first.signed_in_marker in text, text
        assert page.inner_text(first.name_selector).strip() == live_idp.person.name
        typed_logins = len([u for u in login_pages if u.split("?")[0] == live_idp.url("/login")])
        assert typed_logins >= 1

        if first.link_to_other:
            page.click(first.link_to_other)
        else:
            page.goto(second.start_url)
        # Either the second site (single sign-on) or the login page again (none): fail fast on the latter.
        page.wait_for_url(lambda url: url.startswith(second.server.base_url + "/")
                          or url.startswith(live_idp.url("/login")))
        page.wait_for_load_state("load")
        assert page.url.startswith(second.server.base_url + "/"), \
            f"the second site sent the browser to {page.url}: no single sign-on"
        page.screenshot(path=str(tmp_path / f"{kind}-3-second-site.png"), full_page=True)
        text = page.inner_text("body")
        assert second.signed_in_marker in text, text
        assert page.inner_text(second.name_selector).strip() == live_idp.person.name
        after = len([u for u in login_pages if u.split("?")[0] == live_idp.url("/login")])
        assert after == typed_logins, "the second site needed the login page again: no single sign-on"
        for name in ("1-login", "2-first-site", "3-second-site"):
            assert (tmp_path / f"{kind}-{name}.png").stat().st_size > 1000
    finally:
        context.close()
