"""What a person is told when a login is refused, and with which HTTP status, by the refusal's code.

Every login method refuses with ``AuthnError``; this table is the one place its stable codes become
words (zh/en) and statuses, for the login page and the JSON answers alike.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as N_

from ..errors import AuthnError, LockedOut

# Codes answered 400 (the request itself is unusable); LOCKED is 429; anything else is 401.
BAD_INPUT = {"malformed", "too_large", "invalid_request", "challenge_unknown", "challenge_replayed",
             "challenge_expired", "challenge_other_transaction", "login_expired", "invalid_id_number",
             "passkey_malformed", "passkey_ceremony_expired", "passkey_too_many", "passkey_already_registered",
             "second_factor_malformed", "second_factor_expired", "second_factor_replayed",
             "qr_unknown", "qr_expired", "qr_used", "qr_not_confirmed", "qr_other_login", "qr_pending"}
THROTTLED = {"locked", "sms_throttled", "qr_throttled"}
LOCKED = "locked"

MESSAGES = {
    # passwords
    "invalid_credentials": N_("Wrong username or password."),
    "invalid_id_number": N_("This is not a valid ID number. Check its 18 characters: the last one is a "
                            "digit or X."),
    # idp.pki CertificateError codes
    "certificate_error": N_("The certificate could not be accepted."),
    "malformed": N_("The certificate or signature data is malformed."),
    "too_large": N_("The submitted certificate data is too large."),
    "untrusted": N_("The certificate was not issued by a trusted certificate authority."),
    "expired": N_("The certificate has expired."),
    "not_yet_valid": N_("The certificate is not yet valid."),
    "revoked": N_("The certificate has been revoked."),
    "revocation_unknown": N_("The revocation status of the certificate could not be determined. "
                             "Try again later."),
    "bad_key_usage": N_("The certificate is not allowed to be used for login."),
    "bad_id_check": N_("The identity number in the certificate is not valid."),
    "no_identity": N_("No identity number could be found in the certificate."),
    "bad_signature": N_("The signature was not made with the key of this certificate."),
    # accounts
    "unknown_person": N_("No account is registered for the holder of this certificate."),
    "unsupported_id_type": N_("This kind of identity number cannot be used to log in."),
    "no_acting_person": N_("Log in as a person first, then use the enterprise certificate."),
    "not_representative": N_("You are not registered as a representative of this enterprise."),
    "account_disabled": N_("This account is disabled."),
    "different_person": N_("This certificate belongs to someone else than the person logged in."),
    # challenges and transport
    "challenge_unknown": N_("The login challenge is unknown. Start again with a new challenge."),
    "challenge_replayed": N_("The login challenge has already been used. Start again with a new "
                             "challenge."),
    "challenge_expired": N_("The login challenge has expired. Start again with a new challenge."),
    "challenge_other_transaction": N_("The login challenge belongs to another login."),
    "no_certificate": N_("No client certificate was presented."),
    "untrusted_proxy": N_("The certificate header came from an untrusted address and was ignored."),
    "invalid_request": N_("The certificate login request is incomplete."),
    "login_expired": N_("This login request has expired"),
    # passkeys (idp.authn.passkey)
    "passkey_ceremony_expired": N_("The passkey request has expired or was already used. Try again."),
    "passkey_malformed": N_("The answer of the passkey could not be read. Try again."),
    "passkey_unknown": N_("This passkey is not registered here. Log in another way, then add it on your "
                          "account page."),
    "passkey_invalid": N_("The passkey could not be verified for this site."),
    "passkey_possible_clone": N_("This passkey was refused: its counter went backwards, so it may have been "
                                 "copied. Log in another way and check the passkeys of your account."),
    "passkey_too_many": N_("You have registered the largest number of passkeys allowed. Remove one first."),
    "passkey_already_registered": N_("This passkey is already registered."),
    # second factors
    "second_factor_wrong": N_("The code is wrong. Check it and try again."),
    "second_factor_expired": N_("The code has expired. Use a new code."),
    "second_factor_replayed": N_("This code has already been used. Use a new code."),
    "second_factor_malformed": N_("A code from the authenticator app or a text message is 6 digits; a "
                                  "recovery code is 16 letters and digits."),
    "second_factor_not_enrolled": N_("This second factor is not set up for your account."),
    "sms_throttled": N_("Too many text messages were sent. Wait an hour, or use another method."),
    # QR cross-device login (idp.authn.cross_device)
    "qr_unknown": N_("This QR code is not known here. Show a new code on the computer you are logging in "
                     "on and scan it again."),
    "qr_expired": N_("This QR code has expired. Show a new code on the computer you are logging in on and "
                     "scan it again."),
    "qr_used": N_("This QR code has already been used. Show a new code on the computer you are logging in "
                  "on and scan it again."),
    "qr_different_person": N_("Someone else has already confirmed this QR code. Only the person who "
                              "confirmed it can approve it."),
    "qr_step_up_other_person": N_("The login was approved by someone else than the person logged in here. "
                                  "Approve it on a device where you yourself are logged in."),
    "qr_not_confirmed": N_("Confirm first that it is you logging in, then approve."),
    "qr_other_login": N_("This QR code belongs to another login. Use the code shown on this page."),
    "qr_pending": N_("The login has not been approved on the other device yet. Approve it there, then "
                     "continue."),
    "qr_denied": N_("The login was denied on the other device."),
    "qr_throttled": N_("Too many QR codes were requested from your network. Wait a few minutes, or log in "
                       "another way."),
}
OTHER = N_("The login could not be completed.")


def refusal_message(error: AuthnError) -> str:
    if isinstance(error, LockedOut):
        minutes = max(1, (error.retry_after + 59) // 60)
        return _("Too many failed attempts. Try again in %(minutes)s minutes.", minutes=minutes)
    return str(MESSAGES.get(error.code, OTHER))


def refusal_status(error: AuthnError) -> int:
    if error.code in THROTTLED:
        return 429
    return 400 if error.code in BAD_INPUT else 401
