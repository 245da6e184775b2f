"""How every secret random value the server hands out is stored: its SHA-256, as 64 lowercase hex digits.

Tokens, authorization codes, SSO session cookies, CAS tickets, registration tokens and client secrets
are all at least 128-bit random values, so a fast hash is enough (a slow password hash would cap the
token endpoint's throughput), and a stolen database gives none of them away. The format is what the
existing rows hold: changing it would orphan every stored hash.
"""
from __future__ import annotations

import hashlib


def token_hash(value: str) -> str:
    """The stored form of a secret value: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
