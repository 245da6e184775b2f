"""CAS services learn whom the person acts for: an agent chooses the enterprise at the CAS login, the
service validation releases the enterprise context as attributes, and a ticket issued before the
authorisation was revoked or expired releases nothing any more."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

import pytest

from helpers import CITIZEN_ID, Browser, audit_events, csrf_token, enterprise_with_agent, query_of

NS = {"cas": "http://www.yale.edu/tp/cas"}
SITE = "http://localhost:8081/app/"
USCC, NAME = "91110000100000000R", "示例科技有限公司"
AGENT_ID, AGENT_NAME, AGENT_PASSWORD = "110105198503151230", "李四", "agent pass phrase 1"


@pytest.fixture
def realm(app, citizen):
    """张三 (legal representative) has authorised 李四 as declarant for every portal; 李四 accepted."""
    from idp.protocols.cas.services import register_service
    with app.app_context():
        entity, agent, granted = enterprise_with_agent(
            uscc=USCC, name=NAME, agent=(AGENT_ID, AGENT_NAME, AGENT_PASSWORD), roles=["declarant", "payer"])
        register_service(name="不动产登记", service_url=SITE, match="prefix")
        return {"entity": entity.public_id, "authorisation": granted.public_id, "agent": agent.public_id}


def cas_login_choosing(app, choice: str):
    """李四 opens the CAS login, logs in by password, and chooses whom she acts for; returns (browser, ticket)."""
    browser = Browser(app.test_client())
    response = browser.client.get("/cas/login?" + urlencode({"service": SITE}))
    response = browser.login(response.headers["Location"], username=AGENT_ID, password=AGENT_PASSWORD)
    response = browser.client.get(response.headers["Location"])
    assert response.status_code == 302 and "/account/acting-for?tx=" in response.headers["Location"]
    page = browser.client.get(response.headers["Location"]).get_data(as_text=True)
    assert NAME in page
    chosen = browser.client.post("/account/acting-for", data={
        "csrf_token": csrf_token(page), "tx": query_of(response.headers["Location"])["tx"], "acting_for": choice})
    assert urlsplit(chosen.headers["Location"]).path == "/cas/login/resume"
    ticketed = browser.client.get(chosen.headers["Location"])
    assert ticketed.headers["Location"].startswith(SITE), ticketed.get_data(as_text=True)
    return browser, query_of(ticketed.headers["Location"])["ticket"]


def validate(client, ticket, path="/cas/p3/serviceValidate"):
    response = client.get(path + "?" + urlencode({"ticket": ticket, "service": SITE}))
    assert response.status_code == 200
    return ET.fromstring(response.data)


def attributes_of(root) -> dict:
    found = root.find("cas:authenticationSuccess/cas:attributes", NS)
    assert found is not None, ET.tostring(root)
    values: dict = {}
    for child in found:
        values.setdefault(child.tag.split("}")[1], []).append(child.text)
    return values


def test_the_chosen_enterprise_goes_with_the_ticket(app, realm):
    browser, ticket = cas_login_choosing(app, realm["entity"])
    values = attributes_of(validate(browser.client, ticket))
    assert values["entity_uscc"] == [USCC] and values["entity_name"] == [NAME]
    assert values["entity_role"] == ["authorised_agent"] and values["entity_roles"] == ["declarant", "payer"]
    assert values["authorisation_id"] == [realm["authorisation"]]
    assert values["acting_person"] == [realm["agent"]] and values["acting_person_name"] == [AGENT_NAME]
    # the next service ticket of the session carries it too, through the CAS 2.0 endpoint as well
    again = browser.client.get("/cas/login?" + urlencode({"service": SITE}))
    values = attributes_of(validate(browser.client, query_of(again.headers["Location"])["ticket"],
                                    "/cas/serviceValidate"))
    assert values["entity_uscc"] == [USCC] and "name" not in values
    validated = [data for _event, data in audit_events(app, "cas.validated")]
    assert validated[0]["authorisation"] == realm["authorisation"]


def test_acting_for_herself_releases_no_enterprise(app, realm):
    browser, ticket = cas_login_choosing(app, "self")
    values = attributes_of(validate(browser.client, ticket))
    assert values["name"] == [AGENT_NAME] and "entity_uscc" not in values and "authorisation_id" not in values


def test_a_ticket_issued_before_revocation_releases_nothing(app, realm):
    from idp.identity import authorisations
    browser, ticket = cas_login_choosing(app, realm["entity"])
    with app.app_context():
        authorisations.revoke(app.extensions["idp"], public_id=realm["authorisation"], actor="test")
    root = validate(browser.client, ticket)
    assert root.find("cas:authenticationSuccess", NS) is None
    assert root.find("cas:authenticationFailure", NS).get("code") == "INVALID_TICKET"


def test_a_ticket_issued_before_expiry_releases_nothing(app, realm):
    from idp.extensions import db
    from idp.identity.authorisations import EnterpriseAuthorisation
    browser, ticket = cas_login_choosing(app, realm["entity"])
    with app.app_context():
        row = db.session.query(EnterpriseAuthorisation).filter_by(public_id=realm["authorisation"]).one()
        row.valid_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        db.session.commit()
    root = validate(browser.client, ticket, "/cas/serviceValidate")
    failure = root.find("cas:authenticationFailure", NS)
    assert failure is not None and failure.get("code") == "INVALID_TICKET"
    assert NAME not in ET.tostring(root, encoding="unicode")


def test_an_authorisation_for_other_portals_is_not_offered_at_a_cas_service(app, citizen):
    from idp.authn.result import ACR_CERTIFICATE
    from idp.clients.service import register_client
    from idp.identity import authorisations
    from idp.identity.service import create_entity, create_person, find_person_by_id_number, link_representative
    from idp.protocols.cas.services import register_service
    with app.app_context():
        entity = create_entity(uscc=USCC, name=NAME)
        link_representative(uscc=USCC, id_number=CITIZEN_ID, role="legal_representative")
        agent = create_person(id_number=AGENT_ID, name=AGENT_NAME, password=AGENT_PASSWORD)
        portal = register_client(name="A", redirect_uris=["http://localhost:9001/cb"], scopes=["openid"]).client
        granted = authorisations.grant(
            granter_id=find_person_by_id_number(CITIZEN_ID).id, acr=ACR_CERTIFICATE, entity_id=entity.id,
            agent_id_number=AGENT_ID, agent_name=AGENT_NAME, roles=["declarant"], portals=[portal.client_id],
            valid_until=datetime.now(timezone.utc) + timedelta(days=5))
        authorisations.accept(person_id=agent.id, public_id=granted.public_id)
        register_service(name="不动产登记", service_url=SITE, match="prefix")
    browser = Browser(app.test_client())
    response = browser.client.get("/cas/login?" + urlencode({"service": SITE}))
    response = browser.login(response.headers["Location"], username=AGENT_ID, password=AGENT_PASSWORD)
    ticketed = browser.client.get(response.headers["Location"])
    assert ticketed.headers["Location"].startswith(SITE), "nothing to choose at this service"
