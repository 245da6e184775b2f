"""Second factors over HTTP: enrolment (TOTP with its QR code, SMS), password + second factor logins,
step-up of a password session at a portal's request, removal, and every bad code refused with a clear
message and an audit record."""
from __future__ import annotations

import re
import time

import pyotp
import pytest

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, audit_events, csrf_token, decode_jwt, query_of
from idp.authn import sms as sms_module
from idp.authn import totp as totp_module
from idp.authn.result import ACR_MFA, ACR_PASSWORD

EN = {"Accept-Language": "en"}


class RecordingSender:
    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, phone, message):
        self.sent.append((phone, message))

    def last_code(self) -> str:
        return re.search(r"\d{6}", self.sent[-1][1]).group(0)


@pytest.fixture
def clock(monkeypatch):
    """The TOTP and SMS clocks, moved by the test."""
    now = [time.time()]
    monkeypatch.setattr(totp_module, "_clock", lambda: now[0])
    monkeypatch.setattr(sms_module, "_clock", lambda: now[0])
    return now


@pytest.fixture
def sender(app):
    recording = RecordingSender()
    app.extensions["idp"].sms.sender = recording
    return recording


def password_login(client, **form):
    page = client.get("/login", headers=EN)
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "username": CITIZEN_ID,
            "password": CITIZEN_PASSWORD, **form}
    return client.post("/login", data=data, headers=EN)


def post(client, path, **form):
    page = client.get("/account", headers=EN)
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), **form}, headers=EN)


def enrol_totp(client, clock) -> tuple[str, list[str]]:
    """Enrol an authenticator app from a logged-in session; returns its secret and the recovery codes."""
    page = client.get("/account/second-factor/totp", headers=EN)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', text).group(1)
    done = client.post("/account/second-factor/totp", headers=EN, data={
        "csrf_token": csrf_token(text), "code": pyotp.TOTP(secret).at(clock[0])})
    assert done.status_code == 200, done.get_data(as_text=True)
    codes = re.findall(r"<code>([a-z0-9-]{19})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def second_step(client, location, code, method="totp"):
    page = client.get(location, headers=EN)
    assert page.status_code == 200, page.get_data(as_text=True)
    query = query_of(location)
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "code": code, "method": method}
    form.update({k: v for k, v in query.items() if k in ("tx", "next")})
    return client.post("/login/second-factor", data=form, headers=EN)


def session_of(app, client):
    cookie = client.get_cookie("idp_session")
    with app.app_context():
        return app.extensions["idp"].sessions.load(cookie.value if cookie else None)


def enrolled_citizen(app, citizen, clock):
    """A citizen with an authenticator app; returns (secret, recovery codes)."""
    client = app.test_client()
    assert password_login(client).status_code == 302
    return enrol_totp(client, clock)


def test_totp_enrol_then_login_needs_the_code(app, citizen, clock):
    secret, _ = enrolled_citizen(app, citizen, clock)
    client = app.test_client()
    response = password_login(client)
    assert response.status_code == 303 and "/login/second-factor" in response.headers["Location"]
    assert session_of(app, client) is None  # the password alone does not log in
    assert client.get("/account").status_code == 302
    clock[0] += 30
    done = second_step(client, response.headers["Location"], pyotp.TOTP(secret).at(clock[0]))
    assert done.status_code == 302
    session = session_of(app, client)
    assert session.acr == ACR_MFA and session.amr == ["pwd", "otp", "mfa"] and session.method == "totp"
    events = [event for event, _ in audit_events(app, "login.")]
    assert events[-2:] == ["login.first_factor", "login.success"]
    account = client.get("/account", headers=EN).get_data(as_text=True)
    assert "Password and authenticator app" in account and "a password with a second factor" in account


@pytest.mark.parametrize("case", ["wrong", "expired", "replayed", "malformed"])
def test_bad_totp_codes_are_refused_and_audited(app, citizen, clock, case):
    secret, _ = enrolled_citizen(app, citizen, clock)
    totp = pyotp.TOTP(secret)
    client = app.test_client()
    location = password_login(client).headers["Location"]
    if case == "wrong":
        good = totp.at(clock[0])
        code, status, message, reason = f"{(int(good) + 1) % 10**6:06d}", 401, "The code is wrong", "second_factor_wrong"
    elif case == "expired":
        code, status, message, reason = totp.at(clock[0] - 120), 400, "has expired", "second_factor_expired"
    elif case == "replayed":
        code, status, message, reason = totp.at(clock[0]), 400, "already been used", "second_factor_replayed"
    else:
        code, status, message, reason = "12ab", 400, "6 digits", "second_factor_malformed"
    refused = second_step(client, location, code)
    assert refused.status_code == status and message in refused.get_data(as_text=True)
    assert session_of(app, client) is None
    event, data = audit_events(app, "login.failure")[-1]
    assert data["reason"] == reason and data["method"] == "totp"


