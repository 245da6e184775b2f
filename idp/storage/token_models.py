"""The tables of the token store: authorization codes and issued tokens. Secret values are stored only as
SHA-256 hashes. Read and written through ``storage.tokens`` (the token endpoint's hot path)."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class AuthorizationCode(db.Model):
    """An issued code, kept (marked used) until it expires so that a replay can be detected."""

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


class Token(db.Model):
    """One issuance: an access token and, for a grant with one, its refresh token."""

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
