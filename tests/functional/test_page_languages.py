"""Every page and error message a person can see is in the page's language: no English in a Chinese
page, no Chinese in an English one.

Two checks:

* the templates' literal text (outside ``{{ _(…) }}``) holds no English words: such text would show in
  both languages;
* a walk renders every page template and every error a person can reach (login refusals, certificate
  refusals, authorization and logout errors, 404/405/500, CSRF, the admin console) in zh and in en
  and reads the text a person sees (text, ``title``, ``aria-label``, ``placeholder``, ``alt``). Code
  spans, ``<pre>``, small print (protocol error codes), elements marked with another ``lang`` or
  ``translate="no"`` and the test's own data (names, addresses) are exempt; so are the technical
  tokens in ``TECHNICAL``. The walk fails when a page template is never rendered, so a new page has
  to be added here.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import template_rendered
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin_support import ADMIN_ID, ADMIN_PASSWORD, create_admin
from helpers import CITIZEN_ID, CITIZEN_PASSWORD, csrf_token, query_of, register

TEMPLATES = Path(__file__).resolve().parents[2] / "idp" / "web" / "templates"
LOCALES = ("zh", "en")

# Words that stay as they are in a Chinese page: product, protocol and standard names, abbreviations.
TECHNICAL = {"USB", "Key", "PIN", "ID", "IP", "CA", "CRL", "CRLs", "CAS", "URL", "URI", "URIs", "HTTP", "HTTPS",
             "OpenID", "Connect", "OIDC", "OAuth", "JWKS", "JSON", "PKCE", "SM2", "RSA", "ECDSA", "kid",
             "client_id", "client_secret", "sub", "private_key_jwt", "client_secret_basic",
             "client_secret_post", "none", "openid", "profile", "email", "phone", "idcard", "entity",
             "admin", "scope", "pairwise", "public", "English", "SAML", "XML", "DTD", "NameID"}
SKIP_TAGS = {"script", "style", "code", "pre", "small", "kbd", "samp", "textarea"}  # textarea: typed data
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
             "wbr"}
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’-]*")
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


class _VisibleText(HTMLParser):
    """The text a person reads on a page, without the exempt parts."""

    def __init__(self, page_lang: str):
        super().__init__(convert_charrefs=True)
        self.page_lang, self.stack, self.parts = page_lang, [], []

    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = attrs.get("lang")
        skip = (tag in SKIP_TAGS or attrs.get("translate") == "no" or attrs.get("aria-hidden") == "true"
                or (lang is not None and not lang.startswith(self.page_lang)))
        if not skip and not self._skipping():
            self.parts.extend(attrs[name] for name in SHOWN_ATTRIBUTES if attrs.get(name))
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in VOID_TAGS:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self.parts.append(data)


def visible_text(html: str, locale: str) -> str:
    parser = _VisibleText("zh" if locale == "zh" else "en")
    parser.feed(html)
    return "\n".join(parser.parts)


def wrong_language(text: str, locale: str, data: tuple[str, ...] = ()) -> list[str]:
    """The pieces of ``text`` that are not in ``locale``: English words in zh, Chinese in en."""
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    if locale == "zh":
        return [word for word in ENGLISH_WORD.findall(text)
                if word not in TECHNICAL and not re.search(r"[0-9_]", word) and len(word) > 1]
    return CHINESE.findall(text)


def test_the_checker_finds_english_in_chinese_and_chinese_in_english():
    page = ('<html lang="zh-CN"><title>登录</title><p>The client does not exist on this server.</p>'
            '<p class="error-code"><small>错误代码：<code>invalid_client</code></small></p>'
            '<a lang="en">English</a><input type="submit" value="Send"><span aria-label="Close">×</span></html>')
    found = wrong_language(visible_text(page, "zh"), "zh")
    assert found == ["The", "client", "does", "not", "exist", "on", "this", "server", "Send", "Close"]
    assert wrong_language(visible_text('<p>Log in</p><a lang="zh-CN">中文</a>', "en"), "en") == []
    assert wrong_language(visible_text("<p>Log in 张三</p>", "en"), "en") == ["张", "三"]
    assert wrong_language(visible_text("<p>Log in 张三</p>", "en"), "en", data=("张三",)) == []


# -- the templates' own text -----------------------------------------------------------------------

def _template_literal_text(source: str) -> str:
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r"\{%.*?%\}", " ", source, flags=re.S)
    return re.sub(r"\{\{.*?\}\}", " ", source, flags=re.S)


@pytest.mark.parametrize("path", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_have_no_untranslated_literal_text(path):
    literal = _template_literal_text((TEMPLATES / path).read_text(encoding="utf-8"))
    text = visible_text(literal, "zh")
    assert wrong_language(text, "zh") == [], f"{path}: wrap these words in _(…) and translate them"


# -- the walk --------------------------------------------------------------------------------------

class Walk:
    """One person's visit in one language, recording each page it sees."""

    def __init__(self, app, locale: str):
        self.app, self.locale = app, locale
        self.client = app.test_client()
        self.headers = {"Accept-Language": "zh-CN,zh;q=0.9" if locale == "zh" else "en-US,en;q=0.9"}
        self.pages: list[tuple[str, int, str]] = []

    def see(self, what: str, response, status: int | None = None):
        body = response.get_data(as_text=True)
        if status is not None:
            assert response.status_code == status, (what, response.status_code, body[:500])
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400:  # redirects: never shown
            self.pages.append((what, response.status_code, body))
        return response

    def get(self, what, path, status=200, **kwargs):
        return self.see(what, self.client.get(path, headers=self.headers, **kwargs), status)

    def post(self, what, path, status, data=None, **kwargs):
        return self.see(what, self.client.post(path, data=data, headers=self.headers, **kwargs), status)

    def form_token(self, path="/login"):
        return csrf_token(self.client.get(path, headers=self.headers).get_data(as_text=True))


