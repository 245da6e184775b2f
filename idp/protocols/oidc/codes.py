"""Finding and claiming single-use authorization codes, with prepared Core statements.

A code exchange reads the code, checks the request, and then claims the code in the same short
transaction that stores the token and its audit record (``save_token``): one commit, and a concurrent
second use of the code finds it claimed. Prepared statements rather than ORM objects: this is the token
endpoint's hot path, and the ORM's per-object bookkeeping cost more than the statements themselves
(see ``storage.prepared``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields

from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy import bindparam, select, update

from ...extensions import db
from ...storage import writes
from ...storage.prepared import Prepared
from ...identity.models import Person
from ...identity.service import PERSON_CLAIMS_COLUMNS, PERSON_ENABLED, PersonClaims
from .models import AuthorizationCode, token_hash

_C = AuthorizationCode.__table__
_P = Person.__table__


@dataclass(frozen=True)
class StoredCode(AuthorizationCodeMixin):
    id: int
    client_id: str
    person_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    acr: str | None
    amr: list
    sid: str | None
    entity_id: int | None
    expires_at: float
    used_at: float | None
    person: PersonClaims | None  # None when the person was deleted or disabled

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return self.acr

    def get_amr(self):
        return list(self.amr or [])

    def is_expired(self) -> bool:
        return self.expires_at < time.time()


_FIELDS = tuple(f.name for f in fields(StoredCode) if f.name != "person")
# The code and, when enabled, its person: the token response needs both, one statement instead of two.
_FIND = Prepared(select(*(_C.c[name] for name in _FIELDS), *PERSON_CLAIMS_COLUMNS)
         .select_from(_C.outerjoin(_P, (_P.c.id == _C.c.person_id) & PERSON_ENABLED))
         .where(_C.c.code_hash == bindparam("b_hash"), _C.c.client_id == bindparam("b_client")))
_CLAIM = Prepared(update(_C).where(_C.c.id == bindparam("b_id"), _C.c.used_at.is_(None))
          .values(used_at=bindparam("b_now")))


def find(code: str, client_id: str) -> StoredCode | None:
    """The code issued to this client with this value, used or not."""
    row = _FIND.first(db.session.connection(), {"b_hash": token_hash(code), "b_client": client_id})
    if row is None:
        return None
    code_fields, person_fields = row[:len(_FIELDS)], row[len(_FIELDS):]
    return StoredCode(*code_fields, PersonClaims(*person_fields) if person_fields[0] is not None else None)


def claim(conn, code_id: int) -> bool:
    """Mark the code used in the caller's transaction; False when another request claimed it first."""
    return _CLAIM.execute(conn, {"b_id": code_id, "b_now": time.time()}) == 1


def burn(code_id: int) -> None:
    """Mark the code used after a failed exchange: a code gets one attempt."""
    with writes.session_write(db.session) as conn:
        claim(conn, code_id)
