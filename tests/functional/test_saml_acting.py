"""SAML service providers learn whom the person acts for, as OpenID clients asking for the ``entity``
scope do: an SP allowed the ``entity`` attribute has the login offer the choice, and the signed
assertion carries the enterprise's credit code, name, the role and the authorisation's roles and id;
acting for herself, or at an SP not allowed it, nothing; an authorisation revoked or expired since
she chose it is not asserted. Driven with pysaml2 as the SP (it checks both signatures)."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

import pytest
from saml2 import BINDING_HTTP_POST

import helpers
from helpers import CITIZEN_ID, audit_events, csrf_token, decode_jwt, enterprise_with_agent, query_of, register
from test_representative_acting import certificate_step_up
from test_saml import ServiceProvider, posted_fields, send

USCC, NAME = "91110000100000000R", "示例科技有限公司"
AGENT_ID, AGENT_NAME, AGENT_PASSWORD = "110105198503151230", "李四", "agent pass phrase 1"
ENTITY_ATTRIBUTES = ("entity_uscc", "entity_name", "entity_role", "entity_roles", "authorisation_id")


@pytest.fixture
def app(pki_app):
    return pki_app


@pytest.fixture
def realm(app, citizen):
    """张三 (legal representative) has authorised 李四 as declarant and payer for every portal; 李四
    accepted."""
    with app.app_context():
        entity, agent, granted = enterprise_with_agent(
            uscc=USCC, name=NAME, agent=(AGENT_ID, AGENT_NAME, AGENT_PASSWORD), roles=["declarant", "payer"])
        return {"entity": entity.public_id, "authorisation": granted.public_id}


@pytest.fixture
def sp(app, tmp_path, realm):
    provider = ServiceProvider(app, tmp_path, name="tax", allow_unsolicited=True)
    provider.id = provider.register(name="电子税务局", attributes=["name", "entity"], idp_initiated=True)
    return provider


def login_at(browser, sp, username=AGENT_ID, password=AGENT_PASSWORD, **request):
    """The SP's AuthnRequest, idp's login form; returns (request id, the answer of /saml/sso/resume)."""
    req_id, sent = sp.authn_request(**request)
    response = send(browser, sent)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    response = browser.login(response.headers["Location"], username=username, password=password)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/saml/sso/resume"
    return req_id, browser.client.get(response.headers["Location"])


def choose(browser, response, choice: str):
    """On the chooser the SAML login sent her to, choose; returns (the next answer, the chooser page)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert urlsplit(location).path == "/account/acting-for" and "tx" in query_of(location)
    page = browser.client.get(location).get_data(as_text=True)
    chosen = browser.client.post("/account/acting-for", data={
        "csrf_token": csrf_token(page), "tx": query_of(location)["tx"], "acting_for": choice})
    return chosen, page


def resumed(browser, chosen):
    assert chosen.status_code == 302 and urlsplit(chosen.headers["Location"]).path == "/saml/sso/resume"
    return browser.client.get(chosen.headers["Location"])


def assertion(sp, page, req_id=None) -> tuple[dict, str]:
    """(the attributes pysaml2 read from the signed response, the response XML)."""
    assert page.status_code == 200, page.get_data(as_text=True)
    fields = posted_fields(page.get_data(as_text=True))
    outstanding = {req_id: "/"} if req_id else {}
    read = sp.client.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding=outstanding)
    assert read.assertion.signature is not None, "the assertion itself is signed"
    return read.get_identity(), base64.b64decode(fields["SAMLResponse"]).decode()


def agent_acting_at(browser, sp, realm) -> dict:
    """李四 logs in at the SP, chooses the enterprise; returns the attributes of the assertion."""
    req_id, response = login_at(browser, sp)
    chosen, page = choose(browser, response, realm["entity"])
    assert NAME in page and "电子税务局" in page
    ava, _xml = assertion(sp, resumed(browser, chosen), req_id)
    return ava


def assert_no_enterprise(ava: dict, xml: str) -> None:
    assert not set(ENTITY_ATTRIBUTES) & set(ava), ava
    assert USCC not in xml and NAME not in xml and "urn:idp:attribute:entity" not in xml