@pytest.fixture
def walk_app(app):
    @app.get("/_test/boom")
    def boom():  # only in this test's app: the 500 page must be reachable
        raise RuntimeError("a bug")

    create_admin(app)
    from idp.identity.service import create_person
    with app.app_context():
        create_person(id_number=CITIZEN_ID, name="张三", password=CITIZEN_PASSWORD)
    return app


def _walk(app, locale: str) -> Walk:
    w = Walk(app, locale)
    first_party = register(app, None, name="门户甲", redirect_uri="http://localhost:9001/cb")
    third_party = register(app, None, name="门户乙", redirect_uri="http://localhost:9002/cb", first_party=False,
                           scopes=("openid", "profile", "phone"))
    two_uris = register(app, None, name="门户丙", redirect_uri="http://localhost:9003/cb")
    from idp.clients.models import Client
    from idp.extensions import db
    with app.app_context():
        row = db.session.scalar(db.select(Client).where(Client.client_id == two_uris.client_id))
        row.redirect_uris = ["http://localhost:9003/cb", "http://localhost:9004/cb"]  # no default to fall back on
        db.session.commit()

    # the login page, each tab, and its refusals
    w.get("login", "/login")
    w.get("login enterprise usb key", "/login?tab=enterprise&method=usbkey")
    w.get("login for a local page", "/login?next=/admin/&acr=urn:idp:loa:2")
    w.post("wrong password", "/login", 401, {"csrf_token": w.form_token(), "username": CITIZEN_ID,
                                             "password": "wrong"})
    w.post("no csrf token", "/login", 400, {"username": CITIZEN_ID, "password": "wrong"})
    w.get("expired login request", "/login?tx=expired", 400)
    w.get("expired resume", "/authorize/resume?tx=expired", 400)
    token = w.form_token("/login?tab=person&method=usbkey")
    page = w.client.get("/login?tab=person&method=usbkey", headers=w.headers).get_data(as_text=True)
    challenge_id = re.search(r'name="challenge_id" value="([^"]+)"', page).group(1)
    w.post("malformed signature", "/login/certificate/challenge", 400,
           {"csrf_token": csrf_token(page), "challenge_id": challenge_id, "signed": "nonsense", "tab": "person"})
    w.post("unknown challenge", "/login/certificate/challenge", 400,
           {"csrf_token": token, "challenge_id": "nope", "signed": '{"certificate": "x", "signature": "eA=="}'})
    w.get("no client certificate", "/login/certificate/tls?tab=enterprise", 401)
    w.get("challenge page", "/login/certificate/challenge")

    # authorization requests a portal got wrong
    good = {"response_type": "code", "client_id": first_party.client_id, "redirect_uri": "http://localhost:9001/cb",
            "scope": "openid", "state": "s", "code_challenge": "x" * 43, "code_challenge_method": "S256"}

    def authorize(what, status=400, **changes):
        params = {k: v for k, v in {**good, **changes}.items() if v is not None}
        from urllib.parse import urlencode
        return w.get(what, "/authorize?" + urlencode(params, doseq=True), status)

    authorize("unknown client", client_id="no-such-client")
    authorize("missing client_id", client_id=None)
    authorize("unregistered redirect_uri", redirect_uri="http://evil.example/cb")
    authorize("bad scope and bad redirect_uri", redirect_uri="http://evil.example/cb", scope="openid nonsense")
    authorize("missing redirect_uri", client_id=two_uris.client_id, redirect_uri=None)
    authorize("repeated parameter", state=["a", "b"])
    authorize("unsupported response_type, unknown client", response_type="token", client_id="nope")
    authorize("characters not allowed", response_type='code"x')

    # a person logs in, consents, looks at the account page, logs out
    w.client.get("/login", headers=w.headers)
    login_page = w.get("login before consent", "/authorize?" + "&".join(
        f"{k}={v}" for k, v in {**good, "client_id": third_party.client_id,
                                "redirect_uri": "http://localhost:9002/cb", "scope": "openid%20profile%20phone"}.items()),
        302).headers["Location"]
    w.get("login page of a portal", login_page)
    tx = query_of(login_page)["tx"]
    consent = w.post("password login", "/login", 302, {"csrf_token": w.form_token(login_page), "username": CITIZEN_ID,
                                                       "password": CITIZEN_PASSWORD, "tx": tx})
    consent = w.get("resume", consent.headers["Location"], 302)
    w.get("consent", consent.headers["Location"])
    w.get("consent expired", "/consent?tx=expired", 400)
    authorize("form_post response to a first-party portal", 200, response_mode="form_post")
    _walk_saml_pages(app, w)
    w.get("account", "/account")
    w.get("administrators only", "/admin/", 403)
    w.get("logout with a forged hint", "/logout?id_token_hint=a.b.c", 400)
    _walk_device_pages(app, w)
    _walk_qr_pages(w)
    _walk_second_factor_pages(w)
    w.get("logout confirmation", "/logout")
    w.post("logged out", "/logout/confirm", 200, {"csrf_token": w.form_token("/logout")})

    # HTTP errors
    w.get("not found", "/no-such-page", 404)
    w.get("not found under /admin", "/admin/no/such/page", 404)
    w.post("method not allowed", "/account", 405, {})
    w.get("server error", "/_test/boom", 500)
    w.get("unregistered CAS service", "/cas/login?service=http://unknown.example/", 400)

    # the admin console
    admin = Walk(app, locale)
    page = admin.client.get("/login?next=/admin/", headers=admin.headers).get_data(as_text=True)
    admin.post("admin login", "/login", 302, {"csrf_token": csrf_token(page), "username": ADMIN_ID,
                                              "password": ADMIN_PASSWORD, "next": "/admin/"})
    admin.get("clients", "/admin/")
    admin.get("new client", "/admin/clients/new")
    admin.post("new client, empty", "/admin/clients/new", 400, {"csrf_token": admin.form_token("/admin/clients/new")})
    created = admin.post("new client", "/admin/clients/new", 200, {
        "csrf_token": admin.form_token("/admin/clients/new"), "name": "人社局门户",
        "redirect_uris": "https://portal.example.gov.cn/cb", "scopes": ["openid", "profile"],
        "client_type": "confidential", "id_token_alg": "RS256"})
    client_id = re.search(r'id="client-id">([^<]+)<', created.get_data(as_text=True)).group(1)
    admin.post("new client, refused value", "/admin/clients/new", 400, {
        "csrf_token": admin.form_token("/admin/clients/new"), "name": "人社局门户",
        "redirect_uris": "http://portal.example.gov.cn/cb", "scopes": ["openid"], "client_type": "confidential",
        "id_token_alg": "RS256"})
    admin.get("client", f"/admin/clients/{client_id}")
    admin.get("edit client", f"/admin/clients/{client_id}/edit")
    admin.get("no such client", "/admin/clients/no-such-client", 404)
    admin.get("keys", "/admin/keys")
    admin.get("certificates", "/admin/certificates")
    admin.get("CAS services", "/admin/cas/")
    admin.get("new CAS service", "/admin/cas/new")
    admin.post("new CAS service, empty", "/admin/cas/new", 400, {"csrf_token": admin.form_token("/admin/cas/new")})
    admin.post("new CAS service, refused value", "/admin/cas/new", 400, {
        "csrf_token": admin.form_token("/admin/cas/new"), "name": "办事大厅", "service_url": "ftp://hall.example/",
        "match": "exact"})
    saved = admin.post("new CAS service", "/admin/cas/new", 302, {
        "csrf_token": admin.form_token("/admin/cas/new"), "name": "办事大厅",
        "service_url": "https://hall.example.gov.cn/", "match": "prefix", "single_logout": "y"})
    admin.get("CAS service", saved.headers["Location"])
    admin.get("edit CAS service", saved.headers["Location"].rstrip("/") + "/edit")
    _walk_authorisation_pages(app, admin)
    _walk_admin_saml_pages(app, admin)
    w.pages.extend(admin.pages)
    return w


