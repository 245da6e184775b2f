"""One-time recovery codes: the way in when the phone with the authenticator app is lost.

Ten random codes are shown once when a second factor is enrolled (or the person asks for new ones);
only their SHA-256 is stored. A code is used up by one conditional update, so it works once.
"""
from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..identity.models import utcnow
from ..identity.second_factors import RecoveryCode
from ..storage.token_hash import token_hash
from .authenticator import LoginContext
from .result import AuthResult
from .second_factor import (MALFORMED_CODE, REPLAYED_CODE, WRONG_CODE, CodeCredentials, SecondFactorRefused,
                            with_second_factor)

METHOD = "recovery"
COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
LENGTH = 16  # 16 characters of 31: about 79 bits


def normalize_recovery_code(code: str | None) -> str:
    value = "".join(ch for ch in (code or "").lower() if ch not in " -")
    if len(value) != LENGTH or any(ch not in _ALPHABET for ch in value):
        raise SecondFactorRefused(MALFORMED_CODE, "a recovery code is 16 letters and digits")
    return value


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def new_recovery_codes(person_id: int) -> list[str]:
    """Replace the person's recovery codes with fresh ones; returns them (formatted) to show once."""
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(LENGTH)) for _ in range(COUNT)]
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
    db.session.add_all(RecoveryCode(person_id=person_id, code_hash=token_hash(code)) for code in codes)
    db.session.commit()
    return [format_code(code) for code in codes]


def remove_recovery_codes(person_id: int) -> None:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.person_id == person_id))
    db.session.commit()


def unused_count(person_id: int) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_(None))) or 0


class RecoveryCodeAuthenticator:
    method = METHOD

    def verify(self, credentials: CodeCredentials) -> None:
        code_hash = token_hash(normalize_recovery_code(credentials.code))
        used = db.session.execute(update(RecoveryCode).where(
            RecoveryCode.person_id == credentials.person_id, RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
        db.session.commit()
        if used.rowcount == 1:
            return
        known = db.session.scalar(select(RecoveryCode.id).where(
            RecoveryCode.person_id == credentials.person_id, RecoveryCode.code_hash == code_hash))
        if known is not None:
            raise SecondFactorRefused(REPLAYED_CODE, "this recovery code has already been used")
        raise SecondFactorRefused(WRONG_CODE, "wrong recovery code")

    def authenticate(self, credentials: CodeCredentials, context: LoginContext, *, first: AuthResult) -> AuthResult:
        self.verify(credentials)
        return with_second_factor(first, METHOD, "otp")
