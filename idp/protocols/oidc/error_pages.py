"""What a person reads when a portal's OpenID Connect request cannot be answered to the portal.

Authlib's error descriptions are English and written for developers ("The client does not exist on
this server."). The pages show a message in the person's language, chosen by the error code and the
situation that caused it (found from the request itself, not by parsing Authlib's text); the protocol
error code goes in small print for the portal's operators.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from authlib.oauth2 import OAuth2Error
from flask_babel import lazy_gettext as N_
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from ...clients.service import find_client

INVALID_LOGIN_REQUEST = N_("The portal sent an invalid login request")
TRY_AGAIN = N_("Go back to the portal and try again. If this keeps happening, tell the portal's operators "
               "and give them the error code below.")
SINGLE_PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state")

AUTHORIZE_SITUATIONS = {
    "missing_client_id": N_("The portal did not say which application it is."),
    "unknown_client": N_("The portal is not registered with this login service, or it has been disabled."),
    "repeated_parameter": N_("The login request repeats a setting that may appear only once."),
    "unregistered_redirect_uri": N_("The portal asked to send you back to an address it has not registered."),
    "missing_redirect_uri": N_("The portal did not say where to send you back after logging in."),
    "invalid_characters": N_("The login request contains characters that are not allowed."),
    "unsupported_response_type": N_("The portal asked for a kind of answer this login service does not give."),
    "invalid_scope": N_("The portal asked for information it is not allowed to receive."),
    "unauthorized_client": N_("The portal is not allowed to log people in this way."),
    "invalid_request": N_("The login request from the portal is incomplete or malformed."),
    "other": N_("The login request from the portal cannot be handled."),
}

LOGOUT_SITUATIONS = {
    "bad_id_token_hint": N_("The logout link is not valid: it was not issued by this login service."),
    "client_mismatch": N_("The logout link names another application than the one you logged in to."),
    "other": N_("The logout link is not valid."),
}
INVALID_LOGOUT_REQUEST = N_("Invalid logout request")
LOGOUT_HINT = N_("You are still logged in. To log out, use the button on your account page.")


def _values(params: Mapping) -> dict[str, list[str]]:
    if hasattr(params, "to_dict"):
        return params.to_dict(flat=False)
    return {k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in params.items()}


def _first(values: dict[str, Sequence[str]], name: str) -> str | None:
    found = values.get(name) or [None]
    return found[0] or None


def authorize_situation(code: str, params: Mapping) -> str:
    """Why an authorization request was refused without going back to the portal."""
    values = _values(params)
    client_id = _first(values, "client_id")
    if code == "invalid_client":
        return "missing_client_id" if not client_id else "unknown_client"
    if code == "invalid_request":
        if any(len(values.get(name, ())) > 1 for name in SINGLE_PARAMETERS):
            return "repeated_parameter"
        client = find_client(client_id) if client_id else None
        redirect_uri = _first(values, "redirect_uri")
        if client is not None and redirect_uri and not client.check_redirect_uri(redirect_uri):
            return "unregistered_redirect_uri"
        if client is not None and not redirect_uri and not client.get_default_redirect_uri():
            return "missing_redirect_uri"
        return "invalid_request"
    return code if code in AUTHORIZE_SITUATIONS else "other"


def authorize_error_page(code: str, params: Mapping, situation: str | None = None) -> dict:
    """The ``error.html`` context for a refused authorization request."""
    situation = situation or authorize_situation(code, params)
    return {"title": str(INVALID_LOGIN_REQUEST), "description": str(AUTHORIZE_SITUATIONS[situation]),
            "hint": str(TRY_AGAIN), "error": code}


def _audience(id_token: str) -> list[str] | None:
    """The ``aud`` of an ID token, read without verifying it (only to choose the message); None when
    the token has no audience of the right type (a string or a list), as none of ours lacks one."""
    try:
        claims = json.loads(extract_compact(id_token.encode("ascii")).payload)
        aud = claims.get("aud") if isinstance(claims, dict) else None
    except (JoseError, ValueError, UnicodeError):
        return None
    if isinstance(aud, str):
        return [aud]
    return [a for a in aud if isinstance(a, str)] if isinstance(aud, list) else None


def logout_error_page(error: OAuth2Error, params: Mapping) -> dict:
    """The ``error.html`` context for a refused RP-initiated logout request."""
    values = _values(params)
    hint, client_id = _first(values, "id_token_hint"), _first(values, "client_id")
    if hint and client_id and _audience(hint) is not None and client_id not in _audience(hint):
        situation = "client_mismatch"  # the hint verified (else Authlib stops earlier) but names another client
    elif hint:
        situation = "bad_id_token_hint"
    else:
        situation = "other"
    return {"title": str(INVALID_LOGOUT_REQUEST), "description": str(LOGOUT_SITUATIONS[situation]),
            "hint": str(LOGOUT_HINT), "error": error.error, "home": True}