REPRESENTATIVE_ID = "110101197505051233"


def _walk_authorisation_pages(app, admin: Walk) -> None:
    """An enterprise authorises an agent (the representative at certificate level), the agent accepts
    and chooses whom she acts for at a portal; the administrator lists the authorisation."""
    from datetime import date, timedelta
    from urllib.parse import urlencode

    from idp.authn.result import ACR_CERTIFICATE, AuthResult
    from idp.identity.service import create_entity, create_person, link_representative
    with app.app_context():
        create_entity(uscc="91110000100000000R", name="示例科技有限公司")
        # the representative is not the walk's citizen, who has a second factor by now
        create_person(id_number=REPRESENTATIVE_ID, name="王五", password=CITIZEN_PASSWORD)
        link_representative(uscc="91110000100000000R", id_number=REPRESENTATIVE_ID, role="legal_representative")
        create_person(id_number="110105198503151230", name="李四", password=CITIZEN_PASSWORD)
    portal = register(app, None, name="门户丁", redirect_uri="http://localhost:9006/cb",
                      scopes=("openid", "profile", "entity"))
    boss, agent = Walk(app, admin.locale), Walk(app, admin.locale)
    for walk, username in ((boss, REPRESENTATIVE_ID), (agent, "110105198503151230")):
        walk.post("login", "/login", 302, {"csrf_token": walk.form_token(), "username": username,
                                           "password": CITIZEN_PASSWORD, "next": "/account"})
    boss.get("account of a representative at password level", "/account")
    page = boss.get("whom do you act for (representative)", "/account/acting-for").get_data(as_text=True)
    own = re.search(r'name="acting_for" value="([^"]+)"', page.split('value="self"')[1]).group(1)
    step_up = boss.post("her own enterprise: step-up first", "/account/acting-for", 302,
                        {"csrf_token": csrf_token(page), "acting_for": own}).headers["Location"]
    boss.get("step-up to act for her enterprise", step_up)
    boss.get("an ended step-up", "/account/step-up/done?tx=ended", 400)
    with app.app_context():
        core = app.extensions["idp"]
        session = core.sessions.load(boss.client.get_cookie("idp_session").value)
        core.sessions.reauthenticate(session, AuthResult(person_id=session.person_id, method="certificate",
                                                         acr=ACR_CERTIFICATE, amr=("swk", "x509")))
    page = boss.get("account of a representative", "/account").get_data(as_text=True)
    entity = re.search(r'<option value="([^"]+)">', page).group(1)
    form = {"csrf_token": csrf_token(page), "entity": entity, "id_number": "110105198503151230", "name": "李四",
            "roles": "declarant", "all_portals": "1",
            "valid_until": (date.today() + timedelta(days=30)).isoformat()}
    boss.post("authorisation refused", "/account/authorisations", 400, {**form, "name": "赵六"})
    boss.post("authorise an agent", "/account/authorisations", 302, form)
    boss.get("account with an agent authorised", "/account")
    page = agent.get("account with an authorisation waiting", "/account").get_data(as_text=True)
    accept = re.search(r'action="(/account/authorisations/[^"]+/accept)"', page).group(1)
    agent.post("accept", accept, 302, {"csrf_token": csrf_token(page)})
    agent.post("accept again", accept, 404, {"csrf_token": csrf_token(page)})
    agent.get("account of an agent", "/account")
    params = {"response_type": "code", "client_id": portal.client_id, "redirect_uri": portal.redirect_uri,
              "scope": "openid profile entity", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
              "code_challenge_method": "S256"}
    chooser = agent.get("to the chooser", "/authorize?" + urlencode(params), 302).headers["Location"]
    page = agent.get("whom do you act for", chooser).get_data(as_text=True)
    agent.post("a forged choice", "/account/acting-for", 400, {
        "csrf_token": csrf_token(page), "tx": chooser.split("tx=")[1], "acting_for": "forged"})
    from idp.clients.metadata import DEVICE_CODE
    kiosk = register(app, None, name="自助机", redirect_uri="http://localhost:9007/cb", first_party=True,
                     grant_types=[DEVICE_CODE], scopes=("openid", "profile", "entity"))
    code = agent.client.post("/device_authorization", data={"client_id": kiosk.client_id,
                                                            "scope": "openid profile entity"},
                             headers=kiosk.basic).get_json()["user_code"]
    page = agent.post("device confirmation with the choice", "/device", 200,
                      {"csrf_token": agent.form_token("/device"), "user_code": code}).get_data(as_text=True)
    assert 'id="choose-context"' in page
    agent.post("device: a forged choice", "/device/decision", 400, {
        "csrf_token": csrf_token(page), "user_code": code, "decision": "allow", "acting_for": "forged"})
    admin.get("enterprise authorisations", "/admin/authorisations")
    admin.pages.extend(boss.pages + agent.pages)


