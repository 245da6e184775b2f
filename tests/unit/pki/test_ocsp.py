"""OCSP: a tiny responder on 127.0.0.1 answers good or revoked; bad answers fail closed."""
import tomllib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from idp.pki import CertificateError, TrustStore, parse_profile
from ocsp_responder import OcspResponder


@pytest.fixture
def responder(pki):
    cert = x509.load_pem_x509_certificate(pki.read("demo-serial/root.pem"))
    key = serialization.load_pem_private_key(pki.read("private/demo-serial/root.key.pem"), b"demo")
    revoked_cert = x509.load_pem_x509_certificate(pki.cert("demo-serial", "revoked"))
    r = OcspResponder(cert, key, {revoked_cert.serial_number})
    yield r
    r.stop()


def _ocsp_store(pki, url):
    path = pki.profiles / "demo-serial.toml"
    raw = tomllib.loads(path.read_text())
    raw["revocation"].update({"mode": "ocsp", "ocsp_url": url, "crl_urls": []})
    return TrustStore([parse_profile(raw, base=path.parent)])


def _code(store, cert):
    try:
        store.authenticate(cert)
        return "ok"
    except CertificateError as exc:
        return exc.code


def test_ocsp_good_and_cached(pki, responder):
    store = _ocsp_store(pki, responder.url)
    assert _code(store, pki.cert("demo-serial", "person")) == "ok"
    assert _code(store, pki.cert("demo-serial", "person")) == "ok"
    assert responder.requests == 1          # the second login used the cache


def test_ocsp_revoked(pki, responder):
    store = _ocsp_store(pki, responder.url)
    assert _code(store, pki.cert("demo-serial", "revoked")) == "revoked"


def test_ocsp_forged_response_fails_closed(pki, responder):
    responder.mode = "forged"
    store = _ocsp_store(pki, responder.url)
    assert _code(store, pki.cert("demo-serial", "person")) == "revocation_unknown"


def test_ocsp_error_response_fails_closed(pki, responder):
    responder.mode = "garbage"
    store = _ocsp_store(pki, responder.url)
    assert _code(store, pki.cert("demo-serial", "person")) == "revocation_unknown"


def test_ocsp_unreachable_fails_closed(pki, responder):
    url = responder.url
    responder.stop()
    store = _ocsp_store(pki, url)
    assert _code(store, pki.cert("demo-serial", "person")) == "revocation_unknown"
    responder.stop = lambda: None
