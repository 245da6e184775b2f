"""Certificate login end to end: signed challenges, mTLS through a trusted proxy, step-up, enterprises.

The demo PKI (three CAs encoding the same citizen three ways) is generated once per test session.
"""
from __future__ import annotations

import base64
import ipaddress
import re
import time
import tomllib
from urllib.parse import quote, urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

import helpers
from helpers import CITIZEN_ID, CITIZEN_PASSWORD, decode_jwt, make_settings, query_of, register
from ocsp_responder import OcspResponder
from idp import create_app
from idp.authn import challenge as challenges
from idp.authn.result import ACR_CERTIFICATE, ACR_HARDWARE_CERTIFICATE, ACR_PASSWORD
from idp.migrate import upgrade
from idp.pki import TrustStore, demo, parse_profile

PROXY = "10.0.0.7"
DEMO_CAS = ("demo-gmt0015", "demo-cn", "demo-serial")
EN = {"Accept-Language": "en"}


class DemoPki(helpers.DemoPki):
    def cert(self, ca: str, role: str) -> str:
        """PEM text, as a TLS terminator passes it on."""
        return super().cert(ca, role).decode()


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> DemoPki:
    return DemoPki.generate(tmp_path_factory.mktemp("demo-pki"))


@pytest.fixture
def app(tmp_path, pki):
    settings = make_settings(tmp_path, trust_profiles_dir=str(pki.profiles),
                             trusted_proxies=(ipaddress.ip_network(PROXY + "/32"),))
    app = create_app(settings)
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    yield app
    app.extensions["idp"].notifier.wait_idle(5)


# -- helpers ---------------------------------------------------------------------------------------

def new_challenge(client, tx=None) -> dict:
    response = client.get("/login/certificate/challenge?" + urlencode({"tx": tx} if tx else {}),
                          headers={"Accept": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def challenge_login(client, pki, ca, role="person", tx=None, *, challenge=None, tamper=None):
    challenge = challenge or new_challenge(client, tx)
    body = dict(pki.sign(ca, role, challenge["challenge"]), challenge_id=challenge["challenge_id"])
    if tx:
        body["tx"] = tx
    if tamper:
        tamper(body)
    return client.post("/login/certificate/challenge", json=body, headers=EN)


def header_login(client, pem: str, tx=None, remote=PROXY, raw_header=None, accept_json=True):
    headers = {"X-SSL-Client-Cert": raw_header if raw_header is not None else quote(pem, safe="")}
    headers.update(EN)
    if accept_json:
        headers["Accept"] = "application/json"
    return client.get("/login/certificate/tls?" + urlencode({"tx": tx} if tx else {}), headers=headers,
                      environ_base={"REMOTE_ADDR": remote})


def start_authorize(client, rp, **extra):
    params, verifier = rp.auth_params(**extra)
    response = client.get("/authorize?" + urlencode(params))
    assert response.status_code == 302
    return response, params, verifier


def finish(client, rp, login_response, params, verifier) -> dict:
    """Follow the login response back through /authorize/resume to the client; return the ID token claims."""
    if login_response.status_code == 200 and login_response.is_json:
        target = login_response.get_json()["redirect_to"]
    else:
        assert login_response.status_code == 302, login_response.get_data(as_text=True)
        target = login_response.headers["Location"]
    response = client.get(target)
    assert response.status_code == 302, response.get_data(as_text=True)
    query = query_of(response.headers["Location"])
    assert query["state"] == params["state"], query
    token = client.post("/token", headers=rp.basic, data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier})
    assert token.status_code == 200, token.get_json()
    return decode_jwt(rp.app, token.get_json()["id_token"]).claims


def certificate_tokens(app, rp, login) -> dict:
    client = app.test_client()
    response, params, verifier = start_authorize(client, rp)
    tx = query_of(response.headers["Location"])["tx"]
    return finish(client, rp, login(client, tx), params, verifier)


def audit_events(app, event="login.failure") -> list[dict]:
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    with app.app_context():
        return [e.data for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.event == event)
                                                   .order_by(AuditEvent.id))]


