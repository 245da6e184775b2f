"""A department site behind real Apache with the Shibboleth SP (mod_shib and shibd from Debian) and an
OIDC portal (the demo portal on the idp-rp adapter) share one login; logging out at either ends both.
The SP is configured from the adapters/apache templates a department copies; a scripted browser (a
cookie jar) posts idp's forms and the auto-submitting SAML forms."""
from __future__ import annotations

import json
import re
import shutil
from contextlib import ExitStack

import pytest
import requests

from helpers import audit_events

from .apache_server import ADAPTER_DIR, ApacheServer, apache_missing, render
from .saml_sites import (browser as new_browser, give_to_apache, login, make_key_pair, portal_needs_no_password,
                         post_saml_form, signed_in_at_saml_site, signed_out_everywhere, start_portal)
from .shibd_server import Shibd, shibd_missing

pytestmark = pytest.mark.interop

PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


@pytest.fixture
def realm(live_idp, monkeypatch):
    reason = apache_missing("shib") or shibd_missing()
    if reason:
        pytest.skip(reason)
    from click.testing import CliRunner

    from idp.cli import context as cli_context
    from idp.cli.saml import saml

    idp = live_idp
    with ExitStack() as stack:
        portal = start_portal(stack, idp)
        apache = ApacheServer(modules=["shib"])
        stack.callback(apache.stop)
        shib = apache.writable_dir("shibboleth")
        make_key_pair(shib / "sp-key.pem", shib / "sp-cert.pem")
        shutil.copy(ADAPTER_DIR / "shibboleth" / "attribute-map.xml", shib / "attribute-map.xml")
        idp_metadata = requests.get(idp.url("/saml/metadata"), timeout=10).text
        idp_entity_id = re.search(r'entityID="([^"]+)"', idp_metadata).group(1)
        sp_entity_id = apache.url("/shibboleth")
        (shib / "shibboleth2.xml").write_text(render(
            "shibboleth/shibboleth2.xml.template", SP_ENTITY_ID=sp_entity_id, IDP_ENTITY_ID=idp_entity_id,
            IDP_METADATA_URL=idp.url("/saml/metadata"), SHIB_DIR=str(shib), SHIB_HANDLER_SSL="false",
            SHIB_COOKIE_PROPS="http"), encoding="utf-8")
        give_to_apache(apache, shib)
        shibd = stack.enter_context(Shibd(shib / "shibboleth2.xml", shib / "shibd.sock").start())
        apache.start(render("dept-site-shib.conf.template", SITE_NAME="127.0.0.1",
                            DOCUMENT_ROOT=str(apache.docroot), SHIB_CONFIG=str(shib / "shibboleth2.xml")))
        # registered as an operator would, from the metadata the SP's Metadata handler publishes
        monkeypatch.setattr(cli_context, "_app", idp.app)
        added = CliRunner().invoke(saml, ["add-sp", "--metadata", apache.url("/Shibboleth.sso/Metadata"),
                                          "--name", "档案馆 Shibboleth site", "--attributes", "name,email", "--require-signed-requests", "--json"])
        assert added.exit_code == 0, (added.output, added.exception)
        registered = json.loads(added.output)
        assert registered["entity_id"] == sp_entity_id and registered["attributes"] == ["name", "email"]
        assert registered["require_signed_requests"] and registered["single_logout"]
        from idp.protocols.saml.providers import provider_by_entity_id
        with idp.app.app_context():
            saml_key = provider_by_entity_id(sp_entity_id).session_key
        yield {"idp": idp, **portal, "saml": apache.url("/"), "apache": apache, "shibd": shibd,
               "saml_key": saml_key, "sp_entity_id": sp_entity_id}


def _log_in_at_shibboleth_site(browser, realm) -> str:
    idp = realm["idp"]
    page = browser.get(realm["saml"], timeout=15)
    assert page.url.startswith(idp.issuer + "/login?"), (page.url, [r.url for r in page.history])
    posting = login(browser, page, idp.person)
    assert posting.url.startswith(idp.issuer + "/saml/sso/resume"), posting.url
    # the SP signs its AuthnRequest (signing="front"), HTTP-Redirect binding
    asked = [r.url for r in page.history if r.url.startswith(idp.url("/saml/sso?"))]
    assert asked and "SAMLRequest=" in asked[0] and "Signature=" in asked[0], [r.url for r in page.history]
    return signed_in_at_saml_site(post_saml_form(browser, posting), realm["saml"], idp)


@pytest.mark.parametrize("logout_at", ["saml", "portal"])
def test_shibboleth_site_then_oidc_portal_one_login_and_logout_everywhere(realm, logout_at):
    idp, apache = realm["idp"], realm["apache"]
    browser = new_browser()

    user = _log_in_at_shibboleth_site(browser, realm)
    # the SP's metadata asks for persistent NameIDs (REMOTE_USER): pairwise, the same at the next login
    assert [data["name_id_format"] for _event, data in audit_events(idp.app, "saml.assertion")] == [PERSISTENT]
    # the SP's Session handler lists the attributes it mapped (attribute-map.xml): what the site may
    # receive, never the ID number it was not granted
    session = browser.get(apache.url("/Shibboleth.sso/Session"), timeout=10).text
    assert set(re.findall(r"<strong>([^<]+)</strong>: 1 value", session)) == \
        {"persistent-id", "displayName", "mail", "acr"}, session

    portal_needs_no_password(browser, realm)

    if logout_at == "saml":
        # SP-initiated single logout: the SP sends a signed LogoutRequest (HTTP-Redirect) to idp, idp
        # answers with a LogoutResponse to the SP's SLO endpoint, and the SP returns to `return`
        done = browser.get(apache.url("/Shibboleth.sso/Logout"), params={"return": apache.url("/bye")}, timeout=15)
        urls = [r.url for r in done.history] + [done.url]
        assert [u.split("?")[0] for u in urls[:4]] == [
            apache.url("/Shibboleth.sso/Logout"), idp.url("/saml/slo"), apache.url("/Shibboleth.sso/SLO/Redirect"),
            apache.url("/bye")], urls
        assert "SAMLRequest=" in urls[1] and "Signature=" in urls[1] and "SAMLResponse=" in urls[2], urls
        assert done.url.startswith(idp.issuer + "/login?"), urls      # /bye, signed out, asks idp again
    else:
        # idp's LogoutRequest to the SP's SOAP endpoint (back channel), answered with success
        done = browser.get(realm["portal_base"] + "/oidc/logout", timeout=15)
        assert done.status_code == 200
        sender = idp.app.extensions["idp"].notifier   # SAML SOAP logouts go through the one delivery queue
        assert sender.wait_idle(20)
        assert (realm["saml_key"], apache.url("/Shibboleth.sso/SLO/SOAP")) in sender.delivered, \
            (sender.delivered, sender.failed, realm["shibd"].log[-2000:], apache.error_log[-2000:])

    notifier = idp.app.extensions["idp"].notifier
    assert notifier.wait_idle(20)
    if logout_at == "saml":
        assert realm["client"] in {client for client, _uri in notifier.delivered}, notifier.failed
    signed_out_everywhere(browser, realm)
    assert _log_in_at_shibboleth_site(new_browser(), realm) == user
