"""Password login: ID number, phone or email plus password, throttled."""
from __future__ import annotations

from ..errors import AuthnError
from ..extensions import db
from ..identity.passwords import burn_time, verify_password
from ..identity.service import find_person_by_username
from .result import ACR_PASSWORD, AuthResult
from .throttle import LoginThrottle

INVALID = "invalid_credentials"


def password_login(username: str, password: str, ip: str, throttle: LoginThrottle) -> AuthResult:
    """Authenticate or raise AuthnError; the message never says whether the account exists."""
    username = (username or "").strip()
    password = password or ""
    if not username or not password or len(password) > 1024:
        raise AuthnError(INVALID, "wrong username or password")
    throttle.check(username, ip)
    person = find_person_by_username(username)
    if person is None or person.disabled:
        burn_time(password)
        throttle.failure(username, ip)
        raise AuthnError(INVALID, "wrong username or password")
    ok, new_hash = verify_password(password, person.password_hash)
    if not ok:
        throttle.failure(username, ip)
        raise AuthnError(INVALID, "wrong username or password")
    if new_hash:
        person.password_hash = new_hash
        db.session.commit()
    throttle.success(username)
    return AuthResult(person_id=person.id, method="password", acr=ACR_PASSWORD, amr=("pwd",))
