"""A tiny OCSP responder on 127.0.0.1 for tests: answers good or revoked, or forged/garbage on demand."""
import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp


class OcspResponder:
    """Answers for one issuer: revoked for the given serials, good otherwise; stop() in teardown."""

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
