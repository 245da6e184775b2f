"""Signed checkpoints of the audit chain head: a compact JWS, by a signing key of the server, over
``{"seq": N, "head": <hash of record N>, "at": <time>}``. Deleting the newest records, or rewriting the
chain and recomputing its hashes, leaves a signed head that the stored chain no longer reaches."""
from __future__ import annotations

import json
from dataclasses import dataclass

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select

from ..keys.models import SigningKey

ALGS = {"EC": "ES256", "RSA": "RS256"}


def payload(seq: int, head: str, at: float) -> bytes:
    return json.dumps({"seq": seq, "head": head, "at": repr(at)}, sort_keys=True,
                      separators=(",", ":")).encode("ascii")


def sign(key, seq: int, head: str, at: float) -> str:
    """``key``: a joserfc private key carrying its kid (the server's active signing key)."""
    return jws.serialize_compact({"alg": ALGS[key.key_type], "kid": key.kid, "typ": "idp-audit-checkpoint"},
                                 payload(seq, head, at), key, algorithms=list(ALGS.values()))


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head: str
    at: float
    kid: str
    jws: str

    def as_dict(self) -> dict:
        return {"seq": self.seq, "head": self.head, "at": self.at, "kid": self.kid, "jws": self.jws}

    @classmethod
    def from_dict(cls, data: dict) -> "Checkpoint":
        return cls(int(data["seq"]), str(data["head"]), float(data["at"]), str(data["kid"]), str(data["jws"]))


class PublicKeys:
    """Every key the server ever signed with, retired ones included (a checkpoint outlives its key's
    publication), looked up by kid."""

    def __init__(self, session, extra: tuple[dict, ...] = ()):
        """``extra``: public JWKs from elsewhere (an export), used for kids the database lacks."""
        self._session = session
        self._extra = extra
        self._keys: dict | None = None

    def get(self, kid: str):
        if self._keys is None:
            self._keys = {}
            for jwk in self._extra:
                self._keys[jwk.get("kid")] = _import(jwk)
            for row_kid, jwk in self._session.execute(select(SigningKey.kid, SigningKey.public_jwk)):
                self._keys[row_kid] = _import(jwk)
        return self._keys.get(kid)


def _import(jwk: dict):
    return (ECKey if jwk.get("kty") == "EC" else RSAKey).import_key(dict(jwk))


def problem_with(checkpoint: Checkpoint, keys: PublicKeys) -> str | None:
    """Why the checkpoint's signature does not hold (None when it does)."""
    what = f"the checkpoint of chain position {checkpoint.seq}"
    try:
        header = jws.extract_compact(checkpoint.jws.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        return f"{what} is not a readable signature"
    kid = header.get("kid")
    if kid != checkpoint.kid:
        return f"{what} names key {checkpoint.kid} but was signed by {kid}"
    key = keys.get(kid)
    if key is None:
        return f"{what} was signed by key {kid}, which this server never had"
    try:
        signed = jws.deserialize_compact(checkpoint.jws, key, algorithms=list(ALGS.values()))
    except (JoseError, ValueError):
        return f"{what} has an invalid signature"
    if signed.payload != payload(checkpoint.seq, checkpoint.head, checkpoint.at):
        return f"{what} was altered after it was signed"
    return None
