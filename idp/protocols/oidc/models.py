"""Consents; the code and token tables belong to the token store (``storage.token_models``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...identity.models import utcnow
from ...storage.token_models import AuthorizationCode, Token  # noqa: F401  (their old home)


class Consent(db.Model):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("person_id", "client_id", name="uq_consent"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