def test_a_totp_code_is_used_once_even_within_its_window(app, citizen, clock):
    secret, _ = enrolled_citizen(app, citizen, clock)
    clock[0] += 30
    code = pyotp.TOTP(secret).at(clock[0])
    first = app.test_client()
    assert second_step(first, password_login(first).headers["Location"], code).status_code == 302
    second = app.test_client()
    refused = second_step(second, password_login(second).headers["Location"], code)
    assert refused.status_code == 400 and "already been used" in refused.get_data(as_text=True)


def test_recovery_code_logs_in_once(app, citizen, clock):
    _, codes = enrolled_citizen(app, citizen, clock)
    client = app.test_client()
    assert second_step(client, password_login(client).headers["Location"], codes[0].upper(),
                       method="recovery").status_code == 302
    assert session_of(app, client).amr == ["pwd", "otp", "mfa"]
    other = app.test_client()
    refused = second_step(other, password_login(other).headers["Location"], codes[0], method="recovery")
    assert refused.status_code == 400 and "already been used" in refused.get_data(as_text=True)
    assert audit_events(app, "login.failure")[-1][1]["reason"] == "second_factor_replayed"
    wrong = second_step(other, password_login(other).headers["Location"], "abcd-efgh-jkmn-pqrs", method="recovery")
    assert wrong.status_code == 401 and "The code is wrong" in wrong.get_data(as_text=True)


def test_wrong_codes_lock_the_account_like_wrong_passwords(app, citizen, clock):
    app.extensions["idp"].throttle.slowdown = False
    secret, _ = enrolled_citizen(app, citizen, clock)
    good = pyotp.TOTP(secret).at(clock[0] + 30)
    wrong = f"{(int(good) + 1) % 10**6:06d}"
    client = app.test_client()
    location = password_login(client).headers["Location"]
    statuses = [second_step(client, location, wrong).status_code for _ in range(6)]
    assert statuses[-1] == 429
    clock[0] += 30
    assert second_step(client, location, good).status_code == 429  # even the right code, while locked


def enrol_sms(app, client, sender, phone="13900139000"):
    sent = post(client, "/account/second-factor/sms", phone=phone, action="send")
    assert sent.status_code == 200 and "A code was sent" in sent.get_data(as_text=True)
    confirmed = post(client, "/account/second-factor/sms", phone=phone, action="confirm", code=sender.last_code())
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)


