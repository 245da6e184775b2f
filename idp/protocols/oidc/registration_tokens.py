"""Bearer tokens of Dynamic Client Registration, stored hashed.

* initial access tokens (RFC 7591 3): an admin issues one; each registers up to ``uses`` clients
  before it expires;
* registration access tokens (RFC 7592 3): issued with a registered client; they read, update
  and delete that client's registration only.
"""
from __future__ import annotations

import hmac
import secrets
import time
from datetime import datetime, timezone

from sqlalchemy import Boolean, Float, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from ...errors import NotFound, ValidationError
from ...extensions import db
from ...storage.token_hash import token_hash

INITIAL = "initial"
REGISTRATION = "registration"
MAX_TOKEN_LENGTH = 512


class RegistrationToken(db.Model):
    __tablename__ = "registration_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    uses_left: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    note: Mapped[str] = mapped_column(String(255), default="")
    issued_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    def check_client(self, client) -> bool:
        """Authlib's TokenMixin check: a registration access token manages its own client only."""
        return self.kind == REGISTRATION and client is not None and hmac.compare_digest(
            self.client_id or "", client.get_client_id())

    def usable(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if self.revoked or (self.expires_at is not None and self.expires_at <= now):
            return False
        return self.kind != INITIAL or (self.uses_left or 0) > 0

    def describe(self) -> dict:
        """Public facts about an initial access token (never the token)."""
        return {"id": self.id, "kind": self.kind, "uses_left": self.uses_left, "note": self.note,
                "issued_by": self.issued_by, "revoked": self.revoked, "client_id": self.client_id,
                "created_at": _iso(self.created_at), "expires_at": _iso(self.expires_at)}


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat() if ts is not None else None


def issue_initial_token(*, expires_in: int | None = None, uses: int = 1, note: str = "",
                        issued_by: str | None = None) -> dict:
    """Create an initial access token; the returned ``token`` is shown once and stored only hashed."""
    from flask import current_app
    core = current_app.extensions["idp"]
    expires_in = core.settings.initial_token_ttl if expires_in is None else int(expires_in)
    if expires_in <= 0:
        raise ValidationError("expires_in must be a positive number of seconds")
    if not isinstance(uses, int) or uses < 1:
        raise ValidationError("uses must be a positive integer")
    note = (note or "").strip()
    if len(note) > 255:
        raise ValidationError("note must be at most 255 characters")
    token = secrets.token_urlsafe(32)
    row = RegistrationToken(kind=INITIAL, token_hash=token_hash(token), uses_left=uses,
                            expires_at=time.time() + expires_in, note=note, issued_by=issued_by)
    db.session.add(row)
    db.session.commit()
    core.audit("registration.initial_token_issued", token_id=row.id, uses=uses, expires_in=expires_in,
               issued_by=issued_by, note=note or None)
    return {"token": token, **row.describe()}


def list_initial_tokens() -> list[dict]:
    rows = db.session.scalars(select(RegistrationToken).where(RegistrationToken.kind == INITIAL)
                              .order_by(RegistrationToken.id))
    return [row.describe() for row in rows]


def revoke_initial_token(token_id: int, *, revoked_by: str | None = None) -> dict:
    from flask import current_app
    row = db.session.get(RegistrationToken, token_id)
    if row is None or row.kind != INITIAL:
        raise NotFound(f"no initial access token {token_id!r}")
    row.revoked = True
    db.session.commit()
    current_app.extensions["idp"].audit("registration.initial_token_revoked", token_id=row.id,
                                        revoked_by=revoked_by)
    return row.describe()


def find_token(value: str | None, kind: str) -> RegistrationToken | None:
    if not isinstance(value, str) or not value or len(value) > MAX_TOKEN_LENGTH:
        return None
    row = db.session.scalar(select(RegistrationToken).where(RegistrationToken.token_hash == token_hash(value),
                                                            RegistrationToken.kind == kind))
    return row if row is not None and row.usable() else None


def claim_initial_use(row: RegistrationToken) -> bool:
    """Atomically take one use of an initial access token (not committed: part of the registration)."""
    result = db.session.execute(update(RegistrationToken)
                                .where(RegistrationToken.id == row.id, RegistrationToken.uses_left > 0,
                                       RegistrationToken.revoked.is_(False))
                                .values(uses_left=RegistrationToken.uses_left - 1))
    return result.rowcount == 1


def new_registration_token(client_id: str) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(RegistrationToken(kind=REGISTRATION, token_hash=token_hash(token), client_id=client_id))
    return token


def revoke_registration_tokens(client_id: str) -> None:
    db.session.execute(update(RegistrationToken).where(RegistrationToken.kind == REGISTRATION,
                                                       RegistrationToken.client_id == client_id)
                       .values(revoked=True))
