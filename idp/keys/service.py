"""Key manager: the active signing key per algorithm and the published JWKS, cached in memory."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit.log import record as audit_record
from ..errors import ConfigError, NotFound, ValidationError
from ..extensions import db
from ..identity.models import utcnow
from .lifecycle import Lifecycle, apply_due_transitions, as_utc
from .models import SigningKey
from .sealing import seal, unseal

log = logging.getLogger("idp.keys")

SUPPORTED_ALGS = ("RS256", "ES256")
CACHE_SECONDS = 5.0


def entity_tag(body: bytes) -> str:
    """A strong HTTP entity tag (RFC 9110 8.8.3) of a published document."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _generate(alg: str, kid: str):
    params = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    raise ValidationError(f"unsupported key algorithm {alg!r}; use one of {', '.join(SUPPORTED_ALGS)}")


@dataclass(frozen=True)
class _Snapshot:
    valid_until: float      # time.time() after which the snapshot is reloaded
    active: dict            # alg -> joserfc private key
    private: dict           # kid -> joserfc private key (kept across reloads)
    unreadable: dict        # alg -> why its active key cannot be decrypted here
    public_jwks: dict       # {"keys": [...]}
    public_set: KeySet
    jwks_json: str
    jwks_bytes: bytes       # jwks_json encoded, as served
    jwks_etag: str          # a strong entity tag of jwks_bytes: it changes with the published keys


