from __future__ import annotations

from sqlalchemy import JSON, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

UNSEALED = "ix_audit_events_unsealed"


class AuditEvent(db.Model):
    """One audited event. ``id`` is the order of appending (no lock: the database numbers rows);
    ``seq``, ``prev_hash`` and ``hash`` are set when the sealer chains the record (NULL until then)."""
    __tablename__ = "audit_events"
    __table_args__ = (Index(UNSEALED, "id", sqlite_where=text("seq IS NULL"), postgresql_where=text("seq IS NULL")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int | None] = mapped_column(Integer, unique=True, index=True, nullable=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class AuditCheckpoint(db.Model):
    """A signed statement of the chain head: "the chain held ``seq`` records and ended in ``head``"."""
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    head: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float)
    kid: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)  # compact JWS over {"seq", "head", "at"}
