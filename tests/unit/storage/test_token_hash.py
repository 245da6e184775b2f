"""The one stored form of every secret value: rows written before keep matching (no migration)."""
from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from idp.authn.result import ACR_PASSWORD, AuthResult
from idp.clients.models import Client
from idp.sessions.sso import SESSION, SessionManager
from idp.storage.memory import MemoryStore
from idp.storage.token_hash import token_hash

# SHA-256 test vectors (FIPS 180-2) and one non-ASCII value (its UTF-8 bytes are hashed)
PINNED = {
    "abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "令牌-ticket": "6a8a7e746219255664256da9f922a74b311f246d77e0ed622aed5cc1dee86a0d",
}


def test_the_stored_form_is_pinned():
    for value, stored in PINNED.items():
        assert token_hash(value) == stored


@given(st.text(max_size=300))
def test_every_value_has_one_64_hex_digit_form(value):
    stored = token_hash(value)
    assert len(stored) == 64 and set(stored) <= set(string.hexdigits.lower())
    assert token_hash(value) == stored
    assert value == "" or token_hash(value + "x") != stored


def test_a_client_secret_stored_before_still_authenticates():
    client = Client(client_id="portal", client_secret_hash=PINNED["abc"])
    assert client.check_client_secret("abc") is True
    assert client.check_client_secret("abd") is False


def test_an_sso_cookie_is_looked_up_by_the_pinned_form():
    sessions = SessionManager(MemoryStore(), ttl=3600)
    auth = AuthResult(person_id=1, acr=ACR_PASSWORD, amr=["pwd"], method="password")
    token, session = sessions.create(auth)
    assert session.key == token_hash(token)
    # a session stored under the pinned form of the cookie "abc" is the session of that cookie
    sessions.store.put(SESSION, PINNED["abc"], {**session.to_record(), "key": PINNED["abc"]}, 60)
    assert sessions.load("abc").key == PINNED["abc"]
