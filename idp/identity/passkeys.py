"""Passkeys (WebAuthn credentials) a person registered: several per person, each with its public key,
its signature counter and what its authenticator said about itself at registration."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .models import utcnow

NAME_MAX = 64


class Passkey(db.Model):
    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True, index=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[str] = mapped_column(String(200), default="")  # comma-separated
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def created_ts(self) -> float:
        return _timestamp(self.created_at)

    @property
    def last_used_ts(self) -> float | None:
        return _timestamp(self.last_used_at) if self.last_used_at else None

    @property
    def transport_list(self) -> list[str]:
        return [t for t in self.transports.split(",") if t]


def _timestamp(value: datetime) -> float:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
