"""OCSP: a tiny responder on 127.0.0.1 answers good or revoked; bad answers fail closed."""
import datetime as dt
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from idp.pki import CertificateError, TrustStore, parse_profile


class Responder:
    def __init__(self, issuer_cert, issuer_key, revoked: set[int]):
        self.issuer_cert, self.issuer_key, self.revoked = issuer_cert, issuer_key, revoked
        self.requests = 0
        self.mode = "normal"          # normal | forged | garbage
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests += 1
                data = outer.answer(ocsp.load_der_ocsp_request(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, req) -> bytes:
        if self.mode == "garbage":
            return b"\x30\x03\x0a\x01\x00"
        now = dt.datetime.now(dt.timezone.utc)
        revoked = req.serial_number in self.revoked
        # a response built for a stand-in certificate with the requested serial
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash, issuer_key_hash=req.issuer_key_hash,
            serial_number=req.serial_number, algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=now - dt.timedelta(minutes=1), next_update=now + dt.timedelta(hours=1),
            revocation_time=now - dt.timedelta(days=1) if revoked else None,
            revocation_reason=None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, self.issuer_cert)
        key = ec.generate_private_key(ec.SECP256R1()) if self.mode == "forged" else self.issuer_key
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def responder(pki):
    cert = x509.load_pem_x509_certificate(pki.read("demo-serial/root.pem"))
    key = serialization.load_pem_private_key(pki.read("private/demo-serial/root.key.pem"), b"demo")
    revoked_cert = x509.load_pem_x509_certificate(pki.cert("demo-serial", "revoked"))
    r = Responder(cert, key, {revoked_cert.serial_number})
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