def assert_refused(app, response, code, *, status=None, message=None):
    assert response.status_code == (status or response.status_code) and response.status_code in (400, 401)
    body = response.get_json()
    assert body["error"] == code, body
    if message:
        assert message in body["error_description"], body
    last = audit_events(app)[-1]
    assert last["method"] == "certificate" and last["reason"] == code and last["ip"]
    return last


@pytest.fixture
def portal(app, browser, citizen):
    return register(app, browser, scopes=("openid", "profile", "entity"))


# -- the same person through every CA --------------------------------------------------------------

def test_same_person_gets_the_same_sub_from_every_ca_by_signed_challenge(app, pki, portal):
    password_sub = portal.login_tokens()[0]
    password_sub = decode_jwt(app, password_sub["id_token"]).claims["sub"]
    subs = set()
    for ca in DEMO_CAS:
        claims = certificate_tokens(app, portal, lambda client, tx: challenge_login(client, pki, ca, tx=tx))
        assert claims["amr"][-1] == "x509" and claims["acr"] in (ACR_CERTIFICATE, ACR_HARDWARE_CERTIFICATE)
        subs.add(claims["sub"])
    assert subs == {password_sub}
    successes = audit_events(app, "login.success")
    assert [e["profile"] for e in successes if e["method"] == "certificate"] == list(DEMO_CAS)


def test_same_person_gets_the_same_sub_from_every_ca_by_trusted_proxy_header(app, pki, portal):
    subs = {ca: certificate_tokens(app, portal, lambda client, tx: header_login(client, pki.cert(ca, "person"),
                                                                               tx=tx))["sub"]
            for ca in DEMO_CAS}
    assert len(set(subs.values())) == 1


def test_first_certificate_login_creates_the_person_once(app, pki):
    from idp.identity.service import find_person_by_id_number
    client = app.test_client()
    response = header_login(client, pki.cert("demo-cn", "person"), accept_json=False)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    page = client.get("/account").get_data(as_text=True)
    assert "张三" in page
    assert challenge_login(app.test_client(), pki, "demo-gmt0015").status_code == 200
    with app.app_context():
        person = find_person_by_id_number(CITIZEN_ID)
        assert person.name == "张三" and person.password_hash is None


@pytest.mark.parametrize("ca, method, level, zh_method", [
    ("demo-cn", "USB key", "Level 3 of 3", "USB Key"),           # key in hardware (amr hwk)
    ("demo-serial", "Digital certificate", "Level 2 of 3", "数字证书"),  # software certificate
])
def test_account_page_names_the_login_method_in_words(app, pki, citizen, ca, method, level, zh_method):
    client = app.test_client()
    assert challenge_login(client, pki, ca).status_code == 200
    page = client.get("/account", headers=EN).get_data(as_text=True)
    assert method in page and level in page and "urn:idp:loa" not in page and "certificate (" not in page
    assert zh_method in client.get("/account", headers={"Accept-Language": "zh"}).get_data(as_text=True)


def test_enterprise_session_names_the_enterprise_on_the_account_page(app, pki, citizen):
    _company(app)
    client = app.test_client()
    assert challenge_login(client, pki, "demo-gmt0015", "entity").status_code == 200
    page = client.get("/account", headers=EN).get_data(as_text=True)
    assert "for " + demo.COMPANY_NAME in page


def test_profile_without_creation_refuses_unknown_people(app, pki):
    path = pki.profiles / "demo-serial.toml"
    raw = tomllib.loads(path.read_text())
    raw["allow_create"] = False
    app.extensions["idp"].trust = TrustStore([parse_profile(raw, base=path.parent)])
    response = header_login(app.test_client(), pki.cert("demo-serial", "person"))
    assert_refused(app, response, "unknown_person", status=401, message="No account")


