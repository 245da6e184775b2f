"""One table turns every login method's refusal code into words and a status."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idp.errors import AuthnError, LockedOut
from idp.web.login_refusals import BAD_INPUT, MESSAGES, OTHER, refusal_message, refusal_status


@pytest.fixture
def english(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


def test_every_bad_input_code_has_its_own_words(english):
    assert BAD_INPUT <= set(MESSAGES)
    assert all(refusal_status(AuthnError(code)) == 400 for code in BAD_INPUT)


@pytest.mark.parametrize("code, status", [("invalid_credentials", 401), ("invalid_id_number", 400),
                                          ("different_person", 401), ("revoked", 401), ("challenge_expired", 400)])
def test_statuses(code, status):
    assert refusal_status(AuthnError(code)) == status


@given(seconds=st.integers(min_value=1, max_value=86400))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the app only gives the locale
def test_a_lock_says_how_many_minutes_rounded_up(app, seconds):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        locked = LockedOut(seconds)
        assert refusal_status(locked) == 429
        assert f"Try again in {-(-seconds // 60)} minutes" in refusal_message(locked)


def test_an_unknown_code_gets_the_general_words_and_401(english):
    assert refusal_message(AuthnError("from a method added later")) == str(OTHER)
    assert refusal_status(AuthnError("from a method added later")) == 401