def test_the_chosen_enterprise_is_in_the_signed_assertion(app, browser, sp, realm):
    ava = agent_acting_at(browser, sp, realm)
    assert ava["name"] == [AGENT_NAME]
    assert ava["entity_uscc"] == [USCC] and ava["entity_name"] == [NAME]
    assert ava["entity_role"] == ["authorised_agent"] and ava["entity_roles"] == ["declarant", "payer"]
    assert ava["authorisation_id"] == [realm["authorisation"]]
    # single sign-on: the next request is answered at once (she chose already), with the enterprise again
    req_id, sent = sp.authn_request()
    ava, xml = assertion(sp, send(browser, sent), req_id)
    assert ava["entity_uscc"] == [USCC]
    for name in ENTITY_ATTRIBUTES:   # the attribute names of this server, in the uri format
        assert f'Name="urn:idp:attribute:{name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"' in xml
    audited = [data for _event, data in audit_events(app, "saml.assertion")]
    assert [(a.get("entity"), a.get("authorisation")) for a in audited] == [(USCC, realm["authorisation"])] * 2


def test_acting_for_herself_asserts_no_enterprise(app, browser, sp, realm):
    req_id, response = login_at(browser, sp)
    chosen, _page = choose(browser, response, "self")
    ava, xml = assertion(sp, resumed(browser, chosen), req_id)
    assert ava["name"] == [AGENT_NAME]
    assert_no_enterprise(ava, xml)
    assert "entity" not in audit_events(app, "saml.assertion")[0][1]


def test_an_sp_not_allowed_the_enterprise_is_told_nothing_and_offers_no_choice(app, browser, sp, realm, tmp_path):
    agent_acting_at(browser, sp, realm)              # she acts for the enterprise in this session
    plain = ServiceProvider(app, tmp_path, name="archives")
    plain.register(name="档案系统", attributes=["name", "email", "phone", "id_number"])
    req_id, sent = plain.authn_request()
    ava, xml = assertion(plain, send(browser, sent), req_id)   # no chooser on the way
    assert ava["name"] == [AGENT_NAME]
    assert_no_enterprise(ava, xml)


def test_a_revoked_authorisation_is_not_asserted(app, browser, sp, realm):
    from idp.identity import authorisations
    agent_acting_at(browser, sp, realm)
    with app.app_context():
        authorisations.revoke(app.extensions["idp"], public_id=realm["authorisation"], actor="test")
    # the session that acted under it has ended: the SP's next request asks for a login, and then
    # there is nothing to choose any more
    req_id, response = login_at(browser, sp)
    ava, xml = assertion(sp, response, req_id)
    assert ava["name"] == [AGENT_NAME]
    assert_no_enterprise(ava, xml)


def test_an_authorisation_expired_since_the_choice_is_not_asserted(app, browser, sp, realm):
    from idp.extensions import db
    from idp.identity.authorisations import EnterpriseAuthorisation
    agent_acting_at(browser, sp, realm)
    with app.app_context():   # past its date; the expiry job has not run, so the session still acts for it
        row = db.session.query(EnterpriseAuthorisation).filter_by(public_id=realm["authorisation"]).one()
        row.valid_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
        session = app.extensions["idp"].sessions.load(browser.client.get_cookie("idp_session").value)
        assert session.entity_id is not None
    req_id, sent = sp.authn_request()
    ava, xml = assertion(sp, send(browser, sent), req_id)
    assert ava["name"] == [AGENT_NAME]
    assert_no_enterprise(ava, xml)


def test_saml_and_oidc_tell_the_same_enterprise_context(app, browser, sp, realm):
    """The class of bug this guards: one protocol carrying a context another does not (or no longer)."""
    rp = register(app, browser, scopes=("openid", "profile", "entity"))
    ava = agent_acting_at(browser, sp, realm)
    claims = decode_jwt(app, rp.login_tokens()[0]["id_token"]).claims
    entity = claims["entity"]
    assert (ava["entity_uscc"], ava["entity_name"], ava["entity_role"], ava["entity_roles"], ava["authorisation_id"]) \
        == ([entity["uscc"]], [entity["name"]], [entity["role"]], entity["roles"], [entity["authorisation_id"]])
    from idp.extensions import db
    from idp.identity.authorisations import EnterpriseAuthorisation
    with app.app_context():
        row = db.session.query(EnterpriseAuthorisation).filter_by(public_id=realm["authorisation"]).one()
        row.valid_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
    assert "entity" not in decode_jwt(app, rp.login_tokens()[0]["id_token"]).claims
    req_id, sent = sp.authn_request()
    assert_no_enterprise(*assertion(sp, send(browser, sent), req_id))


