"""SAML 2.0 on the identity server, driven by pysaml2 acting as the service provider: Web Browser SSO
over both bindings, signed responses, NameID formats, RelayState, single logout, and the XML attacks
and bad requests refused."""
from __future__ import annotations

import base64
import re
import zlib
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, BINDING_SOAP
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NAMEID_FORMAT_UNSPECIFIED
from saml2.samlp import STATUS_INVALID_NAMEID_POLICY, STATUS_NO_PASSIVE
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from idp.protocols.saml.attributes import converters

from helpers import CITIZEN_ID, ISSUER, query_of

IDP_ENTITY = ISSUER + "/saml/metadata"
SP_BASE = "http://localhost:9100"
PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def _key_pair(directory):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    (directory / "sp.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (directory / "sp.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(directory / "sp.key"), str(directory / "sp.crt")


class ServiceProvider:
    """A SAML service provider (pysaml2's client) talking to the app through the Flask test client."""

    def __init__(self, app, tmp_path, *, name="sp", sign_requests=False, name_id_format=None, soap_logout=None,
                 decrypts=False, allow_unsolicited=False):
        self.app, self.entity_id = app, f"{SP_BASE}/{name}"
        directory = tmp_path / name
        directory.mkdir()
        key_file, cert_file = _key_pair(directory)
        idp_metadata = app.test_client().get("/saml/metadata").get_data(as_text=True)
        sp = {"endpoints": {"assertion_consumer_service": [(f"{SP_BASE}/{name}/acs", BINDING_HTTP_POST)],
                            "single_logout_service": [(f"{SP_BASE}/{name}/slo", BINDING_HTTP_REDIRECT)]
                            + ([(soap_logout, BINDING_SOAP)] if soap_logout else [])},
              "authn_requests_signed": sign_requests, "want_assertions_signed": True,
              "want_response_signed": True, "allow_unsolicited": allow_unsolicited,
              "allow_unknown_attributes": True}
        if name_id_format:
            sp["name_id_format"] = [name_id_format]
        self.config = SPConfig()
        # decrypts: its metadata publishes an encryption key (its own key pair), and it decrypts with it
        extra = {"encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}]} if decrypts else {}
        self.config.load({**extra, "entityid": self.entity_id, "service": {"sp": sp}, "key_file": key_file,
                          "cert_file": cert_file, "xmlsec_binary": "/usr/bin/xmlsec1",
                          "metadata": {"inline": [idp_metadata]},
                          "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                          "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256"})
        self.config.attribute_converters = converters()   # the attribute names idp publishes
        self.client = Saml2Client(config=self.config)
        self.metadata = str(entity_descriptor(self.config))

    def register(self, **kwargs):
        from idp.protocols.saml.providers import register_provider
        with self.app.app_context():
            return register_provider(metadata_xml=self.metadata, **kwargs).id

    def authn_request(self, binding=BINDING_HTTP_REDIRECT, relay_state="back-to-records", **kwargs):
        """(request id, the request as the browser sends it: (method, path, form or None))."""
        kwargs.setdefault("sigalg", SIG_RSA_SHA256)   # pysaml2 would sign the Redirect binding with SHA-1
        kwargs.setdefault("digest_alg", DIGEST_SHA256)
        req_id, info = self.client.prepare_for_authenticate(entityid=IDP_ENTITY, relay_state=relay_state,
                                                            binding=binding, **kwargs)
        return req_id, self._as_request(binding, info)

    @staticmethod
    def _as_request(binding, info):
        if binding == BINDING_HTTP_REDIRECT:
            location = dict(info["headers"])["Location"]
            parts = urlsplit(location)
            return "GET", parts.path + "?" + parts.query, None
        html = info["data"]
        fields = dict(re.findall(r'name="([A-Za-z]+)" value="([^"]*)"', html))
        action = re.search(r'action="([^"]+)"', html).group(1)
        return "POST", urlsplit(action).path, fields

    def parse(self, page_html: str, req_id: str):
        fields = posted_fields(page_html)
        response = self.client.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST,
                                                            outstanding={req_id: "/"})
        return response, fields.get("RelayState")


def posted_fields(html: str) -> dict:
    fields = dict(re.findall(r'<input type="hidden" name="([A-Za-z]+)" value="([^"]*)">', html))
    fields["action"] = re.search(r'<form method="post" action="([^"]+)"', html).group(1)
    return fields


def send(browser, request, headers=None):
    method, path, form = request
    if method == "GET":
        return browser.client.get(path, headers=headers)
    return browser.client.post(path, data=form, headers=headers)


def sso(browser, request, *, login=True):
    """Send the request; log in when the server asks; return the page that posts to the SP."""
    response = send(browser, request)
    if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login":
        assert login, "a login page was shown"
        response = browser.login(response.headers["Location"])
        assert response.status_code == 302, response.get_data(as_text=True)
        assert urlsplit(response.headers["Location"]).path == "/saml/sso/resume"
        response = browser.client.get(response.headers["Location"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


@pytest.fixture
def sp(app, tmp_path, citizen):
    provider = ServiceProvider(app, tmp_path)
    provider.id = provider.register(name="档案系统 Archives", attributes=["name", "email"])
    return provider


@pytest.mark.parametrize("binding", [BINDING_HTTP_REDIRECT, BINDING_HTTP_POST])
def test_login_at_sp_signed_response_relay_state(app, browser, sp, binding):
    req_id, request = sp.authn_request(binding)
    page = sso(browser, request)
    html = page.get_data(as_text=True)
    assert "Content-Security-Policy" in page.headers
    assert f"form-action 'self' {SP_BASE}" in page.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in html and "<noscript>" in html and '<button type="submit">' in html
    assert posted_fields(html)["action"] == f"{SP_BASE}/sp/acs"

    response, relay_state = sp.parse(html, req_id)      # pysaml2 verifies both signatures against the metadata
    assert relay_state == "back-to-records"
    xml = base64.b64decode(posted_fields(html)["SAMLResponse"]).decode()
    assert xml.count("<ds:Signature") == 2 or xml.count("Signature>") >= 2      # response and assertion
    assert "rsa-sha256" in xml
    assert response.name_id.format == NAMEID_FORMAT_PERSISTENT
    ava = response.get_identity()
    assert ava["name"] == ["张三"] and ava["email"] == ["zhangsan@example.gov.cn"]
    assert "id_number" not in ava and CITIZEN_ID not in xml                   # not allowed for this SP
    assert response.authn_info()[0][0] == PASSWORD_CLASS

    # single sign-on: a second request gets an answer without a login page
    req_id2, request2 = sp.authn_request(binding, relay_state=None)
    again, relay_state = sp.parse(sso(browser, request2, login=False).get_data(as_text=True), req_id2)
    assert relay_state is None
    assert again.name_id.text == response.name_id.text       # persistent: the same for the same SP


def test_persistent_name_ids_are_pairwise_per_sp(app, browser, sp, tmp_path, citizen):
    other = ServiceProvider(app, tmp_path, name="other")
    other.register(name="Procurement")
    req_id, request = sp.authn_request()
    first, _ = sp.parse(sso(browser, request).get_data(as_text=True), req_id)
    req_id, request = other.authn_request()
    second, _ = other.parse(sso(browser, request, login=False).get_data(as_text=True), req_id)
    assert first.name_id.text != second.name_id.text
    assert citizen not in (first.name_id.text, second.name_id.text)
    assert "name" not in second.get_identity() or second.get_identity()["name"] == ["张三"]


@pytest.mark.parametrize("fmt", [NAMEID_FORMAT_TRANSIENT, NAMEID_FORMAT_UNSPECIFIED])
def test_transient_and_unspecified_name_ids(app, browser, sp, citizen, fmt):
    req_id, request = sp.authn_request(nameid_format=fmt)
    first, _ = sp.parse(sso(browser, request).get_data(as_text=True), req_id)
    req_id, request = sp.authn_request(nameid_format=fmt)
    second, _ = sp.parse(sso(browser, request, login=False).get_data(as_text=True), req_id)
    assert first.name_id.format == fmt
    if fmt == NAMEID_FORMAT_TRANSIENT:
        assert first.name_id.text != second.name_id.text
    else:
        assert first.name_id.text == second.name_id.text == citizen


def test_unsupported_name_id_format_gets_saml_error(app, browser, sp):
    req_id, request = sp.authn_request(nameid_format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    html = send(browser, request).get_data(as_text=True)
    xml = base64.b64decode(posted_fields(html)["SAMLResponse"]).decode()
    assert STATUS_INVALID_NAMEID_POLICY in xml


def test_passive_request_without_session_gets_no_passive(app, browser, sp):
    req_id, request = sp.authn_request(is_passive="true")
    page = send(browser, request)
    assert page.status_code == 200
    xml = base64.b64decode(posted_fields(page.get_data(as_text=True))["SAMLResponse"]).decode()
    assert STATUS_NO_PASSIVE in xml


def test_id_number_only_where_allowed(app, browser, tmp_path, citizen):
    trusted = ServiceProvider(app, tmp_path, name="tax")
    trusted.register(name="Tax", attributes=["name", "id_number"])
    req_id, request = trusted.authn_request()
    html = sso(browser, request).get_data(as_text=True)
    response, _ = trusted.parse(html, req_id)
    identity = response.get_identity()
    assert identity["id_number"] == [CITIZEN_ID] and identity["id_type"] and identity["acr"] == ["urn:idp:loa:1"]


def test_metadata_publishes_signing_certificate_and_endpoints(app, browser):
    response = browser.client.get("/saml/metadata")
    assert response.status_code == 200 and response.content_type.startswith("application/samlmetadata+xml")
    body = response.get_data(as_text=True)
    assert f'entityID="{IDP_ENTITY}"' in body and "X509Certificate" in body
    assert f'Location="{ISSUER}/saml/sso"' in body and f'Location="{ISSUER}/saml/slo"' in body
    assert "md5" not in body and "rsa-sha1" not in body
    again = browser.client.get("/saml/metadata", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_certificate_level_context_steps_up_a_password_session(app, browser, sp):
    from saml2.samlp import RequestedAuthnContext
    from saml2.saml import AuthnContextClassRef
    req_id, request = sp.authn_request()
    sp.parse(sso(browser, request).get_data(as_text=True), req_id)          # a password session
    wanted = RequestedAuthnContext(authn_context_class_ref=[AuthnContextClassRef(
        text="urn:oasis:names:tc:SAML:2.0:ac:classes:X509")], comparison="minimum")
    req_id, request = sp.authn_request(requested_authn_context=wanted)
    response = send(browser, request)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    tx = query_of(response.headers["Location"])["tx"]
    with app.app_context():
        pending = app.extensions["idp"].logins.load(tx)
    assert pending.step_up and pending.acr_values == ["urn:idp:loa:2"]
    # the password alone does not satisfy it: back to the login page, never a response
    resumed = browser.client.get(f"/saml/sso/resume?tx={tx}")
    assert resumed.status_code == 302 and urlsplit(resumed.headers["Location"]).path == "/login"


def test_cancelled_login_answers_authn_failed(app, browser, sp):
    from helpers import csrf_token
    from saml2.samlp import STATUS_AUTHN_FAILED
    req_id, request = sp.authn_request()
    response = send(browser, request)
    location = response.headers["Location"]
    page = browser.client.get(location)
    answer = browser.client.post("/login/cancel", data={"tx": query_of(location)["tx"],
                                                        "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert answer.status_code == 200
    fields = posted_fields(answer.get_data(as_text=True))
    assert fields["action"] == f"{SP_BASE}/sp/acs" and fields["RelayState"] == "back-to-records"
    assert STATUS_AUTHN_FAILED in base64.b64decode(fields["SAMLResponse"]).decode()


def test_force_authn_asks_for_the_password_again(app, browser, sp):
    req_id, request = sp.authn_request()
    sp.parse(sso(browser, request).get_data(as_text=True), req_id)
    req_id, request = sp.authn_request(force_authn="true")
    response = send(browser, request)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


SAML_VALUES = st.one_of(st.text(max_size=200), st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()),
                        st.binary(max_size=300).map(lambda b: base64.b64encode(zlib.compress(b)[2:-4]).decode()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=SAML_VALUES, relay=st.one_of(st.none(), st.text(max_size=50)),
       path=st.sampled_from(["/saml/sso", "/saml/slo"]), post=st.booleans())
def test_arbitrary_messages_get_a_readable_refusal_never_a_500(app, browser, message, relay, path, post):
    values = {"SAMLRequest": message, **({"RelayState": relay} if relay is not None else {})}
    response = browser.client.post(path, data=values) if post else browser.client.get(path + "?" + urlencode(values))
    assert response.status_code == 400, response.status_code
    assert "text/html" in response.content_type
