from __future__ import annotations

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

DUE = "ix_logout_deliveries_due"


class LogoutDelivery(db.Model):
    """A logout message (OIDC logout token, CAS logoutRequest, SAML SOAP LogoutRequest) waiting for, or
    done with, its POST.

    ``kind`` "form": ``message`` is posted as the form field ``field``; "raw": ``message`` is the whole body,
    sent as ``content_type``. ``answer_check`` names the check of the site's answer registered with the
    notifier (NULL when a 2xx is enough).

    A node sends it only while it holds the row's claim (``claimed_by`` until ``claimed_until``), so two
    nodes never post the same message; an unfinished row is picked up again when its claim lapses."""
    __tablename__ = "logout_deliveries"
    __table_args__ = (Index(DUE, "next_attempt_at", sqlite_where=text("done_at IS NULL"),
                            postgresql_where=text("done_at IS NULL")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(128))
    uri: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    accept_redirect: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(8), default="form", server_default="form")
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)  # of a raw body
    answer_check: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    delivered: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # set with done_at
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