class KeyManager:
    """Signing keys per algorithm. Readers see a snapshot reloaded at most every CACHE_SECONDS (and at
    the next scheduled transition); writers invalidate it. A new key is published (pending) for
    ``lifecycle.prepublish_seconds`` before it signs, which is what keeps every worker's JWKS ahead of
    any worker's signing key."""

    def __init__(self, master_key: bytes, previous_master_keys: tuple[bytes, ...] = (),
                 lifecycle: Lifecycle | None = None):
        self._master_key = master_key
        self._previous_master_keys = tuple(previous_master_keys)
        self.lifecycle = lifecycle or Lifecycle()
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def configure(self, settings) -> None:
        """Apply the life-cycle settings (pre-publication, retention) and the former master key."""
        longest = max(settings.id_token_ttl, settings.access_token_ttl)
        self.lifecycle = Lifecycle(prepublish_seconds=settings.key_prepublish_seconds,
                                   retain_seconds=longest + settings.key_retire_leeway_seconds + int(CACHE_SECONDS) + 1)
        if settings.master_key_previous:
            self._previous_master_keys = (settings.master_key_previous,)
        self.invalidate()

    # --- reading (hot path, cached) -------------------------------------------
    def _load(self) -> _Snapshot:
        snap = self._snapshot
        if snap is not None and time.time() < snap.valid_until:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap is not None and time.time() < snap.valid_until:
                return snap
            self._apply_transitions()
            snap = self._build(snap)
            if not snap.public_jwks["keys"]:
                # a new installation: create the first keys rather than publish an empty JWKS
                self.ensure_active_keys()
                snap = self._build(None)
            self._snapshot = snap
            return snap

    def apply_due_transitions(self) -> None:
        """Promote and retire the keys whose time has come (the ``keys.transitions`` job)."""
        self._apply_transitions()
        self.invalidate()

    def _apply_transitions(self) -> None:
        with db.engine.begin() as conn:
            changes = apply_due_transitions(conn, self.lifecycle, utcnow())
        if changes:
            for obj in list(db.session.identity_map.values()):
                if isinstance(obj, SigningKey):
                    db.session.expire(obj)
        for change in changes:
            event = change.pop("event")
            log.info("signing key %s: %s", change["kid"], event)
            audit_record(event, **change)

    def _build(self, previous: _Snapshot | None) -> _Snapshot:
        rows = db.session.scalars(select(SigningKey).where(SigningKey.status != "retired")
                                  .order_by(SigningKey.id).execution_options(populate_existing=True)).all()
        known = previous.private if previous is not None else {}
        active, private, unreadable, public = {}, {}, {}, []
        for row in rows:
            public.append(dict(row.public_jwk))
            if row.status != "active":
                continue
            try:
                key = known.get(row.kid) or self._import_private(row)
            except ConfigError as exc:
                # e.g. another process rewrapped the keys under a master key this worker does not know
                log.error("%s; the key stays published but this worker cannot sign with it", exc)
                unreadable[row.alg] = exc
                continue
            private[row.kid] = key
            active[row.alg] = key
        jwks = {"keys": public}
        valid_until = time.time() + CACHE_SECONDS
        change = self.lifecycle.next_change(rows)
        if change is not None:
            valid_until = min(valid_until, change.timestamp())
        key_set = KeySet.import_key_set(jwks) if public else KeySet([])
        text = json.dumps(jwks, separators=(",", ":"))
        body = text.encode()
        return _Snapshot(valid_until, active, private, unreadable, jwks, key_set, text, body, entity_tag(body))

    def _import_private(self, row: SigningKey):
        pem = self._unseal(row)
        cls = RSAKey if row.alg == "RS256" else ECKey
        return cls.import_key(pem, parameters={"kid": row.kid, "alg": row.alg, "use": "sig"})

    def _unseal(self, row: SigningKey) -> bytes:
        error = None
        for master in (self._master_key, *self._previous_master_keys):
            try:
                return unseal(master, row.private_key_encrypted, row.kid)
            except ConfigError as exc:
                error = exc
        raise error

    def invalidate(self) -> None:
        self._snapshot = None

    def signing_key(self, alg: str):
        snap = self._load()
        key = snap.active.get(alg)
        if key is None and alg in snap.unreadable:
            raise snap.unreadable[alg]
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

    def jwks_document(self) -> tuple[bytes, str]:
        """The published JWKS as served and its entity tag, from the current snapshot (reloaded from the
        database at most ``CACHE_SECONDS`` after another process changed the keys)."""
        snap = self._load()
        return snap.jwks_bytes, snap.jwks_etag

    def fresh_jwks_document(self) -> tuple[bytes, str] | None:
        """``jwks_document()`` when the snapshot needs no reload (no database, no application context
        needed), else None: the caller then takes the ordinary path, which reloads it."""
        snap = self._snapshot
        if snap is None or time.time() >= snap.valid_until:
            return None
        return snap.jwks_bytes, snap.jwks_etag

    def public_key_set(self) -> KeySet:
        return self._load().public_set

    # --- writing --------------------------------------------------------------
    def ensure_active_keys(self) -> list[SigningKey]:
        """Create an active key for each supported algorithm that lacks one (first start)."""
        self._apply_transitions()
        created = []
        for alg in SUPPORTED_ALGS:
            exists = db.session.scalar(select(SigningKey.id).where(SigningKey.alg == alg,
                                                                   SigningKey.status == "active"))
            if exists:
                continue
            try:
                row = self._create(alg, "active")
                db.session.commit()
            except IntegrityError:
                # another worker starting at the same moment created it (one active key per algorithm)
                db.session.rollback()
                continue
            created.append(row)
            log.info("created the first %s signing key %s", row.alg, row.kid)
        self.invalidate()
        return created

    def rotate(self, alg: str | None = None, *, immediate: bool = False) -> list[SigningKey]:
        """Create the next key of each algorithm (or of ``alg``).

        The new key is 'pending': published in JWKS, signing nothing, until the pre-publication period
        is over; then it becomes active and the current key 'previous'. With ``immediate`` (or a
        period of 0, or no current key) it signs at once: relying parties that cached the JWKS meet
        an unknown kid and must refetch, so keep that for a compromised key.
        """
        algs = [alg] if alg else list(SUPPORTED_ALGS)
        for a in algs:
            if a not in SUPPORTED_ALGS:
                raise ValidationError(f"unsupported key algorithm {a!r}; use one of {', '.join(SUPPORTED_ALGS)}")
        self._apply_transitions()
        now = utcnow()
        created = []
        for a in algs:
            waiting = db.session.scalar(select(SigningKey).where(SigningKey.alg == a, SigningKey.status == "pending"))
            if waiting is not None and not immediate:
                raise ValidationError(f"{a} key {waiting.kid} is already waiting to become active at "
                                      f"{self.lifecycle.activates_at(waiting).isoformat()}; retire it first "
                                      "or rotate with immediate=True")
            current = db.session.scalars(select(SigningKey).where(SigningKey.alg == a,
                                                                  SigningKey.status == "active")).all()
            at_once = immediate or self.lifecycle.prepublish_seconds == 0 or not current
            if at_once:
                for old in current:
                    old.status, old.deactivated_at = "previous", now
                if waiting is not None:
                    waiting.status, waiting.retired_at = "retired", now
            try:
                created.append(self._create(a, "active" if at_once else "pending"))
            except IntegrityError:
                db.session.rollback()
                raise ValidationError(f"another {a} key became active while this rotation ran; list the keys "
                                      "and rotate again if still needed") from None
        db.session.commit()
        self.invalidate()
        for row in created:
            audit_record("key.rotated", kid=row.kid, alg=row.alg, status=row.status,
                         activates_at=_iso(self.lifecycle.activates_at(row)))
        return created

    def retire(self, kid: str) -> SigningKey:
        """Stop publishing a key that does not sign (previous, or a pending key that should not start)."""
        row = db.session.scalar(select(SigningKey).where(SigningKey.kid == kid))
        if row is None:
            raise NotFound(f"no signing key with kid {kid!r}")
        if row.status == "active":
            raise ValidationError(f"key {kid} is active; rotate first, then retire it")
        if row.status == "retired":
            return row
        row.status = "retired"
        row.retired_at = utcnow()
        db.session.commit()
        self.invalidate()
        audit_record("key.retired", kid=row.kid, alg=row.alg, reason="manual")
        return row

    def list_keys(self) -> list[SigningKey]:
        self._apply_transitions()
        self.invalidate()
        return list(db.session.scalars(select(SigningKey).order_by(SigningKey.id)))

    def describe(self, row: SigningKey) -> dict:
        """A key's state and schedule, for the CLI, the admin API and metrics."""
        created = as_utc(row.created_at)
        return {"kid": row.kid, "alg": row.alg, "status": row.status, "created_at": _iso(created),
                "activated_at": _iso(as_utc(row.activated_at)),
                "deactivated_at": _iso(as_utc(row.deactivated_at)), "retired_at": _iso(as_utc(row.retired_at)),
                "activates_at": _iso(self.lifecycle.activates_at(row)),
                "retires_at": _iso(self.lifecycle.retires_at(row))}

    def rewrap(self, new_master_key: bytes) -> int:
        """Re-encrypt every private key under ``new_master_key`` in one transaction; returns the count.

        Workers still configured with the old key keep signing with the keys they hold in memory; start
        them with IDP_MASTER_KEY=<new> and IDP_MASTER_KEY_PREVIOUS=<old> until all have restarted.
        """
        if not isinstance(new_master_key, bytes) or len(new_master_key) != 32:
            raise ValidationError("the new master key must be 32 bytes")
        rows = list(db.session.scalars(select(SigningKey).order_by(SigningKey.id)))
        try:
            for row in rows:
                pem = self._unseal(row)
                row.private_key_encrypted = seal(new_master_key, pem, row.kid)
                if unseal(new_master_key, row.private_key_encrypted, row.kid) != pem:
                    raise ConfigError(f"re-encrypting key {row.kid} did not round-trip")
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        self._previous_master_keys = (self._master_key, *self._previous_master_keys)
        self._master_key = new_master_key
        self.invalidate()
        audit_record("key.rewrapped", count=len(rows))
        return len(rows)

    def _create(self, alg: str, status: str) -> SigningKey:
        kid = f"{alg.lower()}-{secrets.token_hex(6)}"
        key = _generate(alg, kid)
        pem = key.as_pem(private=True)
        now = utcnow()
        row = SigningKey(kid=kid, alg=alg, status=status,
                         private_key_encrypted=seal(self._master_key, pem, kid),
                         public_jwk=key.as_dict(private=False), created_at=now,
                         activated_at=now if status == "active" else None)
        db.session.add(row)
        db.session.flush()
        return row


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
