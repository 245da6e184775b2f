"""Remembered consent of a person to a third-party client."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from .models import Consent

_ATTEMPTS = 20  # each round at least one of the requests granting at once is recorded


def has_consent(person_id: int, client_id: str, scope: str) -> bool:
    row = db.session.scalar(select(Consent).where(Consent.person_id == person_id, Consent.client_id == client_id))
    if row is None:
        return False
    return set(scope_to_list(scope) or []) <= set(scope_to_list(row.scope) or [])


def grant_consent(person_id: int, client_id: str, scope: str) -> None:
    """Add ``scope`` to what the person granted the client. Requests granting at the same moment (a
    double submit, two tabs) all succeed and all their scopes are kept: the consent is created only if
    there is none yet, and changed only while it still reads as it did, else read again."""
    for _ in range(_ATTEMPTS):
        current = db.session.execute(select(Consent.id, Consent.scope).where(
            Consent.person_id == person_id, Consent.client_id == client_id)).first()
        try:
            if current is None:
                db.session.add(Consent(person_id=person_id, client_id=client_id, scope=scope))
                db.session.commit()
                return
            merged = " ".join(dict.fromkeys((scope_to_list(current.scope) or []) + (scope_to_list(scope) or [])))
            if merged == current.scope:
                db.session.rollback()  # nothing new to remember; end the reading transaction
                return
            changed = db.session.execute(update(Consent).where(Consent.id == current.id,
                                                               Consent.scope == current.scope).values(scope=merged))
            db.session.commit()
            if changed.rowcount == 1:
                return
        except IntegrityError:
            db.session.rollback()  # another request created the consent first: add to that one
    raise RuntimeError(f"consent of person {person_id} to {client_id} kept changing; not recorded")
