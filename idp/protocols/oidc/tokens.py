"""JWT access tokens (RFC 9068) and the stored token records behind them."""
from __future__ import annotations

import secrets
import time

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet
from sqlalchemy import bindparam, insert, select, update

from ...audit import log as audit_log
from ...extensions import db
from ...identity.claims import subject_for
from ...storage import writes
from ...storage.prepared import Prepared
from . import codes
from .models import Token, token_hash
from .principal import Principal

# Every column but the id: a prepared INSERT applies no column defaults.
_TOKEN_COLUMNS = tuple(c.name for c in Token.__table__.columns if c.name != "id")
_INSERT_TOKEN = Prepared(insert(Token.__table__).values({name: bindparam(name) for name in _TOKEN_COLUMNS}))


class AccessTokenGenerator(JWTBearerTokenGenerator):
    """Authlib's RFC 9068 generator; the subject is per client (pairwise aware)."""

    def __init__(self, core):
        super().__init__(issuer=core.settings.issuer, alg=core.settings.access_token_alg,
                         refresh_token_generator=lambda *a, **k: secrets.token_urlsafe(48),
                         expires_generator=lambda client, grant_type: core.settings.access_token_ttl)
        self.core = core

    def get_jwks(self):
        return KeySet([self.core.keys.signing_key(self.alg)])

    def get_jti(self, client, grant_type, user, scope):
        # Authlib draws each character from SystemRandom one call at a time; one read is enough.
        return secrets.token_urlsafe(16)

    def get_extra_claims(self, client, grant_type, user, scope):
        if isinstance(user, Principal):
            return {"sub": subject_for(user.person.public_id, client, self.core.pairwise_salt)}
        return {}

    def get_auth_time(self, user):
        return user.auth_time if isinstance(user, Principal) else None

    def get_acr(self, user):
        return user.acr if isinstance(user, Principal) else None

    def get_amr(self, user):
        return list(user.amr) if isinstance(user, Principal) and user.amr else None


def save_token(core, token: dict, request) -> None:
    """Claim the code of a code exchange, store the token record and its audit record: one transaction.
    Nothing else writes through another connection meanwhile (SQLite would wait on its own lock)."""
    now = time.time()
    user = request.user if isinstance(request.user, Principal) else None
    previous = getattr(request, "refresh_token", None)
    code = getattr(request, "authorization_code", None)
    refresh = token.get("refresh_token")
    client_id = request.client.get_client_id()
    scope = token.get("scope", "")
    row = {
        "client_id": client_id,
        "person_id": user.person.id if user else None,
        "scope": scope,
        "access_token_hash": token_hash(token["access_token"]),
        "refresh_token_hash": token_hash(refresh) if refresh else None,
        "family_id": previous.family_id if previous is not None else secrets.token_hex(16),
        "code_id": code.id if code is not None else (previous.code_id if previous is not None else None),
        "sid": user.sid if user else None,
        "auth_time": user.auth_time if user else None,
        "acr": user.acr if user else None,
        "amr": list(user.amr) if user else [],
        "entity_id": user.entity.id if user and user.entity else None,
        "issued_at": now,
        "access_expires_at": now + int(token.get("expires_in", core.settings.access_token_ttl)),
        "refresh_expires_at": (previous.refresh_expires_at if previous is not None
                               else now + core.settings.refresh_token_ttl) if refresh else None,
        "revoked": False,
        "access_revoked": False,
        "refresh_used": False,
    }
    audited = dict(grant_type=getattr(request.payload, "grant_type", None), client_id=client_id,
                   person=user.person.public_id if user else None, scope=scope, refresh=bool(refresh))
    try:
        with writes.session_write(db.session) as conn:
            if code is not None and not codes.claim(conn, code.id):
                raise InvalidGrantError("The authorization code has already been used.")
            _INSERT_TOKEN.execute(conn, row)
            event = audit_log.append(conn, "token.issued", **audited)
    except InvalidGrantError:
        # Another request exchanged the same code since it was read (rolled back, lock released).
        code_replayed(core, code)
        raise
    audit_log.announce("token.issued", event)


def code_replayed(core, code) -> None:
    """RFC 6749 4.1.2: a code used twice revokes the tokens issued from it."""
    revoke_for_code(code.id)
    core.audit("token.code_replay", client_id=code.client_id, person_id=code.person_id)


def revoke_family(family_id: str) -> int:
    result = db.session.execute(update(Token).where(Token.family_id == family_id, Token.revoked.is_(False))
                                .values(revoked=True))
    db.session.commit()
    return result.rowcount


def revoke_for_code(code_id: int) -> int:
    result = db.session.execute(update(Token).where(Token.code_id == code_id, Token.revoked.is_(False))
                                .values(revoked=True))
    db.session.commit()
    return result.rowcount


def revoke_for_session(sid: str) -> int:
    """Tokens issued through an ended SSO session lose their refresh ability."""
    result = db.session.execute(update(Token).where(Token.sid == sid, Token.revoked.is_(False))
                                .values(revoked=True))
    db.session.commit()
    return result.rowcount


def find_by_access_token(value: str) -> Token | None:
    return db.session.scalar(select(Token).where(Token.access_token_hash == token_hash(value)))


def find_by_refresh_token(value: str) -> Token | None:
    return db.session.scalar(select(Token).where(Token.refresh_token_hash == token_hash(value)))


def claim_refresh_token(row: Token) -> bool:
    """Atomically mark a refresh token used; False when another request already used it."""
    result = db.session.execute(update(Token).where(Token.id == row.id, Token.refresh_used.is_(False),
                                                    Token.revoked.is_(False)).values(refresh_used=True))
    db.session.commit()
    return result.rowcount == 1
