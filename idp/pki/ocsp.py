"""OCSP client: build the request, check the response's signer and signature, read the status.

The request is built by ``cryptography`` from precomputed hashes so it works for SM2 issuers too
(``cryptography`` cannot load SM2 keys). A response must be signed by the issuer itself or by a
delegated responder certificate that the issuer signed and that carries the OCSPSigning EKU.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as x509_ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from . import der
from .fetch import FetchError
from .loading import spki_of
from .signatures import verify_by

CLOCK_SKEW = dt.timedelta(minutes=5)
DEFAULT_LIFETIME = dt.timedelta(hours=1)     # for responses without nextUpdate


@dataclass
class OcspAnswer:
    status: str                    # good | revoked | unknown
    detail: str = ""
    valid_until: dt.datetime | None = None
    fetched: float = 0.0

    def usable(self, now: dt.datetime) -> bool:
        if self.status == "unknown":
            return False
        return self.valid_until is None or now <= self.valid_until


def key_hash(cert: x509.Certificate) -> bytes:
    return hashlib.sha1(der.decode_bit_string(spki_of(cert).children()[1])).digest()


def name_hash(cert: x509.Certificate) -> bytes:
    return hashlib.sha1(cert.subject.public_bytes()).digest()


def build_request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    builder = x509_ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash(issuer), key_hash(issuer), cert.serial_number, hashes.SHA1())
    return builder.build().public_bytes(serialization.Encoding.DER)


def responder_urls(cert: x509.Certificate, profile) -> list[str]:
    urls = [profile.revocation.ocsp_url] if profile.revocation.ocsp_url else []
    if profile.revocation.use_aia:
        try:
            aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        except (x509.ExtensionNotFound, ValueError):
            aia = []
        for desc in aia:
            if desc.access_method == AuthorityInformationAccessOID.OCSP and \
                    isinstance(desc.access_location, x509.UniformResourceIdentifier):
                urls.append(desc.access_location.value)
    return [u for u in urls if u.startswith(("http://", "https://"))]


def _signed_by(resp: x509_ocsp.OCSPResponse, signer: x509.Certificate, sm2_id: bytes) -> bool:
    try:
        hash_alg = resp.signature_hash_algorithm
    except UnsupportedAlgorithm:   # SM3
        hash_alg = None
    return verify_by(signer, resp.signature, resp.tbs_response_bytes,
                     algorithm_oid=resp.signature_algorithm_oid.dotted_string,
                     hash_algorithm=hash_alg, sm2_id=sm2_id)


def _responder_matches(resp, cert: x509.Certificate) -> bool:
    if resp.responder_name is not None:
        return resp.responder_name == cert.subject
    return resp.responder_key_hash == key_hash(cert)


def _responder(resp, issuer: x509.Certificate, now: dt.datetime, sm2_id: bytes):
    if _responder_matches(resp, issuer):
        return issuer
    for cand in resp.certificates:
        if not _responder_matches(resp, cand) or cand.issuer != issuer.subject:
            continue
        if not (cand.not_valid_before_utc <= now <= cand.not_valid_after_utc):
            continue
        try:
            eku = cand.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
            continue
        try:
            hash_alg = cand.signature_hash_algorithm
        except UnsupportedAlgorithm:
            hash_alg = None
        if verify_by(issuer, cand.signature, cand.tbs_certificate_bytes,
                     algorithm_oid=cand.signature_algorithm_oid.dotted_string,
                     hash_algorithm=hash_alg, sm2_id=sm2_id):
            return cand
    return None


def interpret(data: bytes, cert: x509.Certificate, issuer: x509.Certificate, now: dt.datetime,
              sm2_id: bytes) -> OcspAnswer:
    """Turn a DER OCSP response into an answer; anything doubtful becomes 'unknown'."""
    try:
        resp = x509_ocsp.load_der_ocsp_response(data)
        if resp.response_status != x509_ocsp.OCSPResponseStatus.SUCCESSFUL:
            return OcspAnswer("unknown", f"responder said {resp.response_status.name}")
        signer = _responder(resp, issuer, now, sm2_id)
        if signer is None or not _signed_by(resp, signer, sm2_id):
            return OcspAnswer("unknown", "response signature does not verify")
        ihash, nhash = key_hash(issuer), name_hash(issuer)
        for single in resp.responses:
            if single.serial_number != cert.serial_number or single.issuer_key_hash != ihash \
                    or single.issuer_name_hash != nhash:
                continue
            if single.this_update_utc > now + CLOCK_SKEW:
                return OcspAnswer("unknown", "response is from the future")
            until = single.next_update_utc or (single.this_update_utc + DEFAULT_LIFETIME)
            if until < now:
                return OcspAnswer("unknown", "response is out of date")
            status = single.certificate_status
            if status == x509_ocsp.OCSPCertStatus.GOOD:
                return OcspAnswer("good", valid_until=until)
            if status == x509_ocsp.OCSPCertStatus.REVOKED:
                return OcspAnswer("revoked", valid_until=None)
            return OcspAnswer("unknown", "responder does not know the certificate")
        return OcspAnswer("unknown", "response does not cover the certificate")
    except (ValueError, der.DerError) as exc:
        return OcspAnswer("unknown", f"unreadable response: {exc}")


def query(cert: x509.Certificate, issuer: x509.Certificate, profile, now: dt.datetime,
          fetcher) -> OcspAnswer:
    urls = responder_urls(cert, profile)
    if not urls:
        return OcspAnswer("unknown", "no OCSP responder configured or in the certificate")
    request = build_request(cert, issuer)
    last = OcspAnswer("unknown", "no responder answered")
    for url in urls:
        try:
            data = fetcher(url, body=request, content_type="application/ocsp-request",
                           timeout=profile.revocation.timeout_seconds)
        except FetchError as exc:
            last = OcspAnswer("unknown", str(exc))
            continue
        last = interpret(data, cert, issuer, now, profile.sm2_id)
        if last.status != "unknown":
            return last
    return last
