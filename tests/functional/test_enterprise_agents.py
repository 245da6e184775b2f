"""Enterprise authorisations (法人授权经办人): a legal representative authorises an agent, the agent accepts,
logs in to a portal acting for the enterprise, and loses that context everywhere when it is revoked."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from admin_support import admin_token, bearer
from helpers import (CITIZEN_ID, CITIZEN_PASSWORD, REDIRECT_A, Browser, LogoutSite, audit_events, csrf_token,
                     decode_jwt, query_of, register)

USCC = "91110000100000000R"
OTHER_USCC = "91110000600000001M"
AGENT_ID, AGENT_NAME, AGENT_PASSWORD = "110105198503151230", "李四", "agent pass phrase 1"
THIRD_ID, THIRD_NAME = "110101198001014564", "王五"
ENTITY_SCOPES = ("openid", "profile", "entity")


@pytest.fixture
def realm(app, citizen):
    """The citizen (张三) is the legal representative of one enterprise; 李四 and 王五 have accounts; another
    enterprise exists that none of them may act for."""
    from idp.identity.service import create_entity, create_person, link_representative
    with app.app_context():
        create_entity(uscc=USCC, name="示例科技有限公司")
        other = create_entity(uscc=OTHER_USCC, name="别家公司")
        link_representative(uscc=USCC, id_number=CITIZEN_ID, role="legal_representative")
        create_person(id_number=AGENT_ID, name=AGENT_NAME, password=AGENT_PASSWORD)
        create_person(id_number=THIRD_ID, name=THIRD_NAME, password=AGENT_PASSWORD)
        return {"other_entity": other.public_id}


def _log_in(app, username, password, certificate_level=False) -> Browser:
    browser = Browser(app.test_client())
    response = browser.login("/login?next=/account", username=username, password=password)
    assert response.status_code == 302, response.get_data(as_text=True)
    if certificate_level:  # a certificate step-up, as the certificate login tests drive it for real
        from idp.authn.result import ACR_CERTIFICATE, AuthResult
        cookie = browser.client.get_cookie("idp_session")
        with app.app_context():
            core = app.extensions["idp"]
            session = core.sessions.load(cookie.value)
            core.sessions.reauthenticate(session, AuthResult(person_id=session.person_id, method="certificate",
                                                             acr=ACR_CERTIFICATE, amr=("swk", "x509")))
    return browser


def _account(browser) -> str:
    page = browser.client.get("/account")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _entity_public_id(app, uscc=USCC):
    from idp.identity.service import find_entity
    with app.app_context():
        return find_entity(uscc).public_id


def _grant(app, browser, id_number=AGENT_ID, name=AGENT_NAME, roles="declarant", portals=None, days=30):
    form = {"csrf_token": csrf_token(_account(browser)), "entity": _entity_public_id(app),
            "id_number": id_number, "name": name, "roles": roles,
            "valid_until": (datetime.now(timezone.utc) + timedelta(days=days)).date().isoformat()}
    if portals is None:
        form["all_portals"] = "1"
    else:
        form["portals"] = portals
    return browser.client.post("/account/authorisations", data=form)


def _authorisation_ids(app, agent_id_number=AGENT_ID):
    from sqlalchemy import select

    from idp.extensions import db
    from idp.identity.authorisations import EnterpriseAuthorisation
    from idp.identity.models import Person
    with app.app_context():
        return list(db.session.scalars(select(EnterpriseAuthorisation.public_id).join(
            Person, Person.id == EnterpriseAuthorisation.agent_id).where(Person.id_number == agent_id_number)))


def _accept(browser, authorisation_id):
    page = _account(browser)
    assert "pending-authorisations" in page and "示例科技有限公司" in page
    response = browser.client.post(f"/account/authorisations/{authorisation_id}/accept",
                                   data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302


def _granted_and_accepted(app, **grant):
    representative = _log_in(app, CITIZEN_ID, CITIZEN_PASSWORD, certificate_level=True)
    assert _grant(app, representative, **grant).status_code == 302
    [authorisation_id] = _authorisation_ids(app)
    agent = _log_in(app, AGENT_ID, AGENT_PASSWORD)
    _accept(agent, authorisation_id)
    return representative, agent, authorisation_id


def _authorize_choosing(rp, browser, choice, **extra):
    """Start a code flow for the entity scope; on the chooser pick ``choice`` (an entity's public id or
    "self"); returns (response of the choice, params, verifier)."""
    params, verifier = rp.auth_params(**extra)
    response = browser.authorize(**params)
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert "/account/acting-for?tx=" in location, location
    page = browser.client.get(location)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    chosen = browser.client.post("/account/acting-for", data={
        "csrf_token": csrf_token(text), "tx": query_of(location)["tx"], "acting_for": choice})
    return chosen, params, verifier, text


def _code_from(browser, chosen):
    assert chosen.status_code == 302, chosen.get_data(as_text=True)
    response = browser.client.get(chosen.headers["Location"])
    assert response.status_code == 302, response.get_data(as_text=True)
    return query_of(response.headers["Location"])["code"]


def test_grant_accept_act_for_the_enterprise_then_revocation_ends_it_everywhere(app, realm):
    site = LogoutSite([])
    try:
        rp = register(app, None, scopes=ENTITY_SCOPES, backchannel_logout_uri=site.url)
        representative, agent, authorisation_id = _granted_and_accepted(app)
        rp.browser = agent
        chosen, params, verifier, page = _authorize_choosing(rp, agent, _entity_public_id(app))
        assert "示例科技有限公司" in page and "别家公司" not in page
        tokens = rp.exchange(_code_from(agent, chosen), verifier)
        assert tokens.status_code == 200, tokens.get_json()
        tokens = tokens.get_json()
        claims = decode_jwt(app, tokens["id_token"]).claims
        entity = claims["entity"]
        assert (entity["uscc"], entity["name"]) == (USCC, "示例科技有限公司")
        assert entity["authorisation_id"] == authorisation_id
        assert entity["role"] == "authorised_agent" and entity["roles"] == ["declarant"]
        assert entity["acting_person"] == {"sub": claims["sub"], "name": AGENT_NAME}
        userinfo = agent.client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
        assert userinfo.get_json()["entity"]["authorisation_id"] == authorisation_id

        refreshed = rp.exchange(None, None, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.get_json()
        refresh_token = refreshed.get_json()["refresh_token"]

        page = _account(representative)
        assert "granted-authorisations" in page and AGENT_NAME in page
        revoked = representative.client.post(f"/account/authorisations/{authorisation_id}/revoke",
                                             data={"csrf_token": csrf_token(page)})
        assert revoked.status_code == 302

        again = rp.exchange(None, None, grant_type="refresh_token", refresh_token=refresh_token)
        assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
        assert agent.client.get("/account").status_code == 302, "the agent's session acting for it ended"
        assert app.extensions["idp"].notifier.wait_idle(10)
        assert [path for path, _form, _cache in site.received] == ["/logout"]
        logout_token = decode_jwt(app, site.received[0][1]["logout_token"][0]).claims
        assert logout_token["sub"] == claims["sub"] and logout_token["sid"] == claims["sid"]
    finally:
        site.close()
    events = [event for event, _data in audit_events(app, "authorisation.")]
    assert events == ["authorisation.granted", "authorisation.accepted", "authorisation.used",
                      "authorisation.revoked"]
    authorized = [data for event, data in audit_events(app, "authorize")]
    assert authorized[-1]["authorisation"] == authorisation_id and authorized[-1]["entity"] == USCC


def test_the_agent_may_act_for_herself_instead(app, realm):
    rp = register(app, None, scopes=ENTITY_SCOPES)
    _representative, agent, _id = _granted_and_accepted(app)
    rp.browser = agent
    chosen, _params, verifier, _page = _authorize_choosing(rp, agent, "self")
    tokens = rp.exchange(_code_from(agent, chosen), verifier).get_json()
    claims = decode_jwt(app, tokens["id_token"]).claims
    assert "entity" not in claims and claims["name"] == AGENT_NAME


def test_a_forged_choice_of_another_enterprise_is_refused(app, realm):
    rp = register(app, None, scopes=ENTITY_SCOPES)
    _representative, agent, _id = _granted_and_accepted(app)
    rp.browser = agent
    chosen, _params, _verifier, _page = _authorize_choosing(rp, agent, realm["other_entity"])
    assert chosen.status_code == 400
    assert "您不能代表该企业办事" in chosen.get_data(as_text=True)
    [(_event, refused)] = audit_events(app, "acting.refused")
    assert refused["choice"] == realm["other_entity"]
    with app.app_context():
        session = app.extensions["idp"].sessions.load(agent.client.get_cookie("idp_session").value)
        assert session.entity_id is None


def test_an_agent_cannot_authorise_others_unless_granted_that_role(app, realm):
    _representative, agent, _id = _granted_and_accepted(app)
    stepped_up = _log_in(app, AGENT_ID, AGENT_PASSWORD, certificate_level=True)
    assert "grant-authorisation" not in _account(stepped_up)
    refused = _grant(app, stepped_up, id_number=THIRD_ID, name=THIRD_NAME)
    assert refused.status_code == 403
    assert _authorisation_ids(app, THIRD_ID) == []
    assert audit_events(app, "authorisation.refused")


def test_an_agent_holding_the_authorise_role_may_authorise_others(app, realm):
    _granted_and_accepted(app, roles="declarant, authorise")
    stepped_up = _log_in(app, AGENT_ID, AGENT_PASSWORD, certificate_level=True)
    assert "grant-authorisation" in _account(stepped_up)
    assert _grant(app, stepped_up, id_number=THIRD_ID, name=THIRD_NAME).status_code == 302
    assert len(_authorisation_ids(app, THIRD_ID)) == 1


def test_a_legal_representative_must_log_in_at_certificate_level_to_authorise(app, realm):
    password_only = _log_in(app, CITIZEN_ID, CITIZEN_PASSWORD)
    page = _account(password_only)
    assert "grant-authorisation" not in page and "authorise-step-up" in page
    assert _grant(app, password_only).status_code == 403
    assert _authorisation_ids(app) == []


@pytest.mark.parametrize("name, id_number, days, words", [
    ("赵六", AGENT_ID, 30, "没有与此身份证号码和姓名相符的账号。"),
    (AGENT_NAME, "110105198503151231", 30, "这不是有效的身份证号码。"),
    (AGENT_NAME, AGENT_ID, -2, "截止日期必须晚于今天。"),
])
def test_bad_grants_are_refused_with_a_readable_page(app, realm, name, id_number, days, words):
    representative = _log_in(app, CITIZEN_ID, CITIZEN_PASSWORD, certificate_level=True)
    response = _grant(app, representative, id_number=id_number, name=name, days=days)
    assert response.status_code == 400 and words in response.get_data(as_text=True)
    assert _authorisation_ids(app) == []


def test_expired_authorisations_are_not_offered_and_refresh_fails(app, realm):
    from idp.extensions import db
    from idp.identity.authorisations import EnterpriseAuthorisation
    rp = register(app, None, scopes=ENTITY_SCOPES)
    _representative, agent, authorisation_id = _granted_and_accepted(app)
    rp.browser = agent
    chosen, _params, verifier, _page = _authorize_choosing(rp, agent, _entity_public_id(app))
    tokens = rp.exchange(_code_from(agent, chosen), verifier).get_json()
    with app.app_context():
        row = db.session.query(EnterpriseAuthorisation).filter_by(public_id=authorisation_id).one()
        row.valid_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
    refreshed = rp.exchange(None, None, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"
    # no chooser any more (nothing to choose from), and the portal gets no enterprise context
    params, verifier = rp.auth_params(prompt="select_account")
    response = agent.authorize(**params)
    assert response.status_code == 302 and response.headers["Location"].startswith(REDIRECT_A)
    code = query_of(response.headers["Location"])["code"]
    claims = decode_jwt(app, rp.exchange(code, verifier).get_json()["id_token"]).claims
    assert "entity" not in claims
    page = agent.client.get("/account/acting-for").get_data(as_text=True)
    assert "示例科技有限公司" not in page


def test_an_authorisation_for_other_portals_is_not_offered_here(app, realm):
    rp = register(app, None, scopes=ENTITY_SCOPES)
    other = register(app, None, name="Portal B", redirect_uri="http://localhost:9002/cb", scopes=ENTITY_SCOPES)
    _representative, agent, _id = _granted_and_accepted(app, portals=[other.client_id])
    rp.browser = agent
    params, verifier = rp.auth_params()
    response = agent.authorize(**params)
    assert response.headers["Location"].startswith(REDIRECT_A), "nothing to choose at portal A"


def test_a_claims_request_for_the_entity_asks_for_the_choice(app, realm):
    rp = register(app, None, scopes=("openid", "profile"))
    _representative, agent, _id = _granted_and_accepted(app)
    rp.browser = agent
    chosen, _params, verifier, _page = _authorize_choosing(
        rp, agent, _entity_public_id(app), claims=json.dumps({"id_token": {"entity": None}}))
    assert _code_from(agent, chosen)


def test_admin_api_lists_and_revokes_authorisations(app, realm):
    from admin_support import create_admin
    create_admin(app)
    _representative, agent, authorisation_id = _granted_and_accepted(app)
    client = app.test_client()
    token = admin_token(app, client)
    listed = client.get("/api/admin/authorisations", headers=bearer(token)).get_json()["authorisations"]
    assert [(a["id"], a["status"], a["entity"]["uscc"]) for a in listed] == [(authorisation_id, "accepted", USCC)]
    assert client.get("/api/admin/authorisations?status=bogus", headers=bearer(token)).status_code == 400
    revoked = client.post(f"/api/admin/authorisations/{authorisation_id}/revoke", headers=bearer(token))
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert client.post(f"/api/admin/authorisations/{authorisation_id}/revoke", headers=bearer(token)).status_code == 404
    assert client.get("/api/admin/authorisations?status=accepted", headers=bearer(token)).get_json() == {
        "authorisations": []}
    assert [e for e, _d in audit_events(app, "authorisation.revoked")] == ["authorisation.revoked"]


def test_admin_console_lists_and_revokes_authorisations(app, realm):
    from admin_support import console_login, create_admin
    create_admin(app)
    _representative, agent, authorisation_id = _granted_and_accepted(app)
    console = app.test_client()
    assert console_login(console).status_code == 302
    listing = console.get("/admin/authorisations").get_data(as_text=True)
    assert f'id="revoke-{authorisation_id}"' in listing and AGENT_NAME in listing and USCC in listing
    token = csrf_token(listing)
    response = console.post(f"/admin/authorisations/{authorisation_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 302
    listing = console.get("/admin/authorisations").get_data(as_text=True)
    assert "authorisation-revoked" in listing and f'id="revoke-{authorisation_id}"' not in listing
    again = console.post(f"/admin/authorisations/{authorisation_id}/revoke", data={"csrf_token": token})
    assert again.status_code == 303
    [(_event, data)] = audit_events(app, "authorisation.revoked")
    assert data["authorisation"] == authorisation_id and data["by"]


def test_expiry_ends_the_sessions_acting_under_it_like_revocation(app, realm):
    """The server's expiry job (run here as the job runner runs it) ends the agent's session acting under
    the authorisation once it is past its date, with back-channel logout to the portal."""
    from idp.extensions import db
    from idp.identity.authorisations import EnterpriseAuthorisation
    from idp.jobs.runner import Runner
    from idp.jobs.schedule import server_jobs
    site = LogoutSite([])
    try:
        rp = register(app, None, scopes=ENTITY_SCOPES, backchannel_logout_uri=site.url)
        _representative, agent, authorisation_id = _granted_and_accepted(app)
        for_herself = _log_in(app, AGENT_ID, AGENT_PASSWORD)  # another session, acting for herself
        rp.browser = agent
        chosen, _params, verifier, _page = _authorize_choosing(rp, agent, _entity_public_id(app))
        claims = decode_jwt(app, rp.exchange(_code_from(agent, chosen), verifier).get_json()["id_token"]).claims
        runner = Runner(app, [job for job in server_jobs(app.extensions["idp"])
                              if job.name == "authorisations.expire"], lease_seconds=5, holder="node-a")
        runner.run_once()
        assert agent.client.get("/account").status_code == 200, "not expired yet: nothing ended"
        with app.app_context():
            row = db.session.query(EnterpriseAuthorisation).filter_by(public_id=authorisation_id).one()
            row.valid_until = datetime.now(timezone.utc) - timedelta(seconds=1)
            db.session.commit()
        runner.clock = lambda: time.time() + 3600  # the job's interval has passed
        assert runner.run_once() == ["authorisations.expire"]
        assert agent.client.get("/account").status_code == 302, "the session acting under it ended"
        assert for_herself.client.get("/account").status_code == 200, "her own session goes on"
        assert app.extensions["idp"].notifier.wait_idle(10)
        assert [path for path, _form, _cache in site.received] == ["/logout"]
        assert decode_jwt(app, site.received[0][1]["logout_token"][0]).claims["sid"] == claims["sid"]
    finally:
        site.close()
    [(_event, expired)] = audit_events(app, "authorisation.expired")
    assert expired["authorisation"] == authorisation_id
    with app.app_context():
        from idp.identity.authorisations import end_expired
        assert end_expired(app.extensions["idp"]) == 0, "ended once"
        state = db.session.query(EnterpriseAuthorisation).filter_by(public_id=authorisation_id).one().state()
    assert state == "expired"
