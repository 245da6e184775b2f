"""A second factor enrolled twice at once (a double click, two tabs): one enrolment, the other request gets
the account page, never a server error. The interleaving is forced: the competing request runs to its end
after the first one checked its code and before it stores the factor."""
from __future__ import annotations

import re
import threading

import pyotp
import pytest

from helpers import audit_events, csrf_token
from test_second_factor import EN, clock, password_login  # noqa: F401 (fixtures)

pytestmark = pytest.mark.every_backend


def test_an_authenticator_app_enrolled_twice_at_once_is_enrolled_once(app, citizen, clock, monkeypatch):
    from idp.web import second_factor_views as views
    browser = app.test_client()
    assert password_login(browser).status_code == 302
    page = browser.get("/account/second-factor/totp", headers=EN).get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    form = {"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).at(clock[0])}
    real_check, competing = views.check_code, []

    def check_code(*args):
        step = real_check(*args)
        if not competing:
            competing.append(None)
            tab = threading.Thread(target=lambda: competing.append(
                browser.post("/account/second-factor/totp", data=form, headers=EN)))
            tab.start()
            tab.join(30)
        return step

    monkeypatch.setattr(views, "check_code", check_code)
    first = browser.post("/account/second-factor/totp", data=form, headers=EN)
    statuses = sorted([first.status_code, competing[1].status_code])
    assert statuses in ([200, 302], [200, 303]), statuses  # the recovery codes once, the account page
    assert len(audit_events(app, "second_factor.enrolled")) == 1
    from sqlalchemy import func, select

    from idp.extensions import db
    from idp.identity.second_factors import SecondFactor
    with app.app_context():
        assert db.session.scalar(select(func.count(SecondFactor.id))) == 1


def test_one_passkey_registered_twice_at_once_is_registered_once(app, citizen, monkeypatch):
    """Two tabs register the same authenticator (or an attacker races to claim a credential id): the unique
    credential id decides; the other request hears ``passkey_already_registered``."""
    from idp.authn import passkey as passkey_module
    from passkey_authenticator import SoftAuthenticator
    from test_passkeys import ORIGIN, PasskeyUser
    from helpers import Browser
    user = PasskeyUser(app, Browser(app.test_client()))
    assert user.browser.login("/login").status_code == 302
    authenticator = SoftAuthenticator()
    headers = {"X-CSRFToken": user._csrf("/account")}
    ceremonies = []
    for _ in range(2):
        body = user.client.post("/account/passkeys/options", json={}, headers=headers).get_json()
        ceremonies.append({"ceremony": body["ceremony"], "credential": authenticator.create(body["publicKey"], ORIGIN)})
    real_clean_name, competing = passkey_module.clean_name, []

    def clean_name(name):  # called after the check for a known credential id, before the new one is stored
        cleaned = real_clean_name(name)
        if not competing:
            competing.append(None)
            tab = threading.Thread(target=lambda: competing.append(
                user.client.post("/account/passkeys", json=ceremonies[1], headers=headers)))
            tab.start()
            tab.join(30)
        return cleaned

    monkeypatch.setattr(passkey_module, "clean_name", clean_name)
    first = user.client.post("/account/passkeys", json=ceremonies[0], headers=headers)
    answers = sorted([first, competing[1]], key=lambda answer: answer.status_code)
    assert [answer.status_code for answer in answers] == [200, 400], [a.get_data(as_text=True) for a in answers]
    assert answers[1].get_json()["error"] == "passkey_already_registered"


def test_a_cloned_passkey_used_at_the_same_moment_as_the_original_is_refused_once(app, citizen, monkeypatch):
    """The signature counter check holds when two logins with the same counter value cross: the counter is
    raised only if it is still below the presented value, so one of them is refused as a possible clone."""
    from idp.authn import passkey as passkey_module
    from passkey_authenticator import SoftAuthenticator
    from test_passkeys import PasskeyUser, fresh_browser
    from helpers import Browser
    owner = PasskeyUser(app, Browser(app.test_client()))
    assert owner.browser.login("/login").status_code == 302
    authenticator = SoftAuthenticator()
    assert owner.register(authenticator).status_code == 200
    real_verify, competing = passkey_module.verify_authentication_response, []

    def verify(**kwargs):
        verified = real_verify(**kwargs)
        if not competing:
            competing.append(None)
            clone = threading.Thread(target=lambda: competing.append(
                fresh_browser(app).login(authenticator, counter=5)[0]))
            clone.start()
            clone.join(30)
        return verified

    monkeypatch.setattr(passkey_module, "verify_authentication_response", verify)
    first = fresh_browser(app).login(authenticator, counter=5)[0]
    assert sorted([first.status_code, competing[1].status_code]) == [302, 401]
    assert [data["reason"] for _, data in audit_events(app, "login.failure")] == ["passkey_possible_clone"]
