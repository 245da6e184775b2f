"""TOTP (RFC 6238) as a second factor, with pyotp.

The secret is generated here, sealed with the master key and stored with the person's enrolment. A
code is accepted in a window of one time step either side (clock drift), and never twice: the last
accepted time step is remembered per person and only a later step is accepted (RFC 6238 section 5.2).
"""
from __future__ import annotations

import time

import pyotp
from sqlalchemy import or_, update

from ..errors import ConfigError
from ..extensions import db
from ..identity.second_factors import TOTP, SecondFactor
from ..keys.sealing import seal, unseal
from .authenticator import LoginContext
from .result import AuthResult
from .second_factor import (EXPIRED_CODE, NOT_ENROLLED, REPLAYED_CODE, WRONG_CODE, CodeCredentials,
                            SecondFactorRefused, enrolled_factors, normalize_code, with_second_factor)

METHOD = "totp"
WINDOW = 1  # time steps accepted either side of now
STEP = 30
_clock = time.time


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def seal_secret(master_key: bytes, person_id: int, secret: str) -> str:
    return seal(master_key, secret.encode("ascii"), _context(person_id))


def unseal_secret(master_keys, person_id: int, sealed: str) -> str:
    """The secret, unsealed with the current master key or, after a rotation, a former one."""
    keys = (master_keys,) if isinstance(master_keys, bytes) else tuple(master_keys)
    for key in keys[:-1]:
        try:
            return unseal(key, sealed, _context(person_id)).decode("ascii")
        except ConfigError:
            continue
    return unseal(keys[-1], sealed, _context(person_id)).decode("ascii")


def _context(person_id: int) -> str:
    return f"totp:{person_id}"


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step within the window whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret, interval=STEP)
    now = _clock() if now is None else now
    current = int(now // STEP)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def check_code(secret: str, code: str, now: float | None = None) -> int:
    """The time step of a correct code (for enrolment); refuse a wrong one."""
    step = matching_step(secret, normalize_code(code), now)
    if step is None:
        raise SecondFactorRefused(WRONG_CODE, "wrong authenticator code")
    return step


class TotpAuthenticator:
    method = METHOD

    def __init__(self, master_keys):
        self.master_keys = master_keys  # the current master key first, then former ones

    def verify(self, credentials: CodeCredentials) -> int:
        """Accept the code once; returns its time step. Refusals: malformed, wrong, expired, replayed."""
        factor = enrolled_factors(credentials.person_id).get(TOTP)
        if factor is None or not factor.secret_sealed:
            raise SecondFactorRefused(NOT_ENROLLED, "no authenticator app is enrolled")
        code = normalize_code(credentials.code)
        secret = unseal_secret(self.master_keys, credentials.person_id, factor.secret_sealed)
        step = matching_step(secret, code)
        if step is None:
            # a code from just outside the window is "expired" rather than "wrong"
            earlier = matching_step(secret, code, _clock() - (2 * WINDOW + 1) * STEP)
            if earlier is not None:
                raise SecondFactorRefused(EXPIRED_CODE, "the authenticator code has expired")
            raise SecondFactorRefused(WRONG_CODE, "wrong authenticator code")
        # only a later step than the last one accepted: one conditional update, so two requests racing
        # with the same code cannot both succeed
        result = db.session.execute(update(SecondFactor).where(
            SecondFactor.id == factor.id,
            or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step)).values(last_step=step))
        db.session.commit()
        if result.rowcount != 1:
            raise SecondFactorRefused(REPLAYED_CODE, "this authenticator code has already been used")
        return step

    def authenticate(self, credentials: CodeCredentials, context: LoginContext, *, first: AuthResult) -> AuthResult:
        self.verify(credentials)
        return with_second_factor(first, METHOD, "otp")