def test_session_records_the_certificate(app, pki, citizen):
    client = app.test_client()
    response = challenge_login(client, pki, "demo-cn")
    assert response.status_code == 200 and response.get_json()["redirect_to"].endswith("/account")
    core = app.extensions["idp"]
    with app.app_context():
        from idp.identity.service import find_person_by_id_number
        (session,) = core.sessions.for_person(find_person_by_id_number(CITIZEN_ID).id)
    assert session.method == "certificate" and session.acr == ACR_HARDWARE_CERTIFICATE
    assert session.amr == ["hwk", "x509"]
    assert session.certificate["profile"] == "demo-cn" and "Demo CN-pattern CA" in session.certificate["issuer"]
    expected = x509.load_pem_x509_certificate(pki.cert("demo-cn", "person").encode()).serial_number
    assert int(session.certificate["serial"], 16) == expected and len(session.certificate["fingerprint"]) == 64


# -- refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("ca,role,code,message", [
    ("demo-serial", "expired", "expired", "expired"),
    ("demo-cn", "not_yet_valid", "not_yet_valid", "not yet valid"),
    ("demo-gmt0015", "revoked", "revoked", "revoked"),
    ("demo-cn", "revoked", "revoked", "revoked"),
    ("untrusted", "person", "untrusted", "trusted certificate authority"),
    ("demo-cn", "rogue_issued", "untrusted", "trusted certificate authority"),
    ("demo-serial", "bad_key_usage", "bad_key_usage", "not allowed to be used for login"),
    ("demo-gmt0015", "bad_id_check", "bad_id_check", "identity number in the certificate is not valid"),
    ("demo-serial", "no_identity", "no_identity", "No identity number"),
])
def test_invalid_certificates_are_refused_by_challenge(app, pki, citizen, ca, role, code, message):
    response = challenge_login(app.test_client(), pki, ca, role)
    assert_refused(app, response, code, status=401, message=message)


@pytest.mark.parametrize("ca,role,code", [
    ("demo-cn", "expired", "expired"), ("demo-serial", "not_yet_valid", "not_yet_valid"),
    ("demo-serial", "revoked", "revoked"), ("untrusted", "person", "untrusted"),
    ("demo-cn", "rogue_issued", "untrusted"), ("demo-cn", "bad_key_usage", "bad_key_usage"),
    ("demo-cn", "bad_id_check", "bad_id_check"),
])
def test_invalid_certificates_are_refused_through_the_proxy(app, pki, ca, role, code):
    response = header_login(app.test_client(), pki.cert(ca, role))
    assert_refused(app, response, code, status=401)


def test_refusal_in_the_browser_is_a_readable_login_page(app, pki):
    client = app.test_client()
    response = header_login(client, pki.cert("demo-serial", "revoked"), accept_json=False)
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "The certificate has been revoked." in page
    assert 'data-challenge="idp-login:' in page and "Traceback" not in page
    zh = client.get("/login/certificate/tls", headers={"X-SSL-Client-Cert": quote(pki.cert("demo-serial", "expired")),
                                                       "Accept-Language": "zh"},
                    environ_base={"REMOTE_ADDR": PROXY})
    assert "证书已过期。" in zh.get_data(as_text=True)


@pytest.mark.parametrize("garbage", [
    "-----BEGIN CERTIFICATE-----\nMIIBnotreallyacertificate\n-----END CERTIFICATE-----\n",
    base64.b64encode(b"\x30\x82\x01\x00" + b"\x00" * 40).decode(),
    "not a certificate at all",
])
def test_malformed_pem_or_der_is_refused(app, pki, garbage):
    assert_refused(app, header_login(app.test_client(), garbage), "malformed", status=400, message="malformed")
    response = challenge_login(app.test_client(), pki, "demo-serial",
                               tamper=lambda body: body.update(certificate=garbage))
    assert_refused(app, response, "malformed", status=400)


