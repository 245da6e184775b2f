"""Certificate login library: trust profiles, identity extraction, path validation, revocation.

No Flask and no database here. A login view needs three names::

    from idp.pki import TrustStore, CertificateError
    store = TrustStore.from_directory("certs/profiles")
    identity = store.authenticate(pem_or_der, chain)          # -> CertificateIdentity
    store.verify_challenge(identity, challenge, signature)    # raises BadSignature
"""
from .errors import (BadIdCheck, BadKeyUsage, BadSignature, CertificateError, CertificateExpired,
                     CertificateNotYetValid, CertificateRevoked, InputTooLarge,
                     MalformedCertificate, NoIdentity, ProfileError, RevocationUnknown,
                     UntrustedCertificate)
from .identity import CertificateIdentity
from .loading import load_certificate
from .profile import TrustProfile, load_profile, parse_profile
from .revocation import RevocationChecker
from .signatures import verify_challenge_signature as _verify_challenge_signature
from .store import TrustStore


def verify_challenge_signature(cert, data: bytes, signature: bytes, profile=None) -> str:
    """Verify a login challenge signature (RS256, ES256 or SM2-SM3); returns the algorithm.

    ``cert`` may be a ``cryptography`` certificate or PEM/DER bytes or text.
    Raises ``BadSignature`` (or another ``CertificateError`` for unusable input).
    """
    if not hasattr(cert, "tbs_certificate_bytes"):
        cert = load_certificate(cert)
    return _verify_challenge_signature(cert, data, signature, profile)


__all__ = [
    "TrustStore", "TrustProfile", "CertificateIdentity", "RevocationChecker", "load_profile",
    "parse_profile", "load_certificate", "verify_challenge_signature",
    "CertificateError", "MalformedCertificate", "InputTooLarge", "UntrustedCertificate",
    "CertificateExpired", "CertificateNotYetValid", "CertificateRevoked", "RevocationUnknown",
    "BadKeyUsage", "BadIdCheck", "NoIdentity", "BadSignature", "ProfileError",
]
