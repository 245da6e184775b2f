"""Random values for one login: state, nonce and the PKCE S256 verifier/challenge (RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import secrets


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def code_verifier() -> str:
    # 43..128 characters from the unreserved set; token_urlsafe(48) gives 64.
    return secrets.token_urlsafe(48)


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