def test_malformed_signature_and_incomplete_requests_are_refused(app, pki):
    response = challenge_login(app.test_client(), pki, "demo-serial",
                               tamper=lambda body: body.update(signature="%%% not base64"))
    assert_refused(app, response, "malformed", status=400)
    response = app.test_client().post("/login/certificate/challenge", json={"challenge_id": "x"})
    assert_refused(app, response, "invalid_request", status=400)
    response = app.test_client().post("/login/certificate/challenge", json=["not", "an", "object"])
    assert_refused(app, response, "invalid_request", status=400)


def test_oversized_header_is_refused(app, pki):
    response = header_login(app.test_client(), "", raw_header="A" * 40_000)
    assert_refused(app, response, "too_large", status=400, message="too large")


def test_certificate_header_from_an_untrusted_address_is_ignored(app, pki):
    client = app.test_client()
    response = header_login(client, pki.cert("demo-cn", "person"), remote="192.0.2.50")
    last = assert_refused(app, response, "untrusted_proxy", status=401, message="untrusted address")
    assert last["ip"] == "192.0.2.50"
    assert client.get("/account").status_code == 302  # no session was started


def test_no_client_certificate_is_refused(app):
    response = app.test_client().get("/login/certificate/tls", headers={"Accept": "application/json", **EN},
                                     environ_base={"REMOTE_ADDR": PROXY})
    assert_refused(app, response, "no_certificate", status=401, message="No client certificate")


def test_certificate_from_the_wsgi_server_handshake_is_accepted(app, pki):
    client = app.test_client()
    response = client.get("/login/certificate/tls", headers={"Accept": "application/json"},
                          environ_base={"SSL_CLIENT_CERT": pki.cert("demo-serial", "person"),
                                        "REMOTE_ADDR": "192.0.2.9"})
    assert response.status_code == 200 and response.get_json()["acr"] == ACR_CERTIFICATE


# -- challenges ------------------------------------------------------------------------------------

def test_challenge_replay_is_refused(app, pki):
    client = app.test_client()
    challenge = new_challenge(client)
    assert challenge_login(client, pki, "demo-serial", challenge=challenge).status_code == 200
    replay = challenge_login(app.test_client(), pki, "demo-serial", challenge=challenge)
    assert_refused(app, replay, "challenge_replayed", status=400, message="already been used")


def test_stale_challenge_is_refused(app, pki, monkeypatch):
    client = app.test_client()
    challenge = new_challenge(client)
    real = time.time
    monkeypatch.setattr(challenges, "_clock", lambda: real() + challenges.TTL + 1)
    response = challenge_login(client, pki, "demo-serial", challenge=challenge)
    assert_refused(app, response, "challenge_expired", status=400, message="expired")


def test_unknown_challenge_is_refused(app, pki):
    response = challenge_login(app.test_client(), pki, "demo-serial",
                               challenge={"challenge_id": "no-such-challenge", "challenge": "made up"})
    assert_refused(app, response, "challenge_unknown", status=400)


def test_challenge_of_another_transaction_is_refused(app, pki, portal):
    client = app.test_client()
    first, _, _ = start_authorize(client, portal)
    second, _, _ = start_authorize(client, portal)
    tx_a, tx_b = query_of(first.headers["Location"])["tx"], query_of(second.headers["Location"])["tx"]
    challenge = new_challenge(client, tx_a)
    response = challenge_login(client, pki, "demo-cn", tx=tx_b, challenge=challenge)
    assert_refused(app, response, "challenge_other_transaction", status=400, message="another login")
    pseudo = new_challenge(client)
    response = challenge_login(client, pki, "demo-cn", tx=tx_b, challenge=pseudo)
    assert_refused(app, response, "challenge_other_transaction", status=400)


