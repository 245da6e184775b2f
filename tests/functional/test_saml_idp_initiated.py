"""IdP-initiated login: /saml/idp-initiated?sp=<entityID> posts an unsolicited Response (no
InResponseTo) to the SP's default assertion consumer service after login, read by a pysaml2 SP that
accepts unsolicited responses; refused, with the readable page, for SPs not allowed it and for bad
input (never a 500)."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from saml2 import BINDING_HTTP_POST

from helpers import CITIZEN_ID
from test_saml import SP_BASE, ServiceProvider, posted_fields


@pytest.fixture
def sp(app, tmp_path, citizen):
    provider = ServiceProvider(app, tmp_path, name="portal-hall", allow_unsolicited=True)
    provider.id = provider.register(name="办事大厅", attributes=["name"], idp_initiated=True)
    return provider


def start(browser, entity_id, **params):
    return browser.client.get("/saml/idp-initiated?" + urlencode({"sp": entity_id, **params}))


def read(sp, page):
    fields = posted_fields(page.get_data(as_text=True))
    answer = sp.client.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST, outstanding={})
    return fields, answer


def test_login_then_an_unsolicited_response_to_the_default_acs(app, browser, sp):
    started = start(browser, sp.entity_id, RelayState="/records/2026")
    assert started.status_code == 302 and urlsplit(started.headers["Location"]).path == "/login"
    resumed = browser.login(started.headers["Location"])
    assert resumed.status_code == 302 and urlsplit(resumed.headers["Location"]).path == "/saml/sso/resume"
    page = browser.client.get(resumed.headers["Location"])
    assert page.status_code == 200
    fields, answer = read(sp, page)
    assert fields["action"] == f"{SP_BASE}/portal-hall/acs" and fields["RelayState"] == "/records/2026"
    assert answer.in_response_to is None and answer.response.in_response_to is None
    assert answer.ava["name"] == ["张三"] and answer.name_id.text and answer.name_id.text != CITIZEN_ID
    # signed in already: straight to the posting page
    again = start(browser, sp.entity_id)
    assert again.status_code == 200
    fields, answer = read(sp, again)
    assert "RelayState" not in fields and answer.ava["name"] == ["张三"]


def test_an_sp_that_did_not_ask_for_it_is_refused(app, browser, tmp_path, citizen):
    plain = ServiceProvider(app, tmp_path, name="plain", allow_unsolicited=True)
    plain.register(name="不接受")
    page = start(browser, plain.entity_id)
    assert page.status_code == 400 and "无法接受" in page.get_data(as_text=True)
    english = browser.client.get("/saml/idp-initiated?" + urlencode({"sp": plain.entity_id}),
                                 headers={"Accept-Language": "en"})
    assert "does not accept logins started here" in english.get_data(as_text=True)
    assert "SAMLResponse" not in english.get_data(as_text=True)


def test_a_disabled_sp_and_bad_links_are_refused(app, browser, sp):
    from idp.protocols.saml.providers import set_disabled
    for query, words in [("", "does not say which service provider"),
                         ("?sp=https://unknown.example/sp", "is not registered"),
                         ("?" + urlencode({"sp": sp.entity_id, "RelayState": "x" * 3000}), "RelayState is too long")]:
        page = browser.client.get("/saml/idp-initiated" + query, headers={"Accept-Language": "en"})
        assert page.status_code == 400 and words in page.get_data(as_text=True), query
    with app.app_context():
        set_disabled(sp.id, True)
    assert start(browser, sp.entity_id).status_code == 400


@given(entity=st.text(max_size=300), relay=st.one_of(st.none(), st.text(max_size=3000)))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_link_gets_a_page_never_a_500(app, browser, sp, entity, relay):
    params = {"sp": entity} if relay is None else {"sp": entity, "RelayState": relay}
    page = browser.client.get("/saml/idp-initiated?" + urlencode(params))
    assert page.status_code in (302, 400, 200), page.status_code
