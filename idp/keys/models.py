from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..identity.models import utcnow

# Life cycle: pending (published, not yet signing) -> active (signing) -> previous (published so
# tokens it signed still verify) -> retired (no longer published).
KEY_STATES = ("pending", "active", "previous", "retired")


# At most one active (signing) key per algorithm, whatever several workers or operators do at once.
ONE_ACTIVE_PER_ALG = "uq_signing_keys_one_active"


class SigningKey(db.Model):
    __tablename__ = "signing_keys"
    __table_args__ = (Index(ONE_ACTIVE_PER_ALG, "alg", unique=True, sqlite_where=text("status = 'active'"),
                            postgresql_where=text("status = 'active'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    alg: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
