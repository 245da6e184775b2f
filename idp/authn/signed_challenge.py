"""Certificate login by signed challenge (USB keys, ``idp-sign``).

The signing software answers a challenge with one object, the same whether it is posted as JSON or
pasted into the login form::

    {"challenge_id", "tx", "certificate", "chain": [...], "signature": base64, "algorithm"}

``SignedChallenge.parse`` checks that object's shape; ``SignedChallengeAuthenticator`` uses up the
challenge, validates the certificate, checks the signature was made over the challenge with the
certificate's key, and finds the account.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ..errors import AuthnError
from ..pki import CertificateError
from .authenticator import LoginContext
from .certificate import METHOD, CertificateRefused, certificate_result, validate_certificate
from .challenge import consume_challenge
from .result import AuthResult

MAX_CHAIN = 8
MAX_SIGNATURE = 4096  # base64 characters

# Refusal codes of the answer's shape (shared with idp.pki's codes of the same meaning).
INVALID_REQUEST = "invalid_request"  # a required member is missing
MALFORMED = "malformed"              # a member has the wrong type or encoding
TOO_LARGE = "too_large"
BAD_SIGNATURE = "bad_signature"


def tx_of(data) -> str | None:
    """The login transaction an answer names, if it names one."""
    tx = data.get("tx") if isinstance(data, dict) else None
    return tx if isinstance(tx, str) and tx else None


@dataclass(frozen=True)
class SignedChallenge:
    challenge_id: str
    certificate: str
    chain: tuple[str, ...]
    signature: bytes
    algorithm: str | None = None
    tx_id: str | None = None  # the login the challenge was issued for; None outside a portal login

    @classmethod
    def parse(cls, data) -> SignedChallenge:
        """Read the signing software's answer; raise ``AuthnError`` (invalid_request, malformed, too_large)."""
        if not isinstance(data, dict):
            raise AuthnError(INVALID_REQUEST, "the answer is not an object")
        if data.get("malformed"):
            raise AuthnError(MALFORMED, "the answer could not be read")
        challenge_id, certificate = data.get("challenge_id"), data.get("certificate")
        chain, signature, algorithm = data.get("chain") or [], data.get("signature"), data.get("algorithm")
        if not isinstance(challenge_id, str) or not challenge_id or not certificate or not signature:
            raise AuthnError(INVALID_REQUEST, "challenge_id, certificate and signature are required")
        if isinstance(chain, str):
            chain = [chain]
        if not isinstance(certificate, str) or not isinstance(signature, str) or not isinstance(chain, list) \
                or not all(isinstance(c, str) for c in chain) or not isinstance(algorithm, (str, type(None))):
            raise AuthnError(MALFORMED, "certificate, chain, signature and algorithm must be strings")
        if len(chain) > MAX_CHAIN or len(signature) > MAX_SIGNATURE:
            raise AuthnError(TOO_LARGE, "too many chain certificates or too long a signature")
        try:
            raw_signature = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise AuthnError(MALFORMED, "the signature is not base64") from None
        return cls(challenge_id, certificate, tuple(chain), raw_signature, algorithm or None, tx_of(data))


class SignedChallengeAuthenticator:
    method = METHOD

    def __init__(self, trust, store):
        self.trust, self.store = trust, store

    def authenticate(self, credentials: SignedChallenge, context: LoginContext) -> AuthResult:
        """Refusals: ``ChallengeError`` (unknown, used, stale, other login) or ``CertificateRefused``."""
        record = consume_challenge(self.store, credentials.challenge_id, credentials.tx_id)
        identity = validate_certificate(self.trust, credentials.certificate, credentials.chain)
        details = {"profile": identity.profile}
        try:
            used = self.trust.verify_challenge(identity, record["challenge"].encode("utf-8"), credentials.signature)
        except CertificateError as exc:
            raise CertificateRefused(exc.code, str(exc), details=details) from None
        if credentials.algorithm and credentials.algorithm != used:
            raise CertificateRefused(BAD_SIGNATURE, f"signed with {used}, not {credentials.algorithm}",
                                     details=details)
        return certificate_result(identity, context)
