"""SAML requests the identity server refuses: XML entities, unsigned or badly signed requests from an SP
that signs, a foreign Destination, an assertion consumer URL outside the SP's metadata, a stale
IssueInstant, a replayed request ID, unknown SPs and malformed messages."""
from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

import pytest
from saml2 import BINDING_HTTP_POST
from saml2.pack import deflate_and_base64_encode
from saml2.time_util import instant

from helpers import ISSUER
from test_saml import ServiceProvider, send, sso

SSO = ISSUER + "/saml/sso"


def redirect_of(xml: str, **extra):
    return "GET", "/saml/sso?" + urlencode({"SAMLRequest": deflate_and_base64_encode(xml), **extra}), None


def authn_xml(sp, **kwargs) -> str:
    _id, request = sp.client.create_authn_request(destination=kwargs.pop("destination", SSO), sign=False, **kwargs)
    return str(request)


def refused(browser, request, words: str):
    page = send(browser, request, headers={"Accept-Language": "en"})
    assert page.status_code == 400, page.get_data(as_text=True)[:300]
    html = page.get_data(as_text=True)
    assert words in html, html
    assert "SAMLResponse" not in html
    return html


@pytest.fixture
def sp(app, tmp_path, citizen):
    provider = ServiceProvider(app, tmp_path)
    provider.register(name="Archives")
    return provider


@pytest.fixture
def signing_sp(app, tmp_path, citizen):
    provider = ServiceProvider(app, tmp_path, name="signing", sign_requests=True)
    provider.register(name="Signing SP")
    return provider


def test_xml_entities_and_dtds_are_refused(browser, sp):
    xml = authn_xml(sp)
    body = xml.split("?>", 1)[-1] if xml.startswith("<?xml") else xml
    xxe = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + body.replace('ID="', 'ProviderName="&x;" ID="', 1))
    refused(browser, redirect_of(xxe), "XML entities or a DTD")
    laughs = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>' + body.replace('ID="', 'ProviderName="&c;" ID="', 1))
    refused(browser, redirect_of(laughs), "XML entities or a DTD")


def test_signed_requests_required_when_the_sp_metadata_says_so(browser, signing_sp):
    unsigned = redirect_of(authn_xml(signing_sp))
    refused(browser, unsigned, "signature is missing or does not verify")
    # the same SP's signed request (Redirect binding: the signature is in the query) is accepted
    _id, request = signing_sp.authn_request()
    assert "Signature=" in request[1]
    assert sso(browser, request).status_code == 200


def test_tampered_signed_requests_are_refused(browser, signing_sp):
    _id, (method, path, form) = signing_sp.authn_request(binding=BINDING_HTTP_POST)
    xml = base64.b64decode(form["SAMLRequest"]).decode()
    assert "<ds:Signature" in xml or "Signature" in xml
    forged = xml.replace('ForceAuthn="false"', 'ForceAuthn="true"') if 'ForceAuthn' in xml else \
        xml.replace('ID="', 'ForceAuthn="true" ID="', 1)
    refused(browser, ("POST", path, {**form, "SAMLRequest": base64.b64encode(forged.encode()).decode()}),
            "signature is missing or does not verify")
    _id, (method, path, form) = signing_sp.authn_request()  # Redirect: a signature over other parameters
    refused(browser, ("GET", path.replace("RelayState=back-to-records", "RelayState=elsewhere"), None),
            "signature is missing or does not verify")


def test_foreign_destination_is_refused(browser, sp):
    refused(browser, redirect_of(authn_xml(sp, destination="https://other-idp.example/sso")), "another Destination")


def test_assertion_consumer_url_must_be_in_metadata(browser, sp):
    xml = authn_xml(sp, assertion_consumer_service_url="https://attacker.example/acs")
    refused(browser, redirect_of(xml), "not in the service provider&#39;s metadata")


def test_stale_and_future_issue_instants_are_refused(browser, sp):
    _id, request = sp.client.create_authn_request(destination=SSO, sign=False)
    request.issue_instant = instant(time_stamp=int(time.time()) - 3600)
    refused(browser, redirect_of(str(request)), "IssueInstant is too old")
    _id, request = sp.client.create_authn_request(destination=SSO, sign=False)
    request.issue_instant = instant(time_stamp=int(time.time()) + 3600)
    refused(browser, redirect_of(str(request)), "IssueInstant is too old or in the future")


def test_replayed_request_id_is_refused(browser, sp):
    request = redirect_of(authn_xml(sp))
    assert sso(browser, request).status_code == 200
    refused(browser, request, "already used")


def test_unknown_sp_and_malformed_messages(app, browser, tmp_path, citizen):
    stranger = ServiceProvider(app, tmp_path, name="stranger")   # never registered
    refused(browser, redirect_of(authn_xml(stranger)), "is not registered")
    refused(browser, ("GET", "/saml/sso", None), "SAMLRequest is missing")
    refused(browser, ("GET", "/saml/sso?SAMLRequest=not-base64-%%%", None), "cannot be read")
    refused(browser, ("POST", "/saml/sso", {"SAMLRequest": base64.b64encode(b"<a>").decode()}), "cannot be read")
    refused(browser, ("GET", "/saml/slo?SAMLRequest=AAAA", None), "cannot be read")
    page = browser.client.get("/saml/sso", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 400 and "无法接受" in page.get_data(as_text=True)
    assert "缺少 SAML 请求" in page.get_data(as_text=True)
