"""The acr and amr of a passkey login follow the authenticator's flags and the session's password."""
from __future__ import annotations

import pytest

from idp.authn.passkey import RelyingParty, assurance
from idp.authn.result import ACR_MFA, ACR_PASSWORD, acr_level
from idp.identity.passkeys import Passkey


@pytest.mark.parametrize("synced, verified, session_amr, acr, amr", [
    (False, True, (), ACR_MFA, ("hwk", "user", "mfa")),
    (True, True, (), ACR_MFA, ("swk", "user", "mfa")),
    (False, False, (), ACR_PASSWORD, ("hwk",)),
    (True, False, ("pwd",), ACR_MFA, ("pwd", "swk", "mfa")),
    (False, True, ("pwd",), ACR_MFA, ("pwd", "hwk", "user", "mfa")),
    (False, False, ("hwk",), ACR_PASSWORD, ("hwk",)),  # a passkey after a passkey is still one key
])
def test_assurance(synced, verified, session_amr, acr, amr):
    assert assurance(Passkey(backup_eligible=synced), verified, session_amr) == (acr, amr)


def test_two_factors_rank_above_a_password():
    assert acr_level(ACR_MFA) > acr_level(ACR_PASSWORD)


@pytest.mark.parametrize("issuer, rp_id, origin", [
    ("https://idp.example.gov.cn", "idp.example.gov.cn", "https://idp.example.gov.cn"),
    ("https://idp.example.gov.cn:8443/base", "idp.example.gov.cn", "https://idp.example.gov.cn:8443"),
    ("http://localhost:5000", "localhost", "http://localhost:5000"),
])
def test_the_relying_party_is_the_issuer(issuer, rp_id, origin):
    rp = RelyingParty.of_issuer(issuer)
    assert (rp.id, rp.origin) == (rp_id, origin)
