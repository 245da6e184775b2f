"""Remembered consent of a person to a third-party client."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import select

from ...extensions import db
from .models import Consent


def has_consent(person_id: int, client_id: str, scope: str) -> bool:
    row = db.session.scalar(select(Consent).where(Consent.person_id == person_id, Consent.client_id == client_id))
    if row is None:
        return False
    return set(scope_to_list(scope) or []) <= set(scope_to_list(row.scope) or [])


def grant_consent(person_id: int, client_id: str, scope: str) -> None:
    row = db.session.scalar(select(Consent).where(Consent.person_id == person_id, Consent.client_id == client_id))
    if row is None:
        db.session.add(Consent(person_id=person_id, client_id=client_id, scope=scope))
    else:
        merged = list(dict.fromkeys((scope_to_list(row.scope) or []) + (scope_to_list(scope) or [])))
        row.scope = " ".join(merged)
    db.session.commit()
