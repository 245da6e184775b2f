"""Password hashes: hashes stored before the move from passlib to argon2-cffi still verify and are
upgraded when their parameters differ from the current ones."""
from __future__ import annotations

import pytest

from idp.identity.passwords import hash_password, verify_password

PASSWORD = "correct horse battery"
CURRENT_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"

# Made by passlib 1.7.4's CryptContext(schemes=["argon2"], argon2id, m=19456, t=2, p=1), the hasher
# used before argon2-cffi directly: the form every stored hash has.
PASSLIB_CURRENT = "$argon2id$v=19$m=19456,t=2,p=1$fK8Vwrj3ntMaw9jbW8v5Pw$DehoZmc+LFDoEOK3lEtQtKo8QV92VKeEJNtkBaC4sIA"
# Made by passlib with other parameters and another variant: must verify and be upgraded.
PASSLIB_OTHER_PARAMETERS = ("$argon2id$v=19$m=65536,t=3,p=4$5TxnLEUoxViLMYbwfm+NUQ$"
                            "VpsDrjix8cA8GQZdM4Ys0KjneUh281zNVwkf1k9+pOk")
PASSLIB_ARGON2I = "$argon2i$v=19$m=8192,t=2,p=1$K6WU8l6r9R6jFGLsPafU2g$HZJwnwW7yF2mDS8Ig3N1RccbxZP4fGfTdaKvjTO290U"


def test_a_hash_made_by_passlib_still_verifies_without_rehash():
    assert verify_password(PASSWORD, PASSLIB_CURRENT) == (True, None)
    assert verify_password("wrong password", PASSLIB_CURRENT) == (False, None)


@pytest.mark.parametrize("old", [PASSLIB_OTHER_PARAMETERS, PASSLIB_ARGON2I], ids=["params", "argon2i"])
def test_a_hash_with_other_parameters_verifies_and_is_upgraded(old):
    ok, new_hash = verify_password(PASSWORD, old)
    assert ok and new_hash and new_hash.startswith(CURRENT_PREFIX)
    assert verify_password(PASSWORD, new_hash) == (True, None)
    assert verify_password("wrong password", old) == (False, None)


def test_new_hashes_have_the_form_of_the_old_ones():
    new = hash_password(PASSWORD)
    assert new.startswith(CURRENT_PREFIX) and new != PASSLIB_CURRENT
    # same salt and digest lengths (16 and 32 bytes, unpadded base64) as passlib wrote
    salt, digest = new[len(CURRENT_PREFIX):].split("$")
    old_salt, old_digest = PASSLIB_CURRENT[len(CURRENT_PREFIX):].split("$")
    assert (len(salt), len(digest)) == (len(old_salt), len(old_digest)) == (22, 43)


@pytest.mark.parametrize("stored", [None, "", "$argon2id$garbage", "$2b$12$notargon2", "plain text",
                                    "$argon2id$v=19$m=19456,t=2,p=1$ünïcode$x"])
def test_unusable_stored_hashes_do_not_verify(stored):
    assert verify_password(PASSWORD, stored) == (False, None)
