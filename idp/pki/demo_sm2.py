"""Hand-built SM2 certificates and CRLs for the demo PKI.

``cryptography`` cannot sign with SM2, so a certificate is first built by ``cryptography`` with a
throw-away P-256 key (which takes care of names, validity and extensions), then its
TBSCertificate is re-encoded with the SM2 public key and the SM2-with-SM3 algorithm identifier
and signed through ``sm2.py``. CRLs are made the same way.
"""
from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from . import der, sm2

SM2_SM3_ALGORITHM = der.sequence(der.oid(sm2.SM2_SM3_SIGNATURE_OID))
_PLACEHOLDER = ec.generate_private_key(ec.SECP256R1())


def key_identifier(point: sm2.Point) -> bytes:
    return hashlib.sha1(sm2.point_to_bytes(point)).digest()


def _fields(tbs: bytes) -> list[bytes]:
    return [item.raw for item in der.read_single(tbs).children()]


def _assemble(tbs: bytes, signer: int, distid: bytes) -> bytes:
    signature = sm2.sign(signer, tbs, distid)
    return der.sequence(tbs, SM2_SM3_ALGORITHM, der.bit_string(signature))


def sign_certificate(builder: x509.CertificateBuilder, subject_point: sm2.Point,
                     issuer_private: int, issuer_point: sm2.Point,
                     distid: bytes = sm2.DEFAULT_ID) -> x509.Certificate:
    """Finish ``builder`` (names, validity, serial, extensions set) as an SM2 certificate.

    Subject and authority key identifiers are added here from the SM2 points.
    """
    builder = (builder.public_key(_PLACEHOLDER.public_key())
               .add_extension(x509.SubjectKeyIdentifier(key_identifier(subject_point)), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier(key_identifier(issuer_point), None, None),
                              critical=False))
    draft = builder.sign(_PLACEHOLDER, hashes.SHA256())
    fields = _fields(draft.tbs_certificate_bytes)
    # TBSCertificate: [0] version, serial, signature, issuer, validity, subject, spki, [3] extensions
    fields[2] = SM2_SM3_ALGORITHM
    fields[6] = sm2.spki_bytes(subject_point)
    tbs = der.sequence(*fields)
    return x509.load_der_x509_certificate(_assemble(tbs, issuer_private, distid))


def sign_crl(builder: x509.CertificateRevocationListBuilder, issuer_private: int,
             issuer_point: sm2.Point, distid: bytes = sm2.DEFAULT_ID) -> x509.CertificateRevocationList:
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier(key_identifier(issuer_point), None, None), critical=False)
    draft = builder.sign(_PLACEHOLDER, hashes.SHA256())
    fields = _fields(draft.tbs_certlist_bytes)
    # TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, revoked?, [0] extensions
    fields[1] = SM2_SM3_ALGORITHM
    tbs = der.sequence(*fields)
    return x509.load_der_x509_crl(_assemble(tbs, issuer_private, distid))
