"""A department site behind real Apache with mod_auth_mellon (a SAML 2.0 service provider from Debian)
and an OIDC portal (the demo portal on the idp-rp adapter) share one login; logging out at either ends
both. A scripted browser (a cookie jar) posts idp's forms and the auto-submitting SAML forms."""
from __future__ import annotations

import re
from contextlib import ExitStack

import pytest
import requests

from helpers import audit_events, enterprise_with_agent

from .apache_server import ApacheServer, apache_missing, render
from .saml_sites import (browser as new_browser, give_to_apache, login, make_key_pair, portal_needs_no_password,
                         post_saml_form, signed_in_at_saml_site, signed_out_everywhere, start_portal)

pytestmark = pytest.mark.interop


@pytest.fixture
def realm(live_idp, tmp_path):
    reason = apache_missing("auth_mellon")
    if reason:
        pytest.skip(reason)
    from idp.protocols.saml.providers import fetch_metadata, register_provider

    idp = live_idp
    with ExitStack() as stack:
        portal = start_portal(stack, idp)
        apache = stack.enter_context(ApacheServer(modules=["auth_mellon", "setenvif"]))
        mellon = apache.writable_dir("mellon")
        make_key_pair(mellon / "sp.key", mellon / "sp.crt")
        (mellon / "idp-metadata.xml").write_text(requests.get(idp.url("/saml/metadata"), timeout=10).text)
        give_to_apache(apache, mellon)
        site = render("dept-site-mellon.conf.template", SITE_NAME="127.0.0.1", DOCUMENT_ROOT=str(apache.docroot),
                      MELLON_DIR=str(mellon), MELLON_SECURE_COOKIE="Off")
        # On plain http Chromium drops mellon's cookies (SameSite=None without Secure); the loopback
        # sites here are one site, so cookies without SameSite do (an https site keeps the defaults).
        apache.start(site.replace("<VirtualHost *:*>", '<VirtualHost *:*>\n    SetEnvIf Request_URI "." MELLON_DISABLE_SAMESITE=1'))
        # registered as an operator would: `idp saml add-sp --metadata <the site's /mellon/metadata>`
        with idp.app.app_context():
            provider = register_provider(metadata_xml=fetch_metadata(apache.url("/mellon/metadata")),
                                         name="档案馆 SAML site", attributes=["name"])
            saml_key = provider.session_key
        yield {"idp": idp, **portal, "saml": apache.url("/"), "apache": apache, "saml_key": saml_key}


@pytest.mark.parametrize("logout_at", ["saml", "portal"])
def test_mellon_site_then_oidc_portal_one_login_and_logout_everywhere(realm, logout_at):
    idp, person = realm["idp"], realm["idp"].person
    browser = new_browser()

    page = browser.get(realm["saml"], timeout=15)
    assert page.url.startswith(idp.issuer + "/login?"), page.url
    posting = login(browser, page, person)
    assert posting.url.startswith(idp.issuer + "/saml/sso/resume"), posting.url
    signed_in_at_saml_site(post_saml_form(browser, posting), realm["saml"], idp)
    # mod_auth_mellon's own metadata asks for transient NameIDs: an opaque value per login
    assert [data["name_id_format"] for _event, data in audit_events(idp.app, "saml.assertion")] == \
        ["urn:oasis:names:tc:SAML:2.0:nameid-format:transient"]

    portal_needs_no_password(browser, realm)

    if logout_at == "saml":
        done = browser.get(realm["apache"].url("/mellon/logout"), params={"ReturnTo": realm["apache"].url("/bye")},
                           timeout=15)
        assert any("/saml/slo" in r.url for r in done.history), [r.url for r in done.history]
        urls = [r.url for r in done.history]
        # mod_auth_mellon took the LogoutResponse and returned to /bye, which (signed out) asks idp again
        assert any(u.startswith(realm["apache"].url("/mellon/logout?SAMLResponse=")) for u in urls), urls
        assert realm["apache"].url("/bye") in urls and done.url.startswith(idp.issuer + "/login?"), urls
    else:
        done = browser.get(realm["portal_base"] + "/oidc/logout", timeout=15)
        assert done.status_code == 200
        sender = idp.app.extensions["idp"].notifier
        assert sender.wait_idle(20)
        assert (realm["saml_key"], realm["apache"].url("/mellon/logout")) in sender.delivered, \
            (sender.delivered, sender.failed, realm["apache"].error_log[-2000:])

    notifier = idp.app.extensions["idp"].notifier
    assert notifier.wait_idle(20)
    if logout_at == "saml":
        assert realm["client"] in {client for client, _uri in notifier.delivered}, notifier.failed
    signed_out_everywhere(browser, realm)


def test_mellon_decrypts_an_encrypted_assertion(realm):
    """mod_auth_mellon's metadata publishes its key for encryption; with the switch on it reads the
    encrypted assertion and signs the person in."""
    import base64

    from idp.protocols.saml.providers import by_id, update_provider
    idp, person = realm["idp"], realm["idp"].person
    with idp.app.app_context():
        provider = by_id(int(realm["saml_key"].split(":")[1]))
        assert 'use="encryption"' in provider.metadata_xml
        update_provider(provider, encrypt_assertions=True)
    browser = new_browser()
    posting = login(browser, browser.get(realm["saml"], timeout=15), person)
    fields = dict(re.findall(r'<input type="hidden" name="([A-Za-z]+)" value="([^"]*)">', posting.text))
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "EncryptedAssertion" in xml and "AttributeStatement" not in xml
    signed_in_at_saml_site(post_saml_form(browser, posting), realm["saml"], idp)


