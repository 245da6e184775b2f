"""A person's words for how a session was started and what its assurance level (``acr``) means.

The account page shows these instead of ``password (urn:idp:loa:1)``.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as N_

from ..authn.result import ACR_CERTIFICATE, ACR_HARDWARE_CERTIFICATE, ACR_PASSWORD, acr_level

METHODS = {"password": N_("Password login"), "certificate": N_("Digital certificate"), "usbkey": N_("USB key"),
           "passkey": N_("Passkey"), "qr": N_("Approved on another device (QR code)"),
           "totp": N_("Password and authenticator app"), "sms": N_("Password and text message code"),
           "recovery": N_("Password and recovery code")}
LEVELS = {
    ACR_PASSWORD: N_("Level 1 of 3: a password. Enough for most services."),
    ACR_CERTIFICATE: N_("Level 2 of 3: a digital certificate, a passkey that verifies you (PIN, fingerprint or "
                        "face), or a password with a second factor. Services that must be sure who you are ask "
                        "for it."),
    ACR_HARDWARE_CERTIFICATE: N_("Level 3 of 3, the highest: a certificate on a USB key. The most "
                                 "sensitive services ask for it."),
}
UNKNOWN_LEVEL = N_("Assurance level not known")
# What the login page says when a service asks for more than a password, by the level asked for.
STEP_UP = {
    ACR_CERTIFICATE: N_("This service requires a higher assurance level. Log in with a digital certificate, a "
                        "passkey that verifies you (PIN, fingerprint or face), or your password and a second "
                        "factor."),
    ACR_HARDWARE_CERTIFICATE: N_("This service requires the highest assurance level. Log in with the "
                                 "certificate on your USB key."),
}


def method_words(method: str, amr) -> str:
    """密码登录 / 数字证书 / USB Key: a certificate whose key is in hardware (amr ``hwk``) is a USB key."""
    if method == "certificate" and "hwk" in (amr or ()):
        method = "usbkey"
    return str(METHODS.get(method, METHODS["certificate"]))


def level_words(acr: str | None) -> str:
    return str(LEVELS.get(acr or "", UNKNOWN_LEVEL))


def step_up_words(requested) -> str:
    """The login page's notice for the weakest known level in ``requested`` above a password (level 2 when
    none is known: a step-up asks for at least that)."""
    levels = sorted((acr_level(a), a) for a in requested or () if acr_level(a) > acr_level(ACR_PASSWORD))
    return str(STEP_UP[levels[0][1]] if levels else STEP_UP[ACR_CERTIFICATE])