def sms_login_page(client):
    location = password_login(client).headers["Location"]
    page = client.get(location.replace("method=totp", "method=sms"), headers=EN)
    sent = client.post("/login/second-factor/sms", headers=EN,
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    return location.replace("method=totp", "method=sms"), sent


def test_sms_enrol_login_and_bad_codes(app, citizen, clock, sender):
    client = app.test_client()
    password_login(client)
    enrol_sms(app, client, sender)
    client = app.test_client()
    location, sent = sms_login_page(client)
    assert sent.status_code == 200 and "139****9000" in sent.get_data(as_text=True)
    code = sender.last_code()
    wrong = second_step(client, location, f"{(int(code) + 1) % 10**6:06d}", method="sms")
    assert wrong.status_code == 401 and "The code is wrong" in wrong.get_data(as_text=True)
    assert second_step(client, location, code, method="sms").status_code == 302
    assert session_of(app, client).amr == ["pwd", "sms", "mfa"]
    other = app.test_client()
    replay = second_step(other, password_login(other).headers["Location"], code, method="sms")
    assert replay.status_code == 400 and "already been used" in replay.get_data(as_text=True)
    location, _ = sms_login_page(other)
    clock[0] += sms_module.TTL + 1
    expired = second_step(other, location, sender.last_code(), method="sms")
    assert expired.status_code == 400 and "has expired" in expired.get_data(as_text=True)
    reasons = [data["reason"] for _, data in audit_events(app, "login.failure")]
    assert reasons[-3:] == ["second_factor_wrong", "second_factor_replayed", "second_factor_expired"]


def test_an_sms_flood_to_one_number_is_refused(app, citizen, clock, sender):
    client = app.test_client()
    password_login(client)
    enrol_sms(app, client, sender)
    statuses = []
    for _ in range(sms_module.PER_NUMBER + 2):
        statuses.append(sms_login_page(app.test_client())[1].status_code)
    assert statuses[-1] == 429
    assert len(sender.sent) == sms_module.PER_NUMBER  # no message beyond the limit
    refused = sms_login_page(app.test_client())[1]
    assert "Too many text messages" in refused.get_data(as_text=True)
    assert audit_events(app, "sms.refused")[-1][1]["reason"] == "sms_throttled"


def test_step_up_from_a_password_session_keeps_the_session(app, rp, clock):
    client = rp.browser.client
    first = decode_jwt(app, rp.login_tokens()[0]["id_token"]).claims
    assert first["acr"] == ACR_PASSWORD
    secret, _ = enrol_totp(client, clock)
    params, verifier = rp.auth_params(acr_values="urn:idp:loa:2")
    response = rp.browser.authorize(**params)
    login = client.get(response.headers["Location"])
    assert login.status_code == 302 and "/login/second-factor" in login.headers["Location"]
    clock[0] += 30
    done = second_step(client, login.headers["Location"], pyotp.TOTP(secret).at(clock[0]))
    assert done.status_code == 302
    answer = client.get(done.headers["Location"])
    code = query_of(answer.headers["Location"])["code"]
    tokens = rp.exchange(code, verifier).get_json()
    claims = decode_jwt(app, tokens["id_token"]).claims
    assert claims["acr"] == ACR_MFA and claims["amr"] == ["pwd", "otp", "mfa"] and claims["sid"] == first["sid"]
    assert audit_events(app, "login.success")[-1][1]["step_up"] is True


def test_removal_needs_the_second_level_and_then_works(app, citizen, clock):
    client = app.test_client()
    password_login(client)
    secret, _ = enrol_totp(client, clock)
    # the session that enrolled is a password session: removing needs the second factor first
    refused = post(client, "/account/second-factor/remove", kind="totp")
    assert refused.status_code == 302 and "/login/second-factor" in refused.headers["Location"]
    clock[0] += 30
    assert second_step(client, refused.headers["Location"], pyotp.TOTP(secret).at(clock[0])).status_code == 302
    removed = post(client, "/account/second-factor/remove", kind="totp")
    assert removed.status_code == 303
    assert 'id="enrol-totp"' in client.get("/account", headers=EN).get_data(as_text=True)
    fresh = app.test_client()
    assert password_login(fresh).status_code == 302 and session_of(app, fresh).acr == ACR_PASSWORD
    assert audit_events(app, "second_factor.removed")[-1][1]["kind"] == "totp"


def test_enrolment_with_a_wrong_code_is_refused(app, citizen, clock):
    client = app.test_client()
    password_login(client)
    page = client.get("/account/second-factor/totp", headers=EN)
    refused = client.post("/account/second-factor/totp", headers=EN,
                          data={"csrf_token": csrf_token(page.get_data(as_text=True)), "code": "000000x"})
    assert refused.status_code == 400 and "6 digits" in refused.get_data(as_text=True)
    assert audit_events(app, "second_factor.enrol_failed")[-1][1]["reason"] == "second_factor_malformed"


def test_second_factor_page_without_a_password_first(app, citizen):
    page = app.test_client().get("/login/second-factor", headers=EN)
    assert page.status_code == 400 and "Log in again" in page.get_data(as_text=True)


def test_admins_may_be_required_to_use_a_second_factor(tmp_path, clock):
    from helpers import create_app, make_settings, upgrade
    from idp.identity.service import create_person
    app = create_app(make_settings(tmp_path, require_mfa_for_admins=True))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        person = create_person(id_number=CITIZEN_ID, name="张三", password=CITIZEN_PASSWORD)
        person.is_admin = True
        from idp.extensions import db
        db.session.commit()
    client = app.test_client()
    password_login(client)
    secret, _ = enrol_totp(client, clock)
    console = client.get("/admin/keys", headers=EN)
    action = client.post("/admin/keys/rotate", headers=EN,
                         data={"csrf_token": csrf_token(console.get_data(as_text=True))})
    assert action.status_code == 303 and "acr=urn" in action.headers["Location"]
    login = client.get(action.headers["Location"])
    assert login.status_code == 302 and "/login/second-factor" in login.headers["Location"]
    clock[0] += 30
    done = second_step(client, login.headers["Location"], pyotp.TOTP(secret).at(clock[0]))
    assert done.status_code == 302 and done.headers["Location"].startswith("/admin")
    assert session_of(app, client).acr == ACR_MFA
