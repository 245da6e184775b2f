"""The admin console driven through the Flask test client: log in through /login, manage clients and keys
with CSRF-protected forms, secrets shown once, step-up to a certificate for actions when configured."""
from __future__ import annotations

import re

import pytest

from admin_support import console_login, create_admin, page, post_form
from helpers import make_settings

FORM = {"name": "社保门户", "redirect_uris": "https://si.example.gov.cn/oidc/callback\n",
        "post_logout_redirect_uris": "https://si.example.gov.cn/",
        "backchannel_logout_uri": "https://si.example.gov.cn/oidc/backchannel-logout",
        "scopes": ["openid", "profile", "idcard"], "client_type": "confidential", "auth_method": "",
        "id_token_alg": "RS256", "sector_identifier": ""}


@pytest.fixture
def admin(app):
    return create_admin(app)


@pytest.fixture
def console(app, admin):
    client = app.test_client()
    response = console_login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    return client


def code_text(html, element_id):
    match = re.search(r'id="%s">([^<]+)<' % element_id, html)
    assert match, element_id
    return match.group(1)


def stored(app, client_id):
    from idp.clients.models import Client
    from idp.extensions import db
    with app.app_context():
        return db.session.query(Client).filter_by(client_id=client_id).one_or_none()


def create(console, **changes):
    response = post_form(console, "/admin/clients/new", "/admin/clients/new", {**FORM, **changes})
    return response


def test_anonymous_visit_goes_to_login_and_comes_back(app, admin):
    client = app.test_client()
    response = client.get("/admin/keys")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/keys"
    login_page = page(client, response.headers["Location"])
    assert 'name="next" value="/admin/keys"' in login_page
    back = console_login(client, next_path="/admin/keys")
    assert back.headers["Location"] == "/admin/keys"
    assert "kid" in page(client, "/admin/keys")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/\\evil.example",
                                    "javascript:alert(1)", "admin", "/admin\r\nSet-Cookie: x=y"])
def test_login_return_is_local_only(app, admin, target):
    client = app.test_client()
    response = console_login(client, next_path=target)
    assert response.status_code == 302 and response.headers["Location"] == "/account"


def test_console_is_chinese_by_default_and_english_on_request(console):
    assert "注册客户端" in page(console, "/admin/")
    english = page(console, "/admin/?lang=en")
    assert "Register a client" in english and "注册客户端" not in english


def test_create_view_edit_disable_delete(app, console):
    created = create(console)
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
    client_id, secret = code_text(html, "client-id"), code_text(html, "client-secret")
    client = stored(app, client_id)
    assert client.check_client_secret(secret) and client.scope == "openid profile idcard"
    assert client.backchannel_logout_uri == FORM["backchannel_logout_uri"]
    view = page(console, f"/admin/clients/{client_id}")
    assert secret not in view and "社保门户" in view and "openid profile idcard" in view
    assert client_id in page(console, "/admin/")

    edit_page = page(console, f"/admin/clients/{client_id}/edit")
    assert "https://si.example.gov.cn/oidc/callback" in edit_page
    edited = post_form(console, f"/admin/clients/{client_id}/edit", f"/admin/clients/{client_id}/edit",
                       {**FORM, "name": "社保门户二期", "redirect_uris": "https://si2.example.gov.cn/cb",
                        "third_party": "y", "sector_identifier": "si.example.gov.cn"})
    assert edited.status_code == 302, edited.get_data(as_text=True)
    client = stored(app, client_id)
    assert client.name == "社保门户二期" and client.redirect_uris == ["https://si2.example.gov.cn/cb"]
    assert client.first_party is False and client.subject_type == "pairwise"
    assert client.check_client_secret(secret), "editing keeps the secret"

    view_url = f"/admin/clients/{client_id}"
    assert post_form(console, f"{view_url}/disable", view_url, {}).status_code == 302
    assert stored(app, client_id).disabled is True
    assert post_form(console, f"{view_url}/enable", view_url, {}).status_code == 302
    assert stored(app, client_id).disabled is False
    assert post_form(console, f"{view_url}/delete", view_url, {}).headers["Location"] == "/admin/"
    assert stored(app, client_id) is None
    assert console.get(view_url).status_code == 404


