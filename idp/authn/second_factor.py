"""What a second factor adds to a password login: the second level (``urn:idp:loa:2``) and its amr.

Every second-factor authenticator (TOTP, SMS, recovery code) checks its code for one person and
returns ``with_second_factor(first, method, amr)``, the password result raised to the second level.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, select

from ..errors import AuthnError
from ..extensions import db
from ..identity.second_factors import SecondFactor
from ..storage.prepared import Prepared
from .result import ACR_MFA, AuthResult

# Refusal codes shared by the second-factor methods.
WRONG_CODE = "second_factor_wrong"
EXPIRED_CODE = "second_factor_expired"
REPLAYED_CODE = "second_factor_replayed"
MALFORMED_CODE = "second_factor_malformed"
NOT_ENROLLED = "second_factor_not_enrolled"
SMS_THROTTLED = "sms_throttled"


class SecondFactorRefused(AuthnError):
    pass


@dataclass(frozen=True)
class CodeCredentials:
    person_id: int
    code: str


def normalize_code(code: str | None, *, digits: int = 6) -> str:
    """A numeric one-time code as typed (spaces and dashes dropped), or refuse it as malformed."""
    value = "".join(ch for ch in (code or "") if ch not in " -\u3000")
    if len(value) != digits or not value.isascii() or not value.isdigit():
        raise SecondFactorRefused(MALFORMED_CODE, f"a code is {digits} digits")
    return value


def with_second_factor(first: AuthResult, method: str, factor_amr: str) -> AuthResult:
    """The first factor's result raised to the second level by ``method``."""
    amr = tuple(dict.fromkeys((*first.amr, factor_amr, "mfa")))
    return replace(first, method=method, acr=ACR_MFA, amr=amr, auth_time=int(time.time()),
                   details={**first.details, "second_factor": method})


_KINDS_OF = Prepared(select(SecondFactor.__table__.c.kind).where(SecondFactor.__table__.c.person_id == bindparam("b_person")))


def enrolled_kinds(person_id: int) -> set[str]:
    """The kinds of the person's second factors (``enrolled_factors`` without loading them): every
    password login asks, and most people have none."""
    with db.engine.connect() as conn:
        return {row[0] for row in _KINDS_OF.all(conn, {"b_person": person_id})}


def enrolled_factors(person_id: int) -> dict[str, SecondFactor]:
    """The person's second factors by kind (empty: the person logs in with a password alone)."""
    rows = db.session.scalars(select(SecondFactor).where(SecondFactor.person_id == person_id)).all()
    return {row.kind: row for row in rows}