def test_challenge_of_an_ended_login_is_refused(app, pki, portal):
    client = app.test_client()
    started, _, _ = start_authorize(client, portal)
    tx = query_of(started.headers["Location"])["tx"]
    challenge = new_challenge(client, tx)
    with app.app_context():
        app.extensions["idp"].logins.delete(tx)
    response = challenge_login(client, pki, "demo-cn", tx=tx, challenge=challenge)
    assert_refused(app, response, "login_expired", status=400, message="expired")
    assert "idp_session" not in response.headers.get("Set-Cookie", "")
    assert audit_events(app, "login.success") == []


def test_signature_by_another_key_is_refused(app, pki):
    person_cert = pki.cert("demo-serial", "person")
    response = challenge_login(app.test_client(), pki, "demo-serial", "entity",
                               tamper=lambda body: body.update(certificate=person_cert, chain=[]))
    last = assert_refused(app, response, "bad_signature", status=401, message="not made with the key")
    assert last["profile"] == "demo-serial"


def test_signature_over_another_challenge_is_refused(app, pki):
    client = app.test_client()
    challenge, other = new_challenge(client), new_challenge(client)
    body = dict(pki.sign("demo-gmt0015", "person", other["challenge"]), challenge_id=challenge["challenge_id"])
    response = client.post("/login/certificate/challenge", json=body)
    assert_refused(app, response, "bad_signature", status=401)


def test_login_page_hands_the_challenge_to_the_signing_software_and_accepts_its_output(app, pki, portal):
    import html
    import json
    import re
    client = app.test_client()
    response, params, verifier = start_authorize(client, portal)
    page = client.get(response.headers["Location"] + "&tab=person&method=usbkey", headers=EN).get_data(as_text=True)
    form_html = re.search(r'<form[^>]*id="person-usbkey-form".*?</form>', page, re.S).group(0)
    text = html.unescape(re.search(r'data-challenge="([^"]+)"', form_html).group(1))
    assert text.startswith("idp-login:http://localhost:")
    # the signing software reads the challenge from the form; the command line is only in the collapsed help
    help_text = re.search(r"<details[^>]*>(.*?)</details>", form_html, re.S).group(1)
    assert "idp-sign --p12" in help_text and f"--challenge '{text}'" in html.unescape(help_text)
    assert page.count("idp-sign") == page.count("<details") == 2  # one help per USB-key panel
    assert 'id="panel-person-usbkey"' in page and not re.search(r'id="panel-person-usbkey"\s+hidden', page)
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]+)">', form_html))
    assert form["tx"] == query_of(response.headers["Location"])["tx"] and form["tab"] == "person"
    form["signed"] = json.dumps(pki.sign("demo-cn", "person", text))
    del form["csrf_token"]
    assert client.post("/login/certificate/challenge", data=form).status_code == 400  # CSRF required
    form["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    claims = finish(client, portal, client.post("/login/certificate/challenge", data=form), params, verifier)
    assert claims["acr"] == ACR_HARDWARE_CERTIFICATE


def test_refused_usb_key_login_reopens_the_tab_it_came_from(app, pki):
    import re
    client = app.test_client()
    page = client.get("/login?tab=enterprise&method=usbkey", headers=EN).get_data(as_text=True)
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]+)">',
                           page.split('id="enterprise-usbkey-form"')[1].split("</form>")[0]))
    form["signed"] = "not the signer's output"
    refused = client.post("/login/certificate/challenge", data=form, headers=EN)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "malformed" in body
    assert not re.search(r'id="panel-enterprise"\s+hidden', body)
    assert not re.search(r'id="panel-enterprise-usbkey"\s+hidden', body)
    assert re.search(r'id="panel-person"\s+hidden', body)


# -- step-up ---------------------------------------------------------------------------------------