def test_an_authorisation_for_named_portals_is_not_asserted_to_an_sp(app, browser, tmp_path, citizen):
    """Authorisations name OpenID portals; one that names some, and not all, does not reach an SP, even
    when she chose the enterprise on her account page (where every authorisation of hers is offered)."""
    portal = register(app, browser, scopes=("openid", "entity"))
    with app.app_context():
        entity, agent, granted = enterprise_with_agent(
            uscc=USCC, name=NAME, agent=(AGENT_ID, AGENT_NAME, AGENT_PASSWORD), roles=["declarant"], portals=[portal.client_id])
        entity_public_id = entity.public_id
    sp = ServiceProvider(app, tmp_path, name="tax")
    sp.register(name="电子税务局", attributes=["name", "entity"])
    req_id, response = login_at(browser, sp)
    assert_no_enterprise(*assertion(sp, response, req_id))    # nothing to choose here: straight to the SP
    page = browser.client.get("/account/acting-for").get_data(as_text=True)
    chosen = browser.client.post("/account/acting-for", data={"csrf_token": csrf_token(page),
                                                              "acting_for": entity_public_id})
    assert chosen.status_code == 302
    assert decode_jwt(app, portal.login_tokens()[0]["id_token"]).claims["entity"]["uscc"] == USCC
    req_id, sent = sp.authn_request()
    assert_no_enterprise(*assertion(sp, send(browser, sent), req_id))


def test_a_passive_request_is_answered_without_the_choice(app, browser, sp, realm):
    assert browser.login("/login", username=AGENT_ID, password=AGENT_PASSWORD).status_code == 302
    req_id, sent = sp.authn_request(is_passive="true")
    ava, xml = assertion(sp, send(browser, sent), req_id)
    assert ava["name"] == [AGENT_NAME]
    assert_no_enterprise(ava, xml)


def test_idp_initiated_login_offers_the_choice_and_asserts_it(app, browser, sp, realm):
    started = browser.client.get("/saml/idp-initiated?" + urlencode({"sp": sp.entity_id, "RelayState": "/tax"}))
    assert started.status_code == 302 and urlsplit(started.headers["Location"]).path == "/login"
    response = browser.login(started.headers["Location"], username=AGENT_ID, password=AGENT_PASSWORD)
    chosen, _page = choose(browser, browser.client.get(response.headers["Location"]), realm["entity"])
    page = resumed(browser, chosen)
    assert posted_fields(page.get_data(as_text=True))["RelayState"] == "/tax"
    ava, _xml = assertion(sp, page)
    assert ava["entity_uscc"] == [USCC] and ava["authorisation_id"] == [realm["authorisation"]]
    # signed in, having chosen: the link answers at once
    ava, _xml = assertion(sp, browser.client.get("/saml/idp-initiated?" + urlencode({"sp": sp.entity_id})))
    assert ava["entity_role"] == ["authorised_agent"]


def test_the_legal_representative_steps_up_then_is_asserted(app, browser, pki, sp, realm):
    """张三 logs in by password, chooses her enterprise: a certificate step-up of her own first, then the
    assertion names her the legal representative (no authorisation, no roles)."""
    req_id, response = login_at(browser, sp, username=CITIZEN_ID, password=helpers.CITIZEN_PASSWORD)
    chosen, page = choose(browser, response, realm["entity"])
    assert NAME in page
    assert chosen.status_code == 302 and urlsplit(chosen.headers["Location"]).path == "/login"
    stepped = certificate_step_up(browser.client, pki, chosen.headers["Location"])
    assert stepped.status_code == 200, stepped.get_data(as_text=True)
    back = browser.client.get(stepped.get_json()["redirect_to"])
    ava, xml = assertion(sp, resumed(browser, back), req_id)
    assert ava["name"] == ["张三"] and ava["entity_uscc"] == [USCC] and ava["entity_name"] == [NAME]
    assert ava["entity_role"] == ["legal_representative"]
    assert "entity_roles" not in ava and "authorisation_id" not in ava
    assert "urn:oasis:names:tc:SAML:2.0:ac:classes:X509" in xml or "SmartcardPKI" in xml
