"""Authorization codes, tokens and consents. Secret values are stored only as SHA-256 hashes."""
from __future__ import annotations

import hashlib
import time
from datetime import datetime

from authlib.oauth2.rfc6749 import TokenMixin
from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...identity.models import utcnow


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class AuthorizationCode(db.Model):
    """An issued code; read and claimed through ``codes`` (the token endpoint's hot path)."""

    __tablename__ = "authorization_codes"
    __table_args__ = (Index("ix_authorization_codes_client_nonce", "client_id", "nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255), nullable=True)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Token(db.Model, TokenMixin):
    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"),
                                                  index=True, nullable=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True, nullable=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    code_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    sid: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    auth_time: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    amr: Mapped[list] = mapped_column(JSON, default=list)
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_at: Mapped[float] = mapped_column(Float)
    access_expires_at: Mapped[float] = mapped_column(Float)
    refresh_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)  # the whole grant (refresh and access)
    access_revoked: Mapped[bool] = mapped_column(Boolean, default=False)  # only this access token
    refresh_used: Mapped[bool] = mapped_column(Boolean, default=False)

    # --- Authlib TokenMixin ----------------------------------------------------
    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int(self.access_expires_at - self.issued_at)

    def is_expired(self) -> bool:
        return self.access_expires_at < time.time()

    def is_revoked(self) -> bool:
        return self.revoked or self.access_revoked

    def is_refresh_token_valid(self) -> bool:
        return (not self.revoked and not self.refresh_used and self.refresh_expires_at is not None
                and self.refresh_expires_at > time.time())

    def get_user(self):
        from ...identity.service import get_person
        return get_person(self.person_id) if self.person_id else None

    def get_client(self):
        from ...clients.service import find_client
        return find_client(self.client_id)


class Consent(db.Model):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("person_id", "client_id", name="uq_consent"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