def test_step_up_from_password_keeps_the_session_and_raises_acr(app, browser, pki, citizen):
    portal_a = register(app, browser, name="Portal A")
    portal_b = register(app, browser, name="Portal B", redirect_uri="http://localhost:9002/oidc/callback")
    first = decode_jwt(app, portal_a.login_tokens()[0]["id_token"]).claims
    assert first["acr"] == ACR_PASSWORD
    client = browser.client
    response, params, verifier = start_authorize(client, portal_b, acr_values="urn:idp:loa:2")
    login_url = response.headers["Location"]
    page = client.get(login_url, headers=EN).get_data(as_text=True)
    assert "Log in with a digital certificate" in page and 'data-challenge="idp-login:' in page
    # a password cannot give the level asked for: the certificate method is open, not the password form
    assert re.search(r'id="panel-person-password"\s+hidden', page)
    tx = query_of(login_url)["tx"]
    claims = finish(client, portal_b, challenge_login(client, pki, "demo-cn", tx=tx), params, verifier)
    assert claims["acr"] == ACR_HARDWARE_CERTIFICATE and claims["amr"] == ["hwk", "x509"]
    assert claims["sid"] == first["sid"] and claims["sub"] == first["sub"]
    core = app.extensions["idp"]
    with app.app_context():
        from idp.identity.service import find_person_by_id_number
        (session,) = core.sessions.for_person(find_person_by_id_number(CITIZEN_ID).id)
    assert session.clients == {portal_a.client_id, portal_b.client_id}
    assert session.method == "certificate" and session.certificate["profile"] == "demo-cn"
    success = audit_events(app, "login.success")[-1]
    assert success["step_up"] is True and success["client_id"] == portal_b.client_id
    again = decode_jwt(app, portal_a.login_tokens()[0]["id_token"]).claims  # no new login needed
    assert again["acr"] == ACR_HARDWARE_CERTIFICATE and again["sid"] == first["sid"]


def test_step_up_via_proxy_header_with_software_certificate(app, browser, pki, citizen):
    portal = register(app, browser)
    portal.login_tokens()
    response, params, verifier = start_authorize(browser.client, portal, acr_values="urn:idp:loa:2")
    tx = query_of(response.headers["Location"])["tx"]
    login = header_login(browser.client, pki.cert("demo-serial", "person"), tx=tx, accept_json=False)
    assert "/authorize/resume" in login.headers["Location"]
    claims = finish(browser.client, portal, login, params, verifier)
    assert claims["acr"] == ACR_CERTIFICATE and claims["amr"] == ["swk", "x509"]


def test_step_up_with_someone_elses_certificate_is_refused(app, browser, pki):
    from idp.identity.service import create_person
    with app.app_context():
        create_person(id_number="110101199003077571", name="李四", password=CITIZEN_PASSWORD)
    portal = register(app, browser)
    portal.browser.login("/login", username="110101199003077571")
    response, params, _ = start_authorize(browser.client, portal, acr_values="urn:idp:loa:2")
    tx = query_of(response.headers["Location"])["tx"]
    refused = challenge_login(browser.client, pki, "demo-cn", tx=tx)
    assert_refused(app, refused, "different_person", status=401, message="belongs to someone else")
    assert "李四" in browser.client.get("/account").get_data(as_text=True)  # still logged in as before


# -- enterprises -----------------------------------------------------------------------------------

def _company(app, link=True):
    from idp.identity.service import create_entity, link_representative
    with app.app_context():
        entity = create_entity(uscc=demo.COMPANY_USCC, name=demo.COMPANY_NAME)
        if link:
            link_representative(uscc=demo.COMPANY_USCC, id_number=CITIZEN_ID, role="legal_representative")
        return entity.public_id


def _personal_portal(app, browser):
    """A portal that does not ask for the enterprise context (one that does offers the legal
    representative the choice of whom she acts for after a password login)."""
    return register(app, browser, name="Portal B", redirect_uri="http://localhost:9002/oidc/callback")


