from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class JobLease(db.Model):
    """Who runs a background job now (``holder`` until ``expires_at``) and when it last ran."""
    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128), nullable=True)
    expires_at: Mapped[float] = mapped_column(Float)
    generation: Mapped[int] = mapped_column(Integer)  # +1 each time another holder takes the lease
    last_run_at: Mapped[float | None] = mapped_column(Float, nullable=True)