def test_reset_secret_shows_the_new_secret_once(app, console):
    client_id = code_text(create(console).get_data(as_text=True), "client-id")
    view_url = f"/admin/clients/{client_id}"
    reset = post_form(console, f"{view_url}/reset-secret", view_url, {})
    new_secret = code_text(reset.get_data(as_text=True), "client-secret")
    assert stored(app, client_id).check_client_secret(new_secret)
    assert new_secret not in page(console, view_url)


def test_public_client_has_no_secret(app, console):
    response = create(console, client_type="public", redirect_uris="http://127.0.0.1:8080/cb")
    assert response.status_code == 302
    client_id = response.headers["Location"].rsplit("/", 1)[1]
    client = stored(app, client_id)
    assert client.is_public and client.client_secret_hash is None
    assert 'id="reset-secret"' not in page(console, f"/admin/clients/{client_id}")


@pytest.mark.parametrize("changes, message", [
    ({"redirect_uris": "http://portal.example.gov.cn/cb"}, "https"),
    ({"redirect_uris": "https://portal.example.gov.cn/cb#x"}, "fragment"),
    ({"backchannel_logout_uri": "ftp://portal.example.gov.cn/bc"}, "https"),
    ({"client_type": "public", "auth_method": "client_secret_basic"}, "public client"),
    ({"auth_method": "private_key_jwt"}, "jwks"),
    ({"auth_method": "private_key_jwt", "jwks": "{not json"}, "JSON"),
    ({"redirect_uris": "", "grant_types": ["authorization_code"]}, "redirect_uri"),
])
def test_bad_input_is_shown_on_the_form(app, console, changes, message):
    response = create(console, **changes)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="form-error"' in html and message in html
    assert "社保门户" in html  # what was typed is kept


def test_unknown_scope_or_grant_type_is_refused_by_the_form(console):
    assert create(console, scopes=["openid", "superpowers"]).status_code == 400
    assert create(console, grant_types=["implicit"]).status_code == 400


def test_forms_need_a_csrf_token(app, console):
    response = console.post("/admin/clients/new", data=FORM)
    assert response.status_code == 400
    from idp.clients.models import Client
    from idp.extensions import db
    with app.app_context():
        assert db.session.query(Client).count() == 0


def test_keys_page_rotates(app, console):
    before = page(console, "/admin/keys")
    kids_before = set(re.findall(r"<code>((?:rs|es)256-[0-9a-f]+)</code>", before))
    rotated = post_form(console, "/admin/keys/rotate", "/admin/keys", {"alg": "RS256"})
    assert rotated.status_code == 302
    after = page(console, "/admin/keys")
    kids_after = set(re.findall(r"<code>((?:rs|es)256-[0-9a-f]+)</code>", after))
    new = kids_after - kids_before
    assert len(new) == 1 and new.pop().startswith("rs256-")
    with app.app_context():
        published = {k["kid"] for k in app.extensions["idp"].keys.public_jwks()["keys"]}
    assert kids_before <= published


def test_admin_actions_are_audited_with_the_admin_as_actor(app, admin, console):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    client_id = code_text(create(console).get_data(as_text=True), "client-id")
    with app.app_context():
        row = db.session.query(AuditEvent).filter_by(event="admin.client.created").one()
        assert row.data["client_id"] == client_id and row.data["actor"] == admin


@pytest.fixture
def strict_app(tmp_path):
    from idp import create_app
    from idp.migrate import upgrade
    app = create_app(make_settings(tmp_path, admin_required_acr="urn:idp:loa:2"))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    create_admin(app)
    return app


def test_required_acr_sends_a_password_session_to_certificate_login(strict_app):
    client = strict_app.test_client()
    console_login(client)
    assert "注册客户端" in page(client, "/admin/")  # reading is allowed
    response = post_form(client, "/admin/clients/new", "/admin/clients/new", FORM)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/login?") and "next=/admin/clients/new" in location
    assert "acr=urn:idp:loa:2" in location
    login_page = page(client, location + "&lang=en")
    assert "Log in with a digital certificate" in login_page
    from idp.clients.models import Client
    from idp.extensions import db
    with strict_app.app_context():
        assert db.session.query(Client).count() == 0


