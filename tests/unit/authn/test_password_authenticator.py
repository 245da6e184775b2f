"""Password login as an authenticator: one result, one error type, the shared throttle."""
from __future__ import annotations

import pytest

from helpers import CITIZEN_ID, CITIZEN_PASSWORD
from idp.authn import AuthnError, LockedOut, LoginContext
from idp.authn.password import INVALID, INVALID_ID_NUMBER, PasswordAuthenticator, PasswordCredentials
from idp.authn.result import ACR_PASSWORD
from idp.authn.throttle import LoginThrottle
from idp.storage.memory import MemoryStore


@pytest.fixture
def authenticator(ctx):
    return PasswordAuthenticator(LoginThrottle(MemoryStore(), max_failures=3, ip_max_failures=100,
                                               lock_seconds=60, slowdown=False))


def refusal(authenticator, username, password) -> AuthnError:
    with pytest.raises(AuthnError) as caught:
        authenticator.authenticate(PasswordCredentials(username, password), LoginContext(ip="192.0.2.1"))
    return caught.value


def test_the_right_password_gives_the_neutral_result(authenticator, citizen):
    auth = authenticator.authenticate(PasswordCredentials(CITIZEN_ID, CITIZEN_PASSWORD), LoginContext(ip="192.0.2.1"))
    assert auth.method == "password" and auth.acr == ACR_PASSWORD and auth.amr == ("pwd",)
    assert auth.details == {"person": citizen} and auth.certificate is None


@pytest.mark.parametrize("username, password", [(CITIZEN_ID, "wrong"), ("nobody@example.cn", CITIZEN_PASSWORD),
                                                (CITIZEN_ID, ""), ("", CITIZEN_PASSWORD)])
def test_wrong_credentials_are_one_refusal(authenticator, citizen, username, password):
    assert refusal(authenticator, username, password).code == INVALID


def test_an_impossible_id_number_is_refused_as_such(authenticator, citizen):
    assert refusal(authenticator, "110105194912310021", CITIZEN_PASSWORD).code == INVALID_ID_NUMBER


def test_the_lock_is_the_same_error_type_with_a_retry_time(authenticator, citizen):
    for _ in range(3):
        refusal(authenticator, CITIZEN_ID, "wrong")
    locked = refusal(authenticator, CITIZEN_ID, CITIZEN_PASSWORD)
    assert isinstance(locked, LockedOut) and locked.code == "locked" and 0 < locked.retry_after <= 60
    # every spelling of the identifier is the same account
    assert refusal(authenticator, CITIZEN_ID.lower(), CITIZEN_PASSWORD).code == "locked"
