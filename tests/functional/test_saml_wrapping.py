"""XML signature wrapping and comment injection against an SP that signs its requests, on the
AuthnRequest and the LogoutRequest paths, and signatures made with SHA-1: each refused with the
readable page (zh and en), never a SAML answer and never a 500."""
from __future__ import annotations

import base64
import re
from dataclasses import replace

import pytest
from saml2 import BINDING_HTTP_POST
from saml2.saml import NAMEID_FORMAT_TRANSIENT, NameID
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

from helpers import ISSUER
from test_saml import ServiceProvider, send, sso
from test_saml_security import refused

NOT_ITSELF = "signature does not sign the request itself"
BAD_SIGNATURE = "signature is missing or does not verify"
COMMENTS = "XML comments or processing instructions"
WEAK = "algorithm that is not allowed"


@pytest.fixture
def signing_sp(app, tmp_path, citizen):
    provider = ServiceProvider(app, tmp_path, name="signing", sign_requests=True)
    provider.register(name="Signing SP")
    return provider


def signed_authn(sp) -> str:
    _id, (_method, _path, form) = sp.authn_request(binding=BINDING_HTTP_POST)
    return base64.b64decode(form["SAMLRequest"]).decode()


def signed_logout(sp, name_id="a-name-id") -> str:
    _id, request = sp.client.create_logout_request(
        ISSUER + "/saml/slo", ISSUER + "/saml/metadata", sign=True, sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256, name_id=NameID(text=name_id, format=NAMEID_FORMAT_TRANSIENT))
    return str(request)


def posted(path: str, xml: str):
    return "POST", path, {"SAMLRequest": base64.b64encode(xml.encode()).decode()}


class Parts:
    """A signed message cut into its root's start tag, its Issuer, its Signature and the rest."""

    def __init__(self, xml: str):
        xml = re.sub(r"^<\?xml[^>]*\?>\s*", "", xml).strip()
        self.xml = xml
        self.start, self.name = re.match(r"(<(ns0:\w+)[^>]*>)", xml).groups()
        self.id = re.search(r' ID="([^"]+)"', self.start).group(1)
        self.issuer = re.search(r"<ns1:Issuer[^>]*>[^<]*</ns1:Issuer>", xml).group(0)
        self.signature = re.search(r"<ns2:Signature[ >].*?</ns2:Signature>", xml, re.S).group(0)
        self.unsigned = xml.replace(self.signature, "")
        self.end = f"</{self.name}>"

    def root(self, new_id: str, *children: str) -> str:
        return self.start.replace(f'ID="{self.id}"', f'ID="{new_id}"') + "".join(children) + self.end

    def extensions(self, inner: str) -> str:
        return f"<ns0:Extensions>{inner}</ns0:Extensions>"


def wrapped_variants(xml: str) -> dict[str, tuple[str, str]]:
    """name -> (forged message, the refusal's words)."""
    p = Parts(xml)
    body = p.unsigned[len(p.start):-len(p.end)]
    return {
        # the signed original moved inside a new message of another ID
        "moved signed element": (p.root("id-forged", p.issuer, p.extensions(p.xml)), NOT_ITSELF),
        # the original's signature at the root of a forged message, still referring to the original inside it
        "signature refers to the wrapped original": (
            p.root("id-forged", p.issuer, p.signature, p.extensions(p.unsigned)), NOT_ITSELF),
        # a forged message with the original's ID, the original (same ID) kept inside it
        "duplicated message, same ID": (
            p.root(p.id, p.issuer, p.signature, p.extensions(p.unsigned)), NOT_ITSELF),
        # the signature moved away from the root into an extension
        "signature moved into an extension": (
            p.start + body + p.extensions(p.signature) + p.end, NOT_ITSELF),
        # two signatures
        "second signature": (p.start + body.replace(p.issuer, p.issuer + p.signature + p.signature, 1) + p.end,
                             NOT_ITSELF),
        # a comment inside the Issuer: the signature still verifies (exclusive c14n drops comments)
        "comment in Issuer": (xml.replace(">http://localhost:9100/signing</", ">http://localhost:9100/sig<!---->ning</",
                                          1), COMMENTS),
    }


def check_refused(browser, request, words):
    html = refused(browser, request, words)
    assert "This sign-in request cannot be accepted" in html
    zh = send(browser, request, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 400 and "无法接受" in zh.get_data(as_text=True)


VARIANTS = ("moved signed element", "signature refers to the wrapped original", "duplicated message, same ID",
            "signature moved into an extension", "second signature", "comment in Issuer")


@pytest.mark.parametrize("variant", VARIANTS)
def test_wrapped_authn_requests_are_refused(browser, signing_sp, variant):
    xml = signed_authn(signing_sp)
    assert sso(browser, posted("/saml/sso", xml)).status_code == 200  # the original is accepted
    variants = wrapped_variants(signed_authn(signing_sp))
    assert tuple(variants) == VARIANTS
    forged, words = variants[variant]
    check_refused(browser, posted("/saml/sso", forged), words)


@pytest.mark.parametrize("variant", VARIANTS)
def test_wrapped_logout_requests_are_refused(browser, signing_sp, variant):
    forged, words = wrapped_variants(signed_logout(signing_sp))[variant]
    check_refused(browser, posted("/saml/slo", forged), words)


def test_comment_in_a_signed_name_id_is_refused(browser, signing_sp):
    xml = signed_logout(signing_sp, name_id="person-1234")
    forged = xml.replace(">person-1234<", ">person-<!-- -->1234<", 1)
    assert forged != xml
    check_refused(browser, posted("/saml/slo", forged), COMMENTS)


def test_a_signature_element_swapped_for_an_unsigned_forgery_is_refused(browser, signing_sp):
    """The forged message keeps the original's signature value over a changed ACS URL and ForceAuthn."""
    p = Parts(signed_authn(signing_sp))
    forged = p.xml.replace('AssertionConsumerServiceURL="http://localhost:9100/signing/acs"',
                           'ForceAuthn="true" AssertionConsumerServiceURL="http://localhost:9100/signing/acs"')
    check_refused(browser, posted("/saml/sso", forged), BAD_SIGNATURE)


# -- SHA-1 ---------------------------------------------------------------------------------------------

def test_sha1_signatures_are_refused_by_default(browser, signing_sp):
    _id, request = signing_sp.authn_request(sigalg=SIG_RSA_SHA1)          # Redirect: SigAlg in the query
    check_refused(browser, request, WEAK)
    _id, request = signing_sp.authn_request(binding=BINDING_HTTP_POST, sigalg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
    check_refused(browser, request, WEAK)
    _id, request = signing_sp.authn_request(binding=BINDING_HTTP_POST, sigalg=SIG_RSA_SHA256,
                                            digest_alg=DIGEST_SHA1)     # a SHA-1 digest under SHA-256
    check_refused(browser, request, WEAK)


def test_sha1_is_accepted_where_the_allow_list_names_it(app, browser, signing_sp, monkeypatch):
    core = app.extensions["idp"]
    monkeypatch.setattr(core, "settings", replace(core.settings, saml_allowed_hashes=("sha1", "sha256")))
    _id, request = signing_sp.authn_request(sigalg=SIG_RSA_SHA1)
    assert sso(browser, request).status_code == 200
