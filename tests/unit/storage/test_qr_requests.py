"""The QR login's records (idp.authn.cross_device.QrLogins) on every ephemeral store backend: a request
seen only by its browser, one confirming person, one answer, one continuation, and the expiry."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

from idp.authn import cross_device as qr
from idp.errors import AuthnError
from test_conformance import run_concurrently


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@dataclass
class Session:
    person_id: int
    acr: str = "urn:idp:loa:2"
    amr: tuple = ("hwk", "user", "mfa")
    auth_time: int = 1_799_999_000
    sid: str = "sid"


def code(error) -> str:
    return error.value.code


@pytest.fixture
def logins(store):
    return qr.QrLogins(store, clock=Clock())


def test_a_request_is_seen_by_its_browser_only(logins):
    secret = secrets.token_urlsafe(32)
    made = logins.create(secret, ip="203.0.113.9", user_agent="Desktop", tx="tx-1")
    assert qr.plausible_id(made.id) and logins.find(made.id) == made
    assert logins.of_browser(made.id, secret) == made
    for other in (secrets.token_urlsafe(32), None, ""):
        with pytest.raises(AuthnError) as refused:
            logins.of_browser(made.id, other)
        assert code(refused) == qr.UNKNOWN
    assert logins.find("x" * 43) is None and logins.find("../" * 20) is None
    assert logins.status(made) == "pending"


def test_one_person_confirms_and_only_she_answers_once(logins):
    made = logins.create("secret", ip="203.0.113.9")
    assert run_concurrently(lambda: _confirms(logins, made, secrets.choice([1, 2]))).count(True) >= 1
    confirmed = logins.confirmation(made)["person_id"]
    other = 3 - confirmed
    with pytest.raises(AuthnError) as refused:
        logins.decide(made, Session(other), approved=True)
    assert code(refused) == qr.DIFFERENT_PERSON
    answers = run_concurrently(lambda: _decides(logins, made, Session(confirmed)))
    assert answers.count(True) == 1
    assert logins.decision(made)["acr"] == "urn:idp:loa:2" and logins.status(made) == "approved"
    assert run_concurrently(lambda: logins.claim(made)).count(True) == 1
    assert logins.status(made) == "used"


def _confirms(logins, made, person_id) -> bool:
    try:
        logins.confirm(made, person_id)
        return True
    except AuthnError as error:
        assert error.code == qr.DIFFERENT_PERSON
        return False


def _decides(logins, made, session) -> bool:
    try:
        logins.decide(made, session, approved=True)
        return True
    except AuthnError as error:
        assert error.code == qr.USED_UP
        return False


def test_an_answer_needs_a_confirmation(logins):
    made = logins.create("secret", ip="203.0.113.9")
    with pytest.raises(AuthnError) as refused:
        logins.decide(made, Session(1), approved=False)
    assert code(refused) == qr.NOT_CONFIRMED


def test_expiry(store):
    clock = Clock()
    logins = qr.QrLogins(store, clock=clock)
    made = logins.create("secret", ip="203.0.113.9")
    late = logins.create("secret", ip="203.0.113.9")
    logins.confirm(made, 1)
    logins.decide(made, Session(1), approved=True)
    clock.now += qr.TTL
    with pytest.raises(AuthnError) as refused:
        logins.openable(late.id)
    assert code(refused) == qr.EXPIRED and logins.status(late) == "expired"
    assert logins.status(made) == "approved"  # approved in time: the desktop may still continue a moment
    clock.now += qr.CONTINUE_GRACE
    assert logins.status(made) == "expired"


def test_creating_and_polling_are_throttled(logins):
    for _ in range(qr.CREATES_PER_IP):
        made = logins.create("secret", ip="198.51.100.7")
    with pytest.raises(AuthnError) as refused:
        logins.create("secret", ip="198.51.100.7")
    assert code(refused) == qr.THROTTLED
    logins.create("secret", ip="198.51.100.8")  # another address is not held back
    assert [logins.poll_too_fast(made) for _ in range(qr.POLLS_PER_WINDOW + 1)][-2:] == [False, True]
