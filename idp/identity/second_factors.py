"""A person's second factors (an authenticator app, a phone for SMS codes) and one-time recovery codes.

The TOTP secret is sealed with the master key (``keys.sealing``); recovery codes are stored as their
SHA-256 (``storage.token_hash``): they are random, high-entropy values, so a fast hash is enough.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .models import utcnow

TOTP, SMS = "totp", "sms"


class SecondFactor(db.Model):
    __tablename__ = "second_factors"
    __table_args__ = (UniqueConstraint("person_id", "kind", name="uq_second_factor_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # TOTP or SMS
    secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # TOTP: sealed base32 secret
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)  # SMS: the number codes go to
    last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)  # TOTP: last time step accepted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