def test_front_channel_logout_of_a_mellon_site_in_chromium(realm, csp_page):
    """mod_auth_mellon registered without its SOAP endpoint (metadata with only the HTTP-Redirect
    logout service): a person signs in at the site in Chromium, logs out at idp, and the logged-out
    page's hidden frame carries the LogoutRequest to mellon, whose LogoutResponse comes back to idp.
    The site then asks idp to log in again; no CSP violation on the way."""
    from idp.protocols.saml.providers import by_id, update_metadata
    idp, person, page = realm["idp"], realm["idp"].person, csp_page
    with idp.app.app_context():
        provider = by_id(int(realm["saml_key"].split(":")[1]))
        without_soap = re.sub(r"<(\w+:)?SingleLogoutService[^>]*SOAP[^>]*/>", "", provider.metadata_xml)
        assert "SOAP" not in without_soap and "HTTP-Redirect" in without_soap
        update_metadata(provider, without_soap)

    page.goto(realm["saml"])
    page.wait_for_url(idp.issuer + "/login?*")
    page.fill("#username", person.id_number)
    page.fill("#password", person.password)
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_url(realm["saml"])
    assert page.inner_text("#name") == person.name

    with page.expect_response(lambda r: "/saml/slo?SAMLResponse=" in r.url, timeout=20_000) as answered:
        page.goto(idp.url("/cas/logout"))
        assert page.locator("#front-channel-logout").is_visible()
    assert answered.value.status == 204
    assert [data.get("channel") for _e, data in audit_events(idp.app, "saml.logout_request")] == ["front"]
    assert [data["status"] for _e, data in audit_events(idp.app, "saml.logout_response")] == \
        ["urn:oasis:names:tc:SAML:2.0:status:Success"]
    page.goto(realm["saml"])
    page.wait_for_url(idp.issuer + "/login?*")   # mellon's session ended: the site asks idp again
    page.csp.check(page)


def test_idp_initiated_login_at_a_mellon_site(realm):
    """With the switch on, idp's link signs the person in and mod_auth_mellon takes the unsolicited
    Response, going on to the RelayState page."""
    from idp.protocols.saml.providers import by_id, update_provider
    idp, person = realm["idp"], realm["idp"].person
    with idp.app.app_context():
        provider = by_id(int(realm["saml_key"].split(":")[1]))
        entity = provider.entity_id
        update_provider(provider, idp_initiated=True)
    browser = new_browser()
    page = browser.get(idp.url("/saml/idp-initiated"), params={"sp": entity, "RelayState": realm["saml"]},
                       timeout=15)
    assert page.url.startswith(idp.issuer + "/login?"), page.url
    posting = login(browser, page, person)
    signed_in_at_saml_site(post_saml_form(browser, posting), realm["saml"], idp)


def test_mellon_site_learns_the_enterprise_an_agent_acts_for(realm):
    """The site registered with the ``entity`` attribute: an agent the legal representative authorised
    logs in, chooses the enterprise on idp's chooser, and mod_auth_mellon hands the site the enterprise's
    credit code, name and her role (MELLON_entity_*)."""
    from idp.protocols.saml.providers import by_id, update_provider
    uscc, name = "91110000100000000R", "示例科技有限公司"
    agent = type("Agent", (), {"id_number": "110105198503151230", "password": "agent pass phrase 1", "name": "李四"})
    idp = realm["idp"]
    with idp.app.app_context():
        update_provider(by_id(int(realm["saml_key"].split(":")[1])), attributes=["name", "entity"])
        entity, _, granted = enterprise_with_agent(uscc=uscc, name=name,
                                                   agent=(agent.id_number, agent.name, agent.password),
                                                   representative_id=idp.person.id_number)
        entity_choice, authorisation_id = entity.public_id, granted.public_id
    browser = new_browser()
    chooser = login(browser, browser.get(realm["saml"], timeout=15), agent)
    assert chooser.url.startswith(idp.issuer + "/account/acting-for?tx="), chooser.url
    assert name in chooser.text
    fields = dict(re.findall(r'name="(csrf_token|tx)" value="([^"]+)"', chooser.text))
    posting = browser.post(idp.url("/account/acting-for"), data={**fields, "acting_for": entity_choice}, timeout=15)
    site = post_saml_form(browser, posting)
    assert site.status_code == 200 and site.url == realm["saml"], (site.url, site.text[:300])
    assert f'<span id="name">{agent.name}</span>' in site.text
    assert f'<span id="entity">{uscc} {name} authorised_agent</span>' in site.text, site.text[-600:]
    asserted = [(data.get("entity"), data.get("authorisation")) for _e, data in audit_events(idp.app, "saml.assertion")]
    assert asserted == [(uscc, authorisation_id)]
