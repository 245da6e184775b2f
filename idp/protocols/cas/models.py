"""A CAS service: a department site that speaks CAS, registered like an OIDC client."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...identity.models import utcnow

MATCH_EXACT = "exact"
MATCH_PREFIX = "prefix"


class CasService(db.Model):
    __tablename__ = "cas_services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    service_url: Mapped[str] = mapped_column(Text)
    match: Mapped[str] = mapped_column(String(16), default=MATCH_EXACT)
    single_logout: Mapped[bool] = mapped_column(Boolean, default=True)
    slo_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    release_id_number: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def session_key(self) -> str:
        """How the service is recorded among the clients of an SSO session."""
        return f"cas:{self.id}"

    def to_public_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "service_url": self.service_url, "match": self.match,
                "single_logout": self.single_logout, "slo_url": self.slo_url,
                "release_id_number": self.release_id_number, "disabled": self.disabled}
