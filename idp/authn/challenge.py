"""Single-use, short-lived login challenges for signing agents (USB keys, ``idp-sign``).

A challenge is bound to one login transaction (or to a pseudo-transaction of its own when the
login did not start at a portal). The text to sign names the issuer, so a signature made for this
server cannot be replayed against another one. Records outlive their validity by a grace period
so that a late answer gets "expired" rather than "unknown", and a used challenge leaves a marker so
that a replay gets "already used".
"""
from __future__ import annotations

import hmac
import secrets
import time

from ..errors import AuthnError

KIND = "cert_challenge"
USED = "cert_challenge_used"
TTL = 120
GRACE = 600

UNKNOWN = "challenge_unknown"
REPLAYED = "challenge_replayed"
EXPIRED = "challenge_expired"
OTHER_TX = "challenge_other_transaction"

_clock = time.time


class ChallengeError(AuthnError):
    pass


def issue_challenge(store, issuer: str, tx_id: str | None, ttl: int = TTL) -> dict:
    """Create a challenge; returns ``{"challenge_id", "challenge", "tx", "expires_at"}``."""
    challenge_id = secrets.token_urlsafe(18)
    bound_to = tx_id or "pseudo:" + secrets.token_urlsafe(12)
    now = _clock()
    record = {"challenge_id": challenge_id,
              "challenge": f"idp-login:{issuer}:{challenge_id}:{secrets.token_urlsafe(32)}",
              "tx": bound_to, "issued_at": now, "expires_at": now + ttl}
    store.put(KIND, challenge_id, record, ttl + GRACE)
    return record


def consume_challenge(store, challenge_id: str, tx_id: str | None) -> dict:
    """Use up a challenge; raise ``ChallengeError`` if it is unknown, used, stale or for another login."""
    if not challenge_id or len(challenge_id) > 64:
        raise ChallengeError(UNKNOWN, "unknown challenge")
    record = store.consume(KIND, challenge_id)
    if record is None:
        if store.get(USED, challenge_id) is not None:
            raise ChallengeError(REPLAYED, "the challenge has already been used")
        raise ChallengeError(UNKNOWN, "unknown challenge")
    store.put(USED, challenge_id, {"at": _clock()}, TTL + GRACE)
    if _clock() > record["expires_at"]:
        raise ChallengeError(EXPIRED, "the challenge has expired")
    bound = record["tx"]
    if bound.startswith("pseudo:"):
        if tx_id:
            raise ChallengeError(OTHER_TX, "the challenge belongs to another login")
    elif not tx_id or not hmac.compare_digest(bound, tx_id):
        raise ChallengeError(OTHER_TX, "the challenge belongs to another login")
    return record


def login_tx_of(record: dict) -> str | None:
    """The portal login transaction a challenge was issued for, if any."""
    return None if record["tx"].startswith("pseudo:") else record["tx"]
