"""Signature checks over certificates' keys: CRLs, OCSP responses and the login challenge.

RSA (PKCS#1 v1.5) and ECDSA go through ``cryptography``; SM2-with-SM3 goes through ``sm2.py``.
"""
from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import der, sm2
from .errors import BadSignature, MalformedCertificate
from .loading import spki_of

MAX_SIGNATURE = 4096
MAX_CHALLENGE = 64 * 1024


def _sm2_point(cert: x509.Certificate) -> sm2.Point | None:
    try:
        spki = spki_of(cert)
        return sm2.point_from_spki(spki) if sm2.spki_is_sm2(spki) else None
    except (der.DerError, sm2.SM2Error):
        return None


def verify_by(signer: x509.Certificate, signature: bytes, data: bytes, *, algorithm_oid: str,
              hash_algorithm: hashes.HashAlgorithm | None, sm2_id: bytes = sm2.DEFAULT_ID) -> bool:
    """True if ``signer``'s key made ``signature`` over ``data`` with the named algorithm."""
    if algorithm_oid == sm2.SM2_SM3_SIGNATURE_OID:
        point = _sm2_point(signer)
        return point is not None and sm2.verify(point, signature, data, sm2_id)
    try:
        key = signer.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return False
    if hash_algorithm is None:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def challenge_algorithm(cert: x509.Certificate) -> str:
    """The JOSE-style name of the challenge signature algorithm for this certificate's key."""
    if _sm2_point(cert) is not None:
        return "SM2-SM3"
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise MalformedCertificate(detail="unsupported public key") from None
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise MalformedCertificate("The certificate's key type cannot sign a login challenge.",
                               message_zh="证书的密钥类型不支持登录签名。")


def verify_challenge_signature(cert: x509.Certificate, data: bytes, signature: bytes,
                               profile=None) -> str:
    """Check the login challenge signature; return the algorithm name or raise ``BadSignature``.

    RSA: PKCS#1 v1.5 with SHA-256. ECDSA P-256: SHA-256, DER (or raw 64-byte r||s) signature.
    SM2: SM2-with-SM3 using the profile's distinguishing ID.
    """
    if not isinstance(data, (bytes, bytearray)) or not isinstance(signature, (bytes, bytearray)):
        raise MalformedCertificate(detail="challenge and signature must be bytes")
    if len(signature) > MAX_SIGNATURE or len(data) > MAX_CHALLENGE:
        raise BadSignature("The signature or challenge is too large.", message_zh="签名数据过大。")
    algorithm = challenge_algorithm(cert)
    signature, data = bytes(signature), bytes(data)
    if algorithm == "SM2-SM3":
        distid = getattr(profile, "sm2_id", sm2.DEFAULT_ID)
        ok = verify_by(cert, signature, data, algorithm_oid=sm2.SM2_SM3_SIGNATURE_OID,
                       hash_algorithm=None, sm2_id=distid)
    else:
        if algorithm == "ES256" and len(signature) == 64:
            signature = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                             int.from_bytes(signature[32:], "big"))
        ok = verify_by(cert, signature, data, algorithm_oid="", hash_algorithm=hashes.SHA256())
    if not ok:
        raise BadSignature(detail=f"{algorithm} signature does not verify")
    return algorithm