def test_required_acr_met_by_a_certificate_session(strict_app):
    from idp.authn.result import ACR_CERTIFICATE, AuthResult
    from idp.identity.models import Person
    from idp.extensions import db
    client = strict_app.test_client()
    response = console_login(client)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("idp_session="))
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    with strict_app.app_context():
        core = strict_app.extensions["idp"]
        session = core.sessions.load(token)
        person = db.session.query(Person).filter_by(id=session.person_id).one()
        core.sessions.reauthenticate(session, AuthResult(person_id=person.id, method="certificate",
                                                         acr=ACR_CERTIFICATE, amr=("hwk",)))
    response = post_form(client, "/admin/clients/new", "/admin/clients/new", FORM)
    assert response.status_code == 200 and 'id="client-secret"' in response.get_data(as_text=True)


def _key_states(app):
    with app.app_context():
        return {k.kid: k.status for k in app.extensions["idp"].keys.list_keys()}


def test_keys_page_retires_a_pending_key_and_refuses_the_active_one(app, console):
    rotated = post_form(console, "/admin/keys/rotate", "/admin/keys", {"alg": "ES256"})
    assert rotated.status_code == 302
    states = _key_states(app)
    pending = next(kid for kid, status in states.items() if status == "pending")
    active = next(kid for kid, status in states.items() if status == "active")
    keys_page = page(console, "/admin/keys")
    assert f'id="retire-{pending}"' in keys_page and f'id="retire-{active}"' not in keys_page

    retired = post_form(console, f"/admin/keys/{pending}/retire", "/admin/keys", {})
    assert retired.status_code == 302 and retired.headers["Location"] == "/admin/keys"
    assert _key_states(app)[pending] == "retired"
    assert f"密钥 {pending} 已停用" in page(console, "/admin/keys")
    with app.app_context():
        assert pending not in {k["kid"] for k in app.extensions["idp"].keys.public_jwks()["keys"]}

    refused = post_form(console, f"/admin/keys/{active}/retire", "/admin/keys", {})
    assert refused.status_code == 302 and _key_states(app)[active] == "active"
    assert f"密钥 {active} 是当前签名密钥，不能停用" in page(console, "/admin/keys")
    assert post_form(console, "/admin/keys/no-such-kid/retire", "/admin/keys", {}).status_code == 404

    from sqlalchemy import select
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    with app.app_context():
        events = db.session.execute(select(AuditEvent.event, AuditEvent.data)).all()
    assert [d["kid"] for e, d in events if e == "admin.keys.retired"] == [pending]


def _console_trusting(tmp_path, profiles_dir):
    from helpers import create_app, upgrade
    app = create_app(make_settings(tmp_path, trust_profiles_dir=str(profiles_dir)))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    create_admin(app)
    client = app.test_client()
    assert console_login(client).status_code == 302
    return client


def test_certificates_page_without_trusted_cas(tmp_path):
    console = _console_trusting(tmp_path, tmp_path / "no-profiles")
    html = page(console, "/admin/certificates")
    assert "未信任任何 CA" in html and "未加载任何 CRL" in html
    assert 'id="expiry-warning"' not in page(console, "/admin/")


@pytest.fixture
def expiring_pki(tmp_path_factory):
    """A demo PKI made as if 3640 days ago: its CA certificates expire in about 10 days, its CRLs are stale."""
    import datetime as dt
    from idp.pki import demo
    root = tmp_path_factory.mktemp("old-pki")
    demo.generate(root, root / "profiles", now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3640))
    return root / "profiles"


@pytest.fixture
def expiring_console(tmp_path, expiring_pki):
    return _console_trusting(tmp_path, expiring_pki)


def test_certificates_page_lists_cas_and_crls_and_marks_those_expiring(expiring_console):
    html = page(expiring_console, "/admin/certificates")
    rows = re.findall(r'<tr class="ca ([a-z]*)">(.*?)</tr>', html, re.S)
    assert len(rows) == 4 and all(style == "expiring" for style, _ in rows)
    assert all(re.search(r"<td>(9|10)</td>", cells) for _, cells in rows), rows
    assert "demo-cn" in html and "CN=" in html
    crls = re.findall(r'<tr class="crl ([a-z]*)">', html)
    assert crls == ["expiring"] * 4 and "已过期" in html
    banner = page(expiring_console, "/admin/")
    assert 'id="expiry-warning"' in banner and "有 8 个 CA 证书或 CRL 将在 30 天内到期" in banner
