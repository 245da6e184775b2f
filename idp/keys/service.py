"""Key manager: the active signing key per algorithm and the published JWKS, cached in memory."""
from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select

from ..errors import NotFound, ValidationError
from ..extensions import db
from ..identity.models import utcnow
from .models import SigningKey
from .sealing import seal, unseal

SUPPORTED_ALGS = ("RS256", "ES256")
CACHE_SECONDS = 5.0


def _generate(alg: str, kid: str):
    params = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    raise ValidationError(f"unsupported key algorithm {alg!r}; use one of {', '.join(SUPPORTED_ALGS)}")


@dataclass(frozen=True)
class _Snapshot:
    loaded_at: float
    active: dict            # alg -> joserfc private key
    public_jwks: dict       # {"keys": [...]}
    public_set: KeySet
    jwks_json: str


class KeyManager:
    def __init__(self, master_key: bytes):
        self._master_key = master_key
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    # --- reading (hot path, cached) -------------------------------------------
    def _load(self) -> _Snapshot:
        snap = self._snapshot
        if snap is not None and time.monotonic() - snap.loaded_at < CACHE_SECONDS:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and time.monotonic() - snap.loaded_at < CACHE_SECONDS:
                return snap
            rows = db.session.scalars(select(SigningKey).where(SigningKey.status != "retired")
                                      .order_by(SigningKey.id)).all()
            active = {}
            public = []
            for row in rows:
                public.append(dict(row.public_jwk))
                if row.status == "active":
                    pem = unseal(self._master_key, row.private_key_encrypted, row.kid)
                    cls = RSAKey if row.alg == "RS256" else ECKey
                    active[row.alg] = cls.import_key(pem, parameters={"kid": row.kid, "alg": row.alg, "use": "sig"})
            jwks = {"keys": public}
            snap = _Snapshot(time.monotonic(), active, jwks, KeySet.import_key_set(jwks),
                             json.dumps(jwks, separators=(",", ":")))
            self._snapshot = snap
            return snap

    def invalidate(self) -> None:
        self._snapshot = None

    def signing_key(self, alg: str):
        key = self._load().active.get(alg)
        if key is None:
            self.ensure_active_keys()
            key = self._load().active.get(alg)
        if key is None:
            raise NotFound(f"no active {alg} signing key")
        return key

    def public_jwks(self) -> dict:
        return self._load().public_jwks

    def jwks_json(self) -> str:
        return self._load().jwks_json

    def public_key_set(self) -> KeySet:
        return self._load().public_set

    # --- writing --------------------------------------------------------------
    def ensure_active_keys(self) -> list[SigningKey]:
        """Create an active key for each supported algorithm that lacks one."""
        created = []
        for alg in SUPPORTED_ALGS:
            exists = db.session.scalar(select(SigningKey.id).where(SigningKey.alg == alg,
                                                                   SigningKey.status == "active"))
            if not exists:
                created.append(self._create(alg, "active"))
        if created:
            db.session.commit()
            self.invalidate()
        return created

    def rotate(self, alg: str | None = None) -> list[SigningKey]:
        """Make a new key active; the previous active key stays published as 'previous'."""
        algs = [alg] if alg else list(SUPPORTED_ALGS)
        for a in algs:
            if a not in SUPPORTED_ALGS:
                raise ValidationError(f"unsupported key algorithm {a!r}; use one of {', '.join(SUPPORTED_ALGS)}")
        now = utcnow()
        created = []
        for a in algs:
            for old in db.session.scalars(select(SigningKey).where(SigningKey.alg == a,
                                                                   SigningKey.status == "active")):
                old.status = "previous"
                old.deactivated_at = now
            created.append(self._create(a, "active"))
        db.session.commit()
        self.invalidate()
        return created

    def retire(self, kid: str) -> SigningKey:
        row = db.session.scalar(select(SigningKey).where(SigningKey.kid == kid))
        if row is None:
            raise NotFound(f"no signing key with kid {kid!r}")
        if row.status == "active":
            raise ValidationError(f"key {kid} is active; rotate first, then retire it")
        row.status = "retired"
        row.retired_at = utcnow()
        db.session.commit()
        self.invalidate()
        return row

    def list_keys(self) -> list[SigningKey]:
        return list(db.session.scalars(select(SigningKey).order_by(SigningKey.id)))

    def _create(self, alg: str, status: str) -> SigningKey:
        kid = f"{alg.lower()}-{secrets.token_hex(6)}"
        key = _generate(alg, kid)
        pem = key.as_pem(private=True)
        row = SigningKey(kid=kid, alg=alg, status=status,
                         private_key_encrypted=seal(self._master_key, pem, kid),
                         public_jwk=key.as_dict(private=False),
                         activated_at=utcnow() if status == "active" else None)
        db.session.add(row)
        db.session.flush()
        return row
