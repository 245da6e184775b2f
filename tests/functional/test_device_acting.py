"""The device verification page offers the choice of whom the person acts for when the device's client
asked for the enterprise context (the ``entity`` scope): the tokens the device polls for carry what she
chose, a choice that was not offered is refused."""
from __future__ import annotations

import re

import pytest

from helpers import audit_events, csrf_token, decode_jwt, enterprise_with_agent

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USCC, NAME = "91110000100000000R", "示例科技有限公司"
OTHER_USCC = "91110000600000001M"
AGENT_ID, AGENT_NAME, AGENT_PASSWORD = "110105198503151230", "李四", "agent pass phrase 1"


@pytest.fixture
def realm(app, citizen):
    """李四 holds an accepted authorisation of 张三's enterprise; a kiosk asks for the entity scope."""
    from idp.clients.service import register_client
    from idp.identity.service import create_entity
    with app.app_context():
        entity, agent, granted = enterprise_with_agent(
            uscc=USCC, name=NAME, agent=(AGENT_ID, AGENT_NAME, AGENT_PASSWORD), roles=["declarant"])
        other = create_entity(uscc=OTHER_USCC, name="别家公司")
        kiosk = register_client(name="政务服务大厅自助机", redirect_uris=[], public=True,
                                scopes=["openid", "profile", "entity"], grant_types=[DEVICE_GRANT], first_party=True)
        return {"entity": entity.public_id, "other": other.public_id, "authorisation": granted.public_id,
                "kiosk": kiosk.client.client_id}


def confirmation(app, realm, scope="openid profile entity"):
    """The kiosk asks for a code; 李四 logs in on her phone and enters it; returns (client, grant, page)."""
    http = app.test_client()
    grant = http.post("/device_authorization", data={"client_id": realm["kiosk"], "scope": scope}).get_json()
    page = http.get("/login?next=/device").get_data(as_text=True)
    http.post("/login", data={"csrf_token": csrf_token(page), "username": AGENT_ID, "password": AGENT_PASSWORD,
                              "next": "/device"})
    page = http.get("/device").get_data(as_text=True)
    confirm = http.post("/device", data={"csrf_token": csrf_token(page), "user_code": grant["user_code"]})
    assert confirm.status_code == 200
    return http, grant, confirm.get_data(as_text=True)


def decide(http, page, choice):
    user_code = re.search(r'name="user_code" value="([^"]+)"', page).group(1)
    return http.post("/device/decision", data={"csrf_token": csrf_token(page), "user_code": user_code,
                                               "decision": "allow", "acting_for": choice})


def poll(http, realm, grant):
    return http.post("/token", data={"grant_type": DEVICE_GRANT, "device_code": grant["device_code"],
                                     "client_id": realm["kiosk"]})


def test_the_device_acts_for_the_enterprise_chosen_on_the_confirmation_page(app, realm):
    http, grant, page = confirmation(app, realm)
    assert 'id="choose-context"' in page and NAME in page and "别家公司" not in page
    assert decide(http, page, realm["entity"]).status_code == 200
    tokens = poll(http, realm, grant)
    assert tokens.status_code == 200, tokens.get_json()
    entity = decode_jwt(app, tokens.get_json()["id_token"]).claims["entity"]
    assert entity["uscc"] == USCC and entity["authorisation_id"] == realm["authorisation"]
    assert [d["authorisation"] for _e, d in audit_events(app, "authorisation.used")] == [realm["authorisation"]]


def test_the_device_may_act_for_herself(app, realm):
    http, grant, page = confirmation(app, realm)
    assert decide(http, page, "self").status_code == 200
    assert "entity" not in decode_jwt(app, poll(http, realm, grant).get_json()["id_token"]).claims


def test_a_forged_choice_on_the_device_page_is_refused(app, realm):
    http, grant, page = confirmation(app, realm)
    refused = decide(http, page, realm["other"])
    assert refused.status_code == 400 and "您不能代表该企业办事" in refused.get_data(as_text=True)
    [(_event, data)] = audit_events(app, "acting.refused")
    assert data["choice"] == realm["other"] and data["client_id"] == realm["kiosk"]
    assert poll(http, realm, grant).get_json()["error"] == "authorization_pending", "not approved"


def test_no_choice_when_the_device_does_not_ask_for_the_enterprise(app, realm):
    _http, _grant, page = confirmation(app, realm, scope="openid profile")
    assert 'id="choose-context"' not in page
