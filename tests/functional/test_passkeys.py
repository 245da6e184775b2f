"""Passkeys over HTTP: registered on the account page, then used to log in without a username or
password (or after the password, as a second factor); refusals are clear pages with audit records.

The authenticator is ``tests/passkey_authenticator.py`` (real ES256 keys and WebAuthn byte layouts);
the server's side is py_webauthn, unmocked.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import ISSUER, RP, Browser, audit_events, csrf_token, decode_jwt, query_of
from passkey_authenticator import SoftAuthenticator

ORIGIN = ISSUER  # http://localhost: the RP ID is "localhost"


class PasskeyUser:
    """A person's browser using passkeys on the test app."""

    def __init__(self, app, browser: Browser):
        self.app, self.browser, self.client = app, browser, browser.client

    def _csrf(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.status_code
        return csrf_token(page.get_data(as_text=True))

    def register(self, authenticator: SoftAuthenticator, name: str = "", *, origin: str = ORIGIN, rp_id=None):
        token = self._csrf("/account")
        headers = {"X-CSRFToken": token}
        options = self.client.post("/account/passkeys/options", json={}, headers=headers)
        assert options.status_code == 200, options.get_data(as_text=True)
        body = options.get_json()
        answer = authenticator.create(body["publicKey"], origin, rp_id=rp_id)
        return self.client.post("/account/passkeys", json={"ceremony": body["ceremony"], "credential": answer,
                                                          "name": name}, headers=headers)

    def login(self, authenticator: SoftAuthenticator, *, tx: str | None = None, origin: str = ORIGIN, **get):
        page = "/login?method=passkey" + (f"&tx={tx}" if tx else "")
        token = self._csrf(page)
        options = self.client.post("/login/passkey/options", json={"tx": tx}, headers={"X-CSRFToken": token})
        assert options.status_code == 200, options.get_data(as_text=True)
        body = options.get_json()
        answer = authenticator.get(body["publicKey"], origin, **get)
        form = {"csrf_token": token, "ceremony": body["ceremony"], "credential": json.dumps(answer)}
        if tx:
            form["tx"] = tx
        return self.client.post("/login/passkey", data=form), form


@pytest.fixture
def person(app, browser, citizen):
    """The citizen, logged in with the password."""
    assert browser.login("/login").status_code == 302
    return PasskeyUser(app, browser)


def fresh_browser(app) -> PasskeyUser:
    return PasskeyUser(app, Browser(app.test_client()))


def last_login(app, kind="login."):
    return audit_events(app, kind)[-1]


def test_register_then_log_in_with_the_passkey_alone(app, person, citizen):
    authenticator = SoftAuthenticator()
    registered = person.register(authenticator, "我的手机")
    assert registered.status_code == 200, registered.get_json()
    assert registered.get_json()["name"] == "我的手机"
    event, data = last_login(app, "passkey.registered")
    assert data["person"] == citizen and data["backup_eligible"] is False

    other = fresh_browser(app)  # logged out: a browser with no session, nothing typed
    response, _ = other.login(authenticator)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    event, data = last_login(app)
    assert event == "login.success" and data["method"] == "passkey" and data["person"] == citizen
    assert data["acr"] == "urn:idp:loa:2" and data["amr"] == ["hwk", "user", "mfa"]
    page = other.client.get("/account").get_data(as_text=True)
    assert "我的手机" in page and 'class="passkey-remove"' in page


def test_the_id_token_of_a_portal_carries_the_passkey_login(app, person, rp):
    authenticator = SoftAuthenticator()
    assert person.register(authenticator).status_code == 200
    other = fresh_browser(app)
    portal = RP(app, other.browser, rp.client_id, rp.secret, rp.redirect_uri, rp.scope)
    params, verifier = portal.auth_params()
    to_login = other.browser.authorize(**params)
    assert to_login.status_code == 302 and "/login" in to_login.headers["Location"]
    response, _ = other.login(authenticator, tx=query_of(to_login.headers["Location"])["tx"])
    assert response.status_code == 302, response.get_data(as_text=True)
    back = other.client.get(response.headers["Location"])
    code = query_of(back.headers["Location"])["code"]
    tokens = portal.exchange(code, verifier).get_json()
    claims = decode_jwt(app, tokens["id_token"]).claims
    assert claims["acr"] == "urn:idp:loa:2" and claims["amr"] == ["hwk", "user", "mfa"]


def test_several_passkeys_and_removal(app, person):
    phone, key = SoftAuthenticator(synced=True), SoftAuthenticator()
    assert person.register(phone, "phone").status_code == 200
    assert person.register(key, "key").status_code == 200
    page = person.client.get("/account").get_data(as_text=True)
    assert "phone" in page and "key" in page and page.count('class="passkey-remove"') == 2
    with app.app_context():
        from idp.authn.passkey import passkeys_of
        from idp.identity.models import Person
        from idp.extensions import db
        owner = db.session.scalar(db.select(Person))
        ids = {p.name: p.id for p in passkeys_of(owner.id)}
    # a synced passkey is a software-held key: amr swk
    response, _ = fresh_browser(app).login(phone)
    assert response.status_code == 302 and last_login(app)[1]["amr"] == ["swk", "user", "mfa"]
    removal = person.client.post(f"/account/passkeys/{ids['phone']}/remove",
                                 data={"csrf_token": person._csrf("/account")})
    assert removal.status_code == 302
    assert last_login(app, "passkey.removed")[1]["passkey"] == ids["phone"]
    refused, _ = fresh_browser(app).login(phone)
    assert refused.status_code == 401
    assert "此通行密钥未在本站登记" in refused.get_data(as_text=True)
    assert fresh_browser(app).login(key)[0].status_code == 302


def test_removal_needs_the_csrf_token_and_the_owner(app, person, browser):
    assert person.register(SoftAuthenticator()).status_code == 200
    with app.app_context():
        from idp.identity.passkeys import Passkey
        from idp.extensions import db
        passkey_id = db.session.scalar(db.select(Passkey.id))
    assert person.client.post(f"/account/passkeys/{passkey_id}/remove").status_code == 400
    stranger = fresh_browser(app)
    from idp.identity.service import create_person
    with app.app_context():
        create_person(id_number="110101199003077571", name="李四", password="another good password")
    assert stranger.browser.login("/login", username="110101199003077571",
                                  password="another good password").status_code == 302
    response = stranger.client.post(f"/account/passkeys/{passkey_id}/remove",
                                    data={"csrf_token": stranger._csrf("/account")})
    assert response.status_code == 404
    assert person.client.get("/account").get_data(as_text=True).count('class="passkey-remove"') == 1


def test_an_unregistered_passkey_is_refused_with_an_audit_record(app, citizen):
    stranger = SoftAuthenticator()
    stranger.user_handle = b"someone"
    stranger.rp_id = "localhost"
    response, _ = fresh_browser(app).login(stranger)
    assert response.status_code == 401
    assert "此通行密钥未在本站登记" in response.get_data(as_text=True)
    event, data = last_login(app)
    assert event == "login.failure" and data["reason"] == "passkey_unknown" and data["method"] == "passkey"


@pytest.mark.parametrize("where", [{"rp_id": "evil.example"}, {"origin": "http://evil.example"},
                                   {"origin": "http://localhost:8443"}])
def test_an_assertion_for_another_site_is_refused(app, person, where):
    authenticator = SoftAuthenticator()
    assert person.register(authenticator).status_code == 200
    response, _ = fresh_browser(app).login(authenticator, **where)
    assert response.status_code == 401
    assert "无法为本站验证此通行密钥" in response.get_data(as_text=True)
    assert last_login(app)[1]["reason"] == "passkey_invalid"


def test_a_registration_for_another_site_is_refused(app, person):
    for where in ({"rp_id": "evil.example"}, {"origin": "http://evil.example"}):
        response = person.register(SoftAuthenticator(), **where)
        assert response.status_code == 401 and response.get_json()["error"] == "passkey_invalid"
    assert last_login(app, "passkey.registration_refused")[1]["reason"] == "passkey_invalid"


def test_a_counter_that_goes_back_is_refused_as_a_possible_clone(app, person):
    authenticator = SoftAuthenticator()
    assert person.register(authenticator).status_code == 200
    assert fresh_browser(app).login(authenticator, counter=5)[0].status_code == 302
    response, _ = fresh_browser(app).login(authenticator, counter=5)  # a copy that signed as often
    assert response.status_code == 401
    assert "可能已被复制" in response.get_data(as_text=True)
    assert last_login(app)[1]["reason"] == "passkey_possible_clone"
    event, data = last_login(app, "passkey.possible_clone")
    assert data["stored_count"] == 5 and data["presented_count"] == 5
    assert fresh_browser(app).login(authenticator, counter=6)[0].status_code == 302


def test_a_challenge_is_used_once(app, person):
    authenticator = SoftAuthenticator()
    assert person.register(authenticator).status_code == 200
    other = fresh_browser(app)
    assert other.login(authenticator)[0].status_code == 302
    _, form = other.login(authenticator)
    replay = fresh_browser(app)
    form["csrf_token"] = replay._csrf("/login")
    response = replay.client.post("/login/passkey", data=form)
    assert response.status_code == 400 and "通行密钥请求已过期或已被使用" in response.get_data(as_text=True)


def test_without_user_verification_a_passkey_is_one_factor_or_the_second(app, person, citizen):
    authenticator = SoftAuthenticator(user_verification=False)
    assert person.register(authenticator).status_code == 200
    assert fresh_browser(app).login(authenticator)[0].status_code == 302
    assert last_login(app)[1]["acr"] == "urn:idp:loa:1" and last_login(app)[1]["amr"] == ["hwk"]
    # after the password in the same session: two factors
    assert person.login(authenticator)[0].status_code == 302
    event, data = last_login(app)
    assert data["acr"] == "urn:idp:loa:2" and data["amr"] == ["pwd", "hwk", "mfa"]


def test_registration_needs_a_session(app, citizen):
    anonymous = fresh_browser(app)
    token = anonymous._csrf("/login")
    response = anonymous.client.post("/account/passkeys/options", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 401 and response.get_json()["error"] == "login_required"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(credential=st.one_of(st.text(max_size=200), st.dictionaries(
    st.sampled_from(["id", "rawId", "type", "response", "clientExtensionResults"]),
    st.one_of(st.text(max_size=40), st.integers(), st.none(), st.dictionaries(st.text(max_size=20),
                                                                             st.text(max_size=40))))
    .map(json.dumps)))
def test_any_login_answer_gets_a_page_never_a_500(app, citizen, credential):
    user = fresh_browser(app)
    token = user._csrf("/login")
    ceremony = user.client.post("/login/passkey/options", json={}, headers={"X-CSRFToken": token}).get_json()["ceremony"]
    response = user.client.post("/login/passkey", data={"csrf_token": token, "ceremony": ceremony,
                                                        "credential": credential})
    assert response.status_code in (400, 401), response.status_code
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page or 'class="error-code"' in page  # the login page's message, or the guard's page
