"""Every page of the identity server works in Chromium under its Content-Security-Policy: a person's
login (with the certificate section, the language switch, consent, cancel), the form_post response,
the account page, error pages, logout, a CAS login, and the admin console. Any CSP violation Chromium
reports - a blocked inline script or style, a form whose answer redirects to an origin form-action
does not allow - fails the test (the ``csp_page`` fixture)."""
from __future__ import annotations

import html
import secrets

import pytest

from live_server import ServerThread

pytestmark = pytest.mark.interop

ADMIN_ID = "110101199003074477"
ADMIN_PASSWORD = "admin pass phrase 2026"


def relying_party(idp, server: ServerThread, client):
    """A department site on Authlib's Flask client; /login?mode=form_post asks for the form post
    response mode, and its callback accepts the code by GET or POST."""
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.flask_client import OAuth
    from flask import Flask, redirect, request, session

    app = Flask(f"rp_{server.port}")
    app.secret_key = secrets.token_urlsafe(32)
    oauth = OAuth(app)
    oauth.register("idp", client_id=client.client_id, client_secret=client.client_secret,
                   server_metadata_url=idp.url("/.well-known/openid-configuration"),
                   client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"})

    @app.get("/")
    def index():
        user = session.get("user")
        if user:
            return f"<p>已登录：<span id='name'>{html.escape(user['name'])}</span> <span id='via'>{user['via']}</span></p>"
        return f"<p id='anonymous'>未登录</p><p id='error'>{html.escape(session.pop('error', ''))}</p>"

    @app.get("/login")
    def login():
        extra = {k: v for k, v in (("response_mode", request.args.get("mode")),
                                   ("prompt", request.args.get("prompt"))) if v}
        return oauth.idp.authorize_redirect(server.base_url + "/callback", **extra)

    @app.route("/callback", methods=["GET", "POST"])
    def callback():
        try:
            token = oauth.idp.authorize_access_token()
        except OAuthError as error:
            session.pop("user", None)
            session["error"] = error.error
            return redirect("/")
        session["user"] = {"name": token["userinfo"].get("name", ""), "via": request.method}
        return redirect("/")

    return app


@pytest.fixture
def rp_site(live_idp):
    with ServerThread() as server:
        client = live_idp.register_client(name="第三方网站", redirect_uris=[server.base_url + "/callback"],
                                          scopes=["openid", "profile"], first_party=False)
        server.app = relying_party(live_idp, server, client)
        yield server


def test_the_guard_sees_a_violation(csp_page, live_idp):
    """The watch itself: an inline script put into the login page is blocked and reported."""
    page = csp_page
    page.goto(live_idp.url("/login"))
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                             document.body.appendChild(s); }""")
    page.evaluate("0")
    assert page.evaluate("window.ran") is None
    assert any("script-src" in message for message in page.csp.seen), page.csp.seen
    page.csp.seen.clear()


def test_login_consent_form_post_account_errors_and_logout(csp_page, live_idp, rp_site):
    page, idp, person = csp_page, live_idp, live_idp.person

    # Login page of a transaction: the language switch, then a certificate attempt that is refused.
    page.goto(rp_site.base_url + "/login")
    page.wait_for_url(idp.url("/login") + "*")
    page.click("nav.lang a[href*='lang=en']")
    page.click("#tab-person-usbkey")
    page.wait_for_selector("#person-usbkey-form", state="visible")
    page.fill("#person-signed", "not what a signer prints")
    page.click("#person-usbkey-form button[type=submit]")
    page.wait_for_selector("p.error")
    page.click("#tab-person-password")
    assert page.locator("#username").is_visible()

    # Password login -> consent -> allow: both forms' answers redirect to the relying party.
    page.fill("#username", person.id_number)
    page.fill("#password", person.password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(idp.url("/consent") + "*")
    page.click("button[name=decision][value=allow]")
    page.wait_for_url(rp_site.base_url + "/")
    assert page.inner_text("#name") == person.name and page.inner_text("#via") == "GET"

    # The same site asking for form_post: the self-submitting page under the policy.
    form_posts = []
    page.on("request", lambda r: form_posts.append(r.method)
            if r.url == rp_site.base_url + "/callback" else None)
    page.goto(rp_site.base_url + "/login?mode=form_post")
    page.wait_for_url(rp_site.base_url + "/")
    assert page.inner_text("#via") == "POST" and form_posts == ["POST"]

    # Cancel at a forced login: access_denied goes back to the site.
    page.goto(rp_site.base_url + "/login?prompt=login")
    page.wait_for_url(idp.url("/login") + "*")
    page.click("form[action$='/login/cancel'] button[type=submit]")
    page.wait_for_url(rp_site.base_url + "/")
    assert page.inner_text("#error") == "access_denied"

    # Account page, error pages, RP-initiated logout with its confirmation page.
    page.goto(idp.url("/account"))
    assert person.name in page.inner_text("h1")
    page.goto(idp.url("/authorize?client_id=nobody&response_type=code"))
    assert page.locator("h1").is_visible()
    page.goto(idp.url("/no-such-page"))
    page.goto(idp.url("/logout"))
    page.click("form[action$='/logout/confirm'] button[type=submit]")
    page.wait_for_url(idp.url("/logout/confirm"))
    page.goto(idp.url("/account"))
    page.wait_for_url(idp.url("/login") + "*")
    page.csp.check(page)


def test_account_logout_of_all_sessions(csp_page, live_idp):
    page, person = csp_page, live_idp.person
    page.goto(live_idp.url("/account"))
    page.wait_for_url(live_idp.url("/login") + "*")
    page.fill("#username", person.id_number)
    page.fill("#password", person.password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(live_idp.url("/account"))
    page.click("#logout-all")
    page.wait_for_url(live_idp.url("/account/logout-all"))
    page.csp.check(page)


def test_cas_login_continues_to_the_service(csp_page, live_idp):
    from flask import Flask, request

    site = Flask("cas_site")

    @site.get("/")
    def index():
        return f"<p id='ticket'>{html.escape(request.args.get('ticket', ''))}</p>"

    from idp.protocols.cas.services import register_service
    with ServerThread(site) as server:
        with live_idp.app.app_context():
            register_service(name="CAS 网站", service_url=server.base_url + "/", match="prefix")
        page = csp_page
        page.goto(live_idp.url("/cas/login?service=") + server.base_url + "/")
        page.wait_for_url(live_idp.url("/login") + "*")
        page.fill("#username", live_idp.person.id_number)
        page.fill("#password", live_idp.person.password)
        page.click("form[action$='/login'] button[type=submit]")
        page.wait_for_url(server.base_url + "/?ticket=*")
        assert page.inner_text("#ticket").startswith("ST-")
        page.csp.check(page)


def test_admin_console(csp_page, live_idp):
    live_idp.seed_person(id_number=ADMIN_ID, name="管理员", password=ADMIN_PASSWORD, is_admin=True)
    page, idp = csp_page, live_idp
    page.goto(idp.url("/admin/"))
    page.wait_for_url(lambda url: url.startswith(idp.url("/login?next=")))
    page.fill("#username", ADMIN_ID)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(idp.url("/admin/"))
    page.click("#new-client")
    page.fill("#name", "人社局门户")
    page.fill("#redirect_uris", "https://hrss.example.gov.cn/callback")
    page.check("input[name=scopes][value=openid]")
    page.click("#save")
    page.wait_for_selector("#client-secret")
    page.click("#to-client")
    page.click("#edit")
    page.click("#save")
    page.wait_for_selector("#disable")
    page.click("#disable")
    page.wait_for_selector("#enable")
    page.goto(idp.url("/admin/keys"))
    page.click("#rotate")
    page.wait_for_selector(".key-pending, .key-previous")
    page.goto(idp.url("/admin/certificates"))
    page.wait_for_selector("#ca-certificates")
    page.goto(idp.url("/admin/cas/"))
    page.click("#new-cas-service")
    page.fill("#name", "不动产登记")
    page.fill("#service_url", "https://land.example.gov.cn/")
    page.click("#save")
    page.wait_for_selector("#service-url")
    page.csp.check(page)
