"""Password login: ID number, phone or email plus password, throttled."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import AuthnError
from ..identity.identifiers import MalformedIdNumber, parse_login_identifier
from ..identity.passwords import burn_time, verify_password
from ..identity.service import find_login_candidate, replace_password_hash
from .authenticator import LoginContext
from .result import ACR_PASSWORD, AuthResult
from .throttle import LoginThrottle

METHOD = "password"
INVALID = "invalid_credentials"
INVALID_ID_NUMBER = "invalid_id_number"


@dataclass(frozen=True)
class PasswordCredentials:
    username: str
    password: str = field(repr=False)


class PasswordAuthenticator:
    """Password login as an authenticator: ``password_login`` behind the shared throttle."""

    method = METHOD

    def __init__(self, throttle: LoginThrottle):
        self.throttle = throttle

    def authenticate(self, credentials: PasswordCredentials, context: LoginContext) -> AuthResult:
        return password_login(credentials.username, credentials.password, context.ip, self.throttle)


def password_login(username: str, password: str, ip: str, throttle: LoginThrottle) -> AuthResult:
    """Authenticate or raise AuthnError (LockedOut when throttled); the message never says whether the
    account exists.

    A username that can only be meant as an ID number and is not a valid one is refused as such
    (INVALID_ID_NUMBER): the check character and length are public arithmetic, not account data.
    """
    password = password or ""
    try:
        identifier = parse_login_identifier(username)
    except MalformedIdNumber as exc:
        raise AuthnError(INVALID_ID_NUMBER, str(exc)) from None
    if identifier is None or not password or len(password) > 1024:
        raise AuthnError(INVALID, "wrong username or password")
    person = find_login_candidate(identifier)
    # Throttle the account, not the string typed: every spelling of every identifier of one person
    # counts against that person. Unknown identifiers are throttled by their canonical form.
    account = f"person:{person.id}" if person is not None else identifier.key
    throttle.check(account, ip)
    if person is None or person.disabled:
        burn_time(password)
        throttle.failure(account, ip)
        raise AuthnError(INVALID, "wrong username or password")
    ok, new_hash = verify_password(password, person.password_hash)
    if not ok:
        throttle.failure(account, ip)
        raise AuthnError(INVALID, "wrong username or password")
    if new_hash:
        replace_password_hash(person.id, new_hash)
    throttle.success(account)
    return AuthResult(person_id=person.id, method=METHOD, acr=ACR_PASSWORD, amr=("pwd",),
                      details={"person": person.public_id})
