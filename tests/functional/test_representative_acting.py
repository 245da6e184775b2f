"""A legal representative who logged in by password acts for her enterprise after a certificate step-up
of her own: the chooser offers her enterprise, picking it sends her to a certificate login of the same
person, and only then does the portal receive the enterprise context. Driven with the demo PKI's real
signed-challenge certificate login."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, Browser, audit_events, csrf_token, decode_jwt, query_of, register

USCC, NAME = "91110000100000000R", "示例科技有限公司"
OTHER_ID, OTHER_NAME, OTHER_PASSWORD = "110105198503151230", "李四", "agent pass phrase 1"
ENTITY_SCOPES = ("openid", "profile", "entity")


@pytest.fixture
def app(pki_app):
    return pki_app


@pytest.fixture
def realm(app, citizen):
    """张三 (the demo PKI's citizen) is the legal representative of an enterprise; 李四 is not."""
    from idp.identity.service import create_entity, create_person, link_representative
    with app.app_context():
        entity = create_entity(uscc=USCC, name=NAME)
        link_representative(uscc=USCC, id_number=CITIZEN_ID, role="legal_representative")
        create_person(id_number=OTHER_ID, name=OTHER_NAME, password=OTHER_PASSWORD)
        return {"entity": entity.public_id}


def certificate_step_up(client, pki, login_location: str, ca="demo-serial", role="person"):
    """The signing software's answer to the challenge of the login page the step-up sent her to."""
    tx = query_of(login_location)["tx"]
    challenge = client.get(f"/login/certificate/challenge?tx={tx}", headers={"Accept": "application/json"}).get_json()
    body = dict(pki.sign(ca, role, challenge["challenge"]), challenge_id=challenge["challenge_id"], tx=tx)
    return client.post("/login/certificate/challenge", json=body, headers={"Accept-Language": "en"})


def password_browser(app, username=CITIZEN_ID, password=CITIZEN_PASSWORD) -> Browser:
    browser = Browser(app.test_client())
    assert browser.login("/login?next=/account", username=username, password=password).status_code == 302
    return browser


def choose(browser, location: str, choice: str):
    page = browser.client.get(location)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    form = {"csrf_token": csrf_token(text), "acting_for": choice}
    if "tx" in query_of(location):
        form["tx"] = query_of(location)["tx"]
    return browser.client.post("/account/acting-for", data=form), text


def test_password_session_steps_up_then_acts_as_legal_representative(app, pki, realm):
    rp = register(app, None, scopes=ENTITY_SCOPES)
    browser = password_browser(app)
    rp.browser = browser
    params, verifier = rp.auth_params()
    response = browser.authorize(**params)
    assert "/account/acting-for?tx=" in response.headers["Location"], "her enterprise is offered"
    chosen, page = choose(browser, response.headers["Location"], realm["entity"])
    assert NAME in page
    assert chosen.status_code == 302 and "/login?tx=" in chosen.headers["Location"], "step-up demanded"
    login_page = browser.client.get(chosen.headers["Location"], headers={"Accept-Language": "en"})
    assert "This service requires a higher assurance level" in login_page.get_data(as_text=True)
    with app.app_context():
        session = app.extensions["idp"].sessions.load(browser.client.get_cookie("idp_session").value)
        assert session.entity_id is None, "no context before the step-up"

    stepped = certificate_step_up(browser.client, pki, chosen.headers["Location"])
    assert stepped.status_code == 200, stepped.get_data(as_text=True)
    resumed = browser.client.get(stepped.get_json()["redirect_to"])
    assert resumed.status_code == 302 and "/authorize/resume" in resumed.headers["Location"]
    back = browser.client.get(resumed.headers["Location"])
    assert back.status_code == 302 and back.headers["Location"].startswith(rp.redirect_uri), back.get_data(as_text=True)
    tokens = rp.exchange(query_of(back.headers["Location"])["code"], verifier).get_json()
    claims = decode_jwt(app, tokens["id_token"]).claims
    assert claims["acr"] == "urn:idp:loa:2"
    assert claims["entity"]["uscc"] == USCC and claims["entity"]["role"] == "legal_representative"
    assert claims["entity"]["acting_person"]["sub"] == claims["sub"]
    [(_event, chosen_event)] = audit_events(app, "acting.chosen")
    assert chosen_event["role"] == "legal_representative" and chosen_event["entity"] == USCC


def test_giving_up_the_step_up_returns_to_the_choice(app, realm):
    rp = register(app, None, scopes=ENTITY_SCOPES)
    browser = password_browser(app)
    params, _verifier = rp.auth_params()
    location = browser.authorize(**params).headers["Location"]
    chosen, _page = choose(browser, location, realm["entity"])
    login_page = browser.client.get(chosen.headers["Location"]).get_data(as_text=True)
    cancelled = browser.client.post("/login/cancel", data={"csrf_token": csrf_token(login_page),
                                                           "tx": query_of(chosen.headers["Location"])["tx"]})
    assert cancelled.status_code == 302 and cancelled.headers["Location"].endswith(location.split("?")[1])


def test_someone_elses_certificate_does_not_give_the_context(app, pki, realm):
    """李四 chooses nothing of 张三's (not offered, forged refused), and 张三's step-up must be her own."""
    rp = register(app, None, scopes=ENTITY_SCOPES)
    other = password_browser(app, OTHER_ID, OTHER_PASSWORD)
    params, _verifier = rp.auth_params()
    response = other.authorize(**params)
    assert response.headers["Location"].startswith(rp.redirect_uri), "nothing offered to somebody else"
    page = other.client.get("/account/acting-for").get_data(as_text=True)
    assert NAME not in page
    forged = other.client.post("/account/acting-for", data={"csrf_token": csrf_token(page),
                                                            "acting_for": realm["entity"]})
    assert forged.status_code == 400 and "您不能代表该企业办事" in forged.get_data(as_text=True)
    [(_event, refused)] = audit_events(app, "acting.refused")
    assert refused["choice"] == realm["entity"]
    # 李四 logged in, asks for the step-up meant for 张三's enterprise by hand: his certificate is not hers
    step = other.client.get(f"/account/step-up?entity={realm['entity']}")
    assert step.status_code == 302
    refused = certificate_step_up(other.client, pki, step.headers["Location"])
    assert refused.status_code == 401 and refused.get_json()["error"] == "different_person"
    with app.app_context():
        session = app.extensions["idp"].sessions.load(other.client.get_cookie("idp_session").value)
        assert session.entity_id is None


def test_account_page_step_up_before_authorising_agents(app, pki, realm):
    browser = password_browser(app)
    page = browser.client.get("/account").get_data(as_text=True)
    assert "grant-authorisation" not in page and 'id="authorise-step-up"' in page
    step = browser.client.get("/account/step-up")
    assert step.status_code == 302 and "/login?tx=" in step.headers["Location"]
    stepped = certificate_step_up(browser.client, pki, step.headers["Location"])
    done = browser.client.get(stepped.get_json()["redirect_to"])
    assert done.status_code == 302 and done.headers["Location"].endswith("/account")
    page = browser.client.get("/account").get_data(as_text=True)
    with app.app_context():
        from idp.identity.service import find_entity
        entity = find_entity(USCC).public_id
    granted = browser.client.post("/account/authorisations", data={
        "csrf_token": csrf_token(page), "entity": entity, "id_number": OTHER_ID, "name": OTHER_NAME,
        "roles": "declarant", "all_portals": "1",
        "valid_until": (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()})
    assert granted.status_code == 302, granted.get_data(as_text=True)
    assert [e for e, _d in audit_events(app, "authorisation.granted")] == ["authorisation.granted"]


def test_the_account_page_chooser_steps_up_too(app, pki, realm):
    browser = password_browser(app)
    chosen, page = choose(browser, "/account/acting-for", realm["entity"])
    assert NAME in page and chosen.status_code == 302 and "/login?tx=" in chosen.headers["Location"]
    stepped = certificate_step_up(browser.client, pki, chosen.headers["Location"])
    done = browser.client.get(stepped.get_json()["redirect_to"])
    assert done.headers["Location"].endswith("/account")
    assert "示例科技有限公司" in browser.client.get("/account").get_data(as_text=True)


def test_device_page_steps_the_legal_representative_up_before_she_acts_for_her_enterprise(app, pki, realm):
    import re

    from idp.clients.service import register_client
    device_grant = "urn:ietf:params:oauth:grant-type:device_code"
    with app.app_context():
        kiosk = register_client(name="自助机", redirect_uris=[], public=True, scopes=list(ENTITY_SCOPES),
                                grant_types=[device_grant], first_party=True).client.client_id
    browser = password_browser(app)
    http = browser.client
    grant = http.post("/device_authorization", data={"client_id": kiosk, "scope": " ".join(ENTITY_SCOPES)}).get_json()
    page = http.get("/device").get_data(as_text=True)
    page = http.post("/device", data={"csrf_token": csrf_token(page), "user_code": grant["user_code"]}).get_data(
        as_text=True)
    assert NAME in page
    user_code = re.search(r'name="user_code" value="([^"]+)"', page).group(1)
    decided = http.post("/device/decision", data={"csrf_token": csrf_token(page), "user_code": user_code,
                                                  "decision": "allow", "acting_for": realm["entity"]})
    assert decided.status_code == 302 and "/account/step-up?" in decided.headers["Location"]
    login = http.get(decided.headers["Location"])
    stepped = certificate_step_up(http, pki, login.headers["Location"])
    back = http.get(stepped.get_json()["redirect_to"])
    assert back.headers["Location"] == "/device?user_code=" + user_code
    entry = http.get(back.headers["Location"]).get_data(as_text=True)
    page = http.post("/device", data={"csrf_token": csrf_token(entry), "user_code": user_code}).get_data(as_text=True)
    assert f'value="{realm["entity"]}" checked' in page, "her choice is remembered"
    done = http.post("/device/decision", data={"csrf_token": csrf_token(page), "user_code": user_code,
                                               "decision": "allow", "acting_for": realm["entity"]})
    assert done.status_code == 200
    tokens = http.post("/token", data={"grant_type": device_grant, "device_code": grant["device_code"],
                                       "client_id": kiosk}).get_json()
    claims = decode_jwt(app, tokens["id_token"]).claims
    assert claims["entity"]["role"] == "legal_representative" and claims["acr"] == "urn:idp:loa:2"


def test_no_choice_but_those_offered_gives_a_context(app, realm):
    """Whatever a person posts as her choice (or hands the step-up page), she acts for nothing she was not
    offered, and every such answer is a readable refusal."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    other = password_browser(app, OTHER_ID, OTHER_PASSWORD)
    token = csrf_token(other.client.get("/account/acting-for").get_data(as_text=True))
    core = app.extensions["idp"]

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(choice=st.one_of(st.just(realm["entity"]), st.text(max_size=80),
                            st.text(alphabet="0123456789abcdefABCDEF-_", min_size=20, max_size=40)))
    def forged(choice):
        response = other.client.post("/account/acting-for", data={"csrf_token": token, "acting_for": choice})
        if choice == "self":
            assert response.status_code == 302
        else:  # refused as a choice, or before (the request guard refuses control characters)
            assert response.status_code == 400 and 'lang="zh-CN"' in response.get_data(as_text=True)
        step = other.client.get("/account/step-up", query_string={"entity": choice, "next": choice})
        assert step.status_code == 400 or step.headers["Location"].startswith("/login?tx=")
        with app.app_context():
            assert core.sessions.load(other.client.get_cookie("idp_session").value).entity_id is None

    forged()


def test_a_step_up_for_an_enterprise_she_does_not_represent_gives_nothing(app, pki, realm):
    from idp.identity.service import create_entity
    with app.app_context():
        other = create_entity(uscc="91110000600000001M", name="别家公司").public_id
    browser = password_browser(app)
    step = browser.client.get(f"/account/step-up?entity={other}")
    stepped = certificate_step_up(browser.client, pki, step.headers["Location"])
    done = browser.client.get(stepped.get_json()["redirect_to"])
    assert done.status_code == 400 and "您不能代表该企业办事" in done.get_data(as_text=True)
    [(_event, refused)] = audit_events(app, "acting.refused")
    assert refused["choice"] == other
    with app.app_context():
        assert app.extensions["idp"].sessions.load(browser.client.get_cookie("idp_session").value).entity_id is None