def test_enterprise_certificate_naming_the_acting_person(app, browser, pki, portal):
    _company(app)
    person_sub = decode_jwt(app, _personal_portal(app, browser).login_tokens()[0]["id_token"]).claims["sub"]
    claims = certificate_tokens(app, portal, lambda client, tx: challenge_login(client, pki, "demo-gmt0015",
                                                                                "entity", tx=tx))
    assert claims["entity"]["uscc"] == demo.COMPANY_USCC and claims["entity"]["name"] == demo.COMPANY_NAME
    assert claims["sub"] == person_sub  # who acts for the enterprise
    assert claims["representations"] == [{"uscc": demo.COMPANY_USCC, "name": demo.COMPANY_NAME,
                                          "role": "legal_representative"}]


def test_enterprise_certificate_acts_for_the_logged_in_person(app, browser, pki, portal):
    _company(app)
    first = decode_jwt(app, _personal_portal(app, browser).login_tokens()[0]["id_token"]).claims
    assert "entity" not in first
    response, params, verifier = start_authorize(browser.client, portal, acr_values="urn:idp:loa:2")
    tx = query_of(response.headers["Location"])["tx"]
    login = header_login(browser.client, pki.cert("demo-serial", "entity"), tx=tx)
    claims = finish(browser.client, portal, login, params, verifier)
    assert claims["entity"]["uscc"] == demo.COMPANY_USCC and claims["sub"] == first["sub"]
    assert claims["sid"] == first["sid"]


def test_enterprise_certificate_without_a_person_or_representation_is_refused(app, pki, citizen):
    _company(app, link=False)
    refused = header_login(app.test_client(), pki.cert("demo-cn", "entity"))
    assert_refused(app, refused, "no_acting_person", status=401, message="Log in as a person first")
    refused = challenge_login(app.test_client(), pki, "demo-gmt0015", "entity")
    assert_refused(app, refused, "not_representative", status=401, message="not registered as a representative")


# -- OCSP ------------------------------------------------------------------------------------------


def test_ocsp_revoked_certificate_is_refused_and_good_one_logs_in(app, pki):
    issuer = x509.load_pem_x509_certificate(pki.read("demo-serial/root.pem"))
    key = serialization.load_pem_private_key(pki.read("private/demo-serial/root.key.pem"), b"demo")
    revoked = x509.load_pem_x509_certificate(pki.cert("demo-serial", "revoked").encode()).serial_number
    responder = OcspResponder(issuer, key, {revoked})
    try:
        path = pki.profiles / "demo-serial.toml"
        raw = tomllib.loads(path.read_text())
        raw["revocation"].update({"mode": "ocsp", "ocsp_url": responder.url, "crl_urls": []})
        app.extensions["idp"].trust = TrustStore([parse_profile(raw, base=path.parent)])
        refused = challenge_login(app.test_client(), pki, "demo-serial", "revoked")
        last = assert_refused(app, refused, "revoked", status=401, message="revoked")
        assert last.get("profile", "demo-serial") == "demo-serial"
        assert header_login(app.test_client(), pki.cert("demo-serial", "person")).status_code == 200
    finally:
        responder.stop()


def test_certificate_login_returns_to_a_local_next_page(app, pki, citizen):
    client = app.test_client()
    challenge = new_challenge(client)
    body = dict(pki.sign("demo-gmt0015", "person", challenge["challenge"]), challenge_id=challenge["challenge_id"],
                next="/admin/")
    response = client.post("/login/certificate/challenge", json=body, headers=EN)
    assert response.status_code == 200 and response.get_json()["redirect_to"].endswith("/admin/")
    challenge = new_challenge(client)
    body = dict(pki.sign("demo-gmt0015", "person", challenge["challenge"]), challenge_id=challenge["challenge_id"],
                next="https://evil.example/")
    response = client.post("/login/certificate/challenge", json=body, headers=EN)
    assert response.get_json()["redirect_to"].endswith("/account")
    page = client.get("/login?next=/admin/", headers=EN).get_data(as_text=True)
    assert 'name="next" value="/admin/"' in page