def _walk_second_factor_pages(w: Walk) -> None:
    """Second factors set up from the account page, refused codes, and the second step of a login."""
    import pyotp
    sms = w.get("SMS set-up", "/account/second-factor/sms").get_data(as_text=True)
    w.post("SMS set-up, wrong number", "/account/second-factor/sms", 400,
           {"csrf_token": csrf_token(sms), "phone": "12345", "action": "send"})
    page = w.get("authenticator app set-up", "/account/second-factor/totp").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    w.post("wrong set-up code", "/account/second-factor/totp", 400, {"csrf_token": csrf_token(page), "code": "12"})
    w.post("recovery codes", "/account/second-factor/totp", 200,
           {"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()})
    w.get("account with a second factor", "/account")
    w.get("second step", "/login/second-factor?method=totp")
    w.post("wrong second-step code", "/login/second-factor", 400,
           {"csrf_token": w.form_token("/account"), "method": "totp", "code": "x"})
    w.get("second step by recovery code", "/login/second-factor?method=recovery")
    w.get("SMS set-up, once a second factor is on", "/account/second-factor/sms", 302)  # steps up first


def _walk_qr_pages(w: Walk) -> None:
    """QR cross-device login: a desktop (another browser, same language) shows codes; the walk's person,
    logged in, opens them: approves one, denies one; refusals on both sides."""
    desktop = w.app.test_client()

    def code(what: str) -> str:
        html = w.see(what, desktop.get("/login?method=qr", headers=w.headers), 200).get_data(as_text=True)
        return urlsplit(re.search(r'class="qr-link" href="([^"]+)"', html).group(1)).path

    path = code("login with a QR code")
    w.see("QR login not approved yet", desktop.post(path + "/continue", headers=w.headers, data={
        "csrf_token": csrf_token(desktop.get("/login", headers=w.headers).get_data(as_text=True))}), 400)
    w.get("QR code scanned", path)
    w.post("QR code confirmed", path + "/confirm", 302, {"csrf_token": w.form_token("/account")})
    w.get("QR login to approve", path)
    w.post("QR login approved", path + "/decision", 200, {"csrf_token": w.form_token("/account"),
                                                         "decision": "approve"})
    w.get("QR code used", path, 400)
    path = code("login with another QR code")
    w.post("QR approval before the confirmation", path + "/decision", 400,
           {"csrf_token": w.form_token("/account"), "decision": "approve"})
    w.post("QR code confirmed", path + "/confirm", 302, {"csrf_token": w.form_token("/account")})
    w.post("QR login denied", path + "/decision", 200, {"csrf_token": w.form_token("/account"), "decision": "deny"})
    w.get("unknown QR code", "/login/qr/" + "A" * 43, 404)


def _walk_admin_saml_pages(app, admin: Walk) -> None:
    import tempfile
    from pathlib import Path

    from test_saml import ServiceProvider
    sp = ServiceProvider(app, Path(tempfile.mkdtemp()), name="admin-walk-" + admin.locale)
    admin.get("SAML service providers", "/admin/saml/")
    admin.get("new SAML service provider", "/admin/saml/new")
    admin.post("new SAML service provider, refused metadata", "/admin/saml/new", 400, {
        "csrf_token": admin.form_token("/admin/saml/new"), "metadata_xml": "<x/>"})
    saved = admin.post("new SAML service provider", "/admin/saml/new", 302, {
        "csrf_token": admin.form_token("/admin/saml/new"), "metadata_xml": sp.metadata, "name": "档案系统"})
    admin.get("SAML service provider", saved.headers["Location"])
    admin.get("edit SAML service provider", saved.headers["Location"] + "/edit")
    admin.get("no such SAML service provider", "/admin/saml/999999", 404)


def _walk_saml_pages(app, w: Walk) -> None:
    import tempfile
    from pathlib import Path

    from urllib.parse import quote

    from test_saml import ServiceProvider
    sp = ServiceProvider(app, Path(tempfile.mkdtemp()), name="walk-" + w.locale)
    sp.register(name="档案系统")
    _id, (_method, path, _form) = sp.authn_request()
    w.get("SAML response posted to a site", path)
    w.get("refused SAML request", "/saml/sso?SAMLRequest=AAAA", 400)
    w.get("SAML request without a message", "/saml/sso", 400)
    w.get("IdP-initiated login to an SP not allowed it", "/saml/idp-initiated?sp=" + quote(sp.entity_id), 400)
    w.get("IdP-initiated login without an SP", "/saml/idp-initiated", 400)


def _walk_device_pages(app, w: Walk) -> None:
    """A kiosk's code entered on the device pages (the person is logged in): refused, denied, allowed."""
    from idp.clients.metadata import DEVICE_CODE
    kiosk = register(app, None, name="自助机", redirect_uri="http://localhost:9005/cb", first_party=False,
                     grant_types=[DEVICE_CODE])

    def user_code():
        return w.client.post("/device_authorization", data={"client_id": kiosk.client_id},
                             headers=kiosk.basic).get_json()["user_code"]

    w.get("device code entry", "/device")
    w.post("unknown device code", "/device", 400,
           {"csrf_token": w.form_token("/device"), "user_code": "BCDF-GHJK"})
    for decision in ("deny", "allow"):
        code = user_code()
        w.post("device confirmation", "/device", 200, {"csrf_token": w.form_token("/device"), "user_code": code})
        w.post(f"device {decision}", "/device/decision", 200, {"csrf_token": w.form_token("/device"),
                                                               "user_code": code, "decision": decision})


DATA = ("示例科技有限公司", "王五", "李四", "门户丁", "declarant", "张三", "自助机", "管理员", "门户甲", "门户乙", "门户丙", "人社局门户", "办事大厅", "档案系统", "http://unknown.example/",
        "Google Authenticator", "Microsoft Authenticator", "FreeOTP")  # product names stay as they are


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_a_person_sees_is_in_one_language(walk_app, locale):
    rendered: set[str] = set()

    def record(sender, template, context, **extra):
        rendered.add(template.name)

    with template_rendered.connected_to(record, walk_app):
        walk = _walk(walk_app, locale)
    problems = []
    for what, status, html in walk.pages:
        assert f'lang="{"zh-CN" if locale == "zh" else "en"}"' in html, what
        found = wrong_language(visible_text(html, locale), locale, DATA)
        if found:
            problems.append(f"{what} ({status}): {sorted(set(found))}")
    assert not problems, f"text not in {locale}:\n" + "\n".join(problems)
    pages = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")}
    # login/ holds the login page's tabs, account/ the account page's sections, _*.html pieces of pages
    # (all included, not rendered on their own)
    partials = {"base.html", "admin/base.html"} | {p for p in pages if p.startswith(("login/", "account/", "_"))}
    assert pages - partials - rendered == set(), "pages this walk never shows; add them to it"


def test_every_login_refusal_is_translated(app):
    from idp.errors import AuthnError, LockedOut
    from idp.web.login_refusals import MESSAGES, OTHER, refusal_message
    for locale in LOCALES:
        with app.test_request_context("/", headers={"Accept-Language": locale}):
            for error in [*(AuthnError(code) for code in [*MESSAGES, "something new"]), LockedOut(90)]:
                message = refusal_message(error)
                assert message and not wrong_language(message, locale), (locale, error.code, message)
            assert refusal_message(AuthnError("something new")) == str(OTHER)


def test_every_authorization_and_http_error_message_is_translated(app):
    from idp.protocols.oidc.error_pages import AUTHORIZE_SITUATIONS, LOGOUT_SITUATIONS
    from idp.web.http_messages import OTHER, PAGES
    messages = [*AUTHORIZE_SITUATIONS.values(), *LOGOUT_SITUATIONS.values(), *OTHER,
                *(text for pair in PAGES.values() for text in pair)]
    for locale in LOCALES:
        with app.test_request_context("/", headers={"Accept-Language": locale}):
            for message in messages:
                text = str(message)
                assert text and not wrong_language(text, locale), (locale, text)


# -- whatever a portal sends to the authorization endpoint ------------------------------------------

_PARAMETER = st.sampled_from(["response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                              "prompt", "max_age", "code_challenge", "code_challenge_method", "acr_values"])
_VALUE = st.one_of(st.sampled_from(["code", "token", "id_token", "openid", "openid profile", "S256", "plain",
                                    "none", "login", "0", "-1", "x", "", "http://localhost:9001/cb",
                                    "http://evil.example/cb", "CLIENT"]),
                   st.text(max_size=12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(_PARAMETER, _VALUE), max_size=8), locale=st.sampled_from(LOCALES))
def test_any_authorization_request_gets_a_redirect_or_a_page_in_the_persons_language(app, pairs, locale):
    from urllib.parse import urlencode
    portal = getattr(app, "_language_portal", None)
    if portal is None:
        portal = app._language_portal = register(app, None, name="门户甲", redirect_uri="http://localhost:9001/cb")
    pairs = [(k, portal.client_id if v == "CLIENT" else v) for k, v in pairs]
    response = app.test_client().get("/authorize?" + urlencode(pairs),
                                     headers={"Accept-Language": locale})
    assert response.status_code in (302, 400), response.get_data(as_text=True)[:500]
    if response.status_code == 400:
        html = response.get_data(as_text=True)
        assert wrong_language(visible_text(html, locale), locale, DATA) == [], html
        assert 'class="error-code"' in html  # the protocol code, for the portal's operators, in small print


def test_logout_errors_are_told_by_situation(app):
    from authlib.oauth2.rfc6749 import InvalidRequestError
    from idp.protocols.oidc.error_pages import LOGOUT_SITUATIONS, logout_error_page
    other_audience = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJvdGhlciJ9.c2ln"  # {"alg":"RS256"}.{"aud":"other"}
    cases = [({"id_token_hint": other_audience, "client_id": "mine"}, "client_mismatch"),
             ({"id_token_hint": other_audience, "client_id": "other"}, "bad_id_token_hint"),
             ({"id_token_hint": "not a token", "client_id": "mine"}, "bad_id_token_hint"),
             ({}, "other")]
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        for params, situation in cases:
            page = logout_error_page(InvalidRequestError("whatever"), params)
            assert page["description"] == str(LOGOUT_SITUATIONS[situation]) and page["error"] == "invalid_request"
