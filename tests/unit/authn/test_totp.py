"""TOTP codes: a window of one time step either side, nothing further; typed codes normalised or refused."""
from __future__ import annotations

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.authn.second_factor import MALFORMED_CODE, SecondFactorRefused, normalize_code
from idp.errors import ConfigError
from idp.authn.totp import STEP, matching_step, new_secret, provisioning_uri, seal_secret, unseal_secret

NOW = 1_800_000_015.0


@pytest.mark.parametrize("offset, accepted", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_window_is_one_step_either_side(offset, accepted):
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOW + offset * STEP)
    step = matching_step(secret, code, NOW)
    assert (step == int(NOW // STEP) + offset) if accepted else step is None


def test_secret_is_sealed_per_person():
    key, secret = b"k" * 32, new_secret()
    sealed = seal_secret(key, 7, secret)
    assert secret not in sealed and unseal_secret(key, 7, sealed) == secret
    with pytest.raises(ConfigError):
        unseal_secret(key, 8, sealed)  # sealed for another person
    assert unseal_secret((b"n" * 32, key), 7, sealed) == secret  # after a master key rotation


def test_provisioning_uri_names_issuer_and_account():
    uri = provisioning_uri(new_secret(), "13800138000", "idp.example.gov.cn")
    assert uri.startswith("otpauth://totp/") and "issuer=idp.example.gov.cn" in uri


@pytest.mark.parametrize("typed, code", [("123456", "123456"), ("123 456", "123456"), ("123-456", "123456")])
def test_codes_are_normalised(typed, code):
    assert normalize_code(typed) == code


@given(st.text(max_size=20))
def test_any_typed_text_is_a_code_or_refused_as_malformed(text):
    try:
        value = normalize_code(text)
    except SecondFactorRefused as exc:
        assert exc.code == MALFORMED_CODE
    else:
        assert len(value) == 6 and value.isdigit() and value.isascii()
