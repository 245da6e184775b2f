"""What a person is told when a certificate login is refused, by stable refusal code."""
from __future__ import annotations

from flask_babel import gettext as _

# Codes with the HTTP status they are answered with; anything else is 401.
BAD_INPUT = {"malformed", "too_large", "invalid_request", "challenge_unknown", "challenge_replayed",
             "challenge_expired", "challenge_other_transaction", "login_expired"}


def refusal_message(code: str) -> str:
    messages = {
        # idp.pki CertificateError codes
        "malformed": _("The certificate or signature data is malformed."),
        "too_large": _("The submitted certificate data is too large."),
        "untrusted": _("The certificate was not issued by a trusted certificate authority."),
        "expired": _("The certificate has expired."),
        "not_yet_valid": _("The certificate is not yet valid."),
        "revoked": _("The certificate has been revoked."),
        "revocation_unknown": _("The revocation status of the certificate could not be determined. "
                                "Try again later."),
        "bad_key_usage": _("The certificate is not allowed to be used for login."),
        "bad_id_check": _("The identity number in the certificate is not valid."),
        "no_identity": _("No identity number could be found in the certificate."),
        "bad_signature": _("The signature was not made with the key of this certificate."),
        # accounts
        "unknown_person": _("No account is registered for the holder of this certificate."),
        "unsupported_id_type": _("This kind of identity number cannot be used to log in."),
        "no_acting_person": _("Log in as a person first, then use the enterprise certificate."),
        "not_representative": _("You are not registered as a representative of this enterprise."),
        "account_disabled": _("This account is disabled."),
        "different_person": _("This certificate belongs to someone else than the person logged in."),
        # challenges and transport
        "challenge_unknown": _("The login challenge is unknown. Start again with a new challenge."),
        "challenge_replayed": _("The login challenge has already been used. Start again with a new "
                                "challenge."),
        "challenge_expired": _("The login challenge has expired. Start again with a new challenge."),
        "challenge_other_transaction": _("The login challenge belongs to another login."),
        "no_certificate": _("No client certificate was presented."),
        "untrusted_proxy": _("The certificate header came from an untrusted address and was ignored."),
        "invalid_request": _("The certificate login request is incomplete."),
        "login_expired": _("This login request has expired"),
    }
    return messages.get(code, _("The certificate could not be accepted."))


def refusal_status(code: str) -> int:
    return 400 if code in BAD_INPUT else 401
