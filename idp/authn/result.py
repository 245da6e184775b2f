"""The one result every login method returns, and the assurance levels it can reach."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

# Assurance levels, lowest first. Trust profiles grant one of the certificate levels.
ACR_PASSWORD = "urn:idp:loa:1"
ACR_CERTIFICATE = "urn:idp:loa:2"
ACR_HARDWARE_CERTIFICATE = "urn:idp:loa:3"
# A password with a second factor (a TOTP or SMS code) is a second level login too: two factors, like a
# certificate (possession of the key, knowledge of its PIN). A client asking for urn:idp:loa:2 accepts either.
ACR_MFA = ACR_CERTIFICATE
ACR_LEVELS = {ACR_PASSWORD: 1, ACR_CERTIFICATE: 2, ACR_HARDWARE_CERTIFICATE: 3}


def acr_level(acr: str | None) -> int:
    return ACR_LEVELS.get(acr or "", 0)


def acr_satisfies(have: str | None, requested: list[str]) -> bool:
    """True when the session's acr is at least as strong as the weakest known requested value."""
    known = [acr_level(a) for a in requested if a in ACR_LEVELS]
    if not known:
        return True  # acr_values is a voluntary request; unknown values do not block login
    return acr_level(have) >= min(known)


@dataclass(frozen=True)
class AuthResult:
    person_id: int
    method: str                      # "password" | "certificate" | "totp" | "sms" | "recovery"
    acr: str
    amr: tuple[str, ...]
    auth_time: int = field(default_factory=lambda: int(time.time()))
    certificate: dict | None = None  # issuer, serial, profile, fingerprint
    entity_id: int | None = None     # enterprise context (certificate of a legal person)
    # facts for the audit record of the login (public ids, certificate issuer...); not kept in the session
    details: dict = field(default_factory=dict, compare=False, repr=False)
