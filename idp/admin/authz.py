"""Who may administer: people with the admin role (console) and bearer tokens with the admin scope (API).

Console: the SSO session of the identity server itself. No session -> the login page, returning here
afterwards; a session of someone who is not an administrator -> 403; an action (POST) from a session
weaker than IDP_ADMIN_REQUIRED_ACR -> the login page again, asking for a certificate.

API: an RFC 9068 access token, validated like at the userinfo endpoint (signature, stored record, not
expired or revoked) by Authlib's ResourceProtector, carrying the ``admin`` scope, of a client that is
still enabled; a token bound to a person needs that person to be an administrator too.
"""
from __future__ import annotations

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError, UnsupportedTokenTypeError
from authlib.oauth2.rfc6750 import InsufficientScopeError
from flask import current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..authn.result import ACR_MFA, acr_level
from ..clients.metadata import ADMIN_SCOPE
from ..extensions import db
from ..identity.models import Person
from ..protocols.oidc.server import JwtAccessTokenValidator
from ..sessions.browser import current_session

REALM = "idp-admin"


def _is_admin(person: Person | None) -> bool:
    return person is not None and person.is_admin and not person.disabled


# --- console ---------------------------------------------------------------------------------------

def _return_path() -> str:
    """Where to come back after logging in: this page, or for an action the page it belongs to."""
    if request.method == "GET":
        query = request.query_string.decode("latin-1")
        return request.path + ("?" + query if query else "")
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return request.path
    return url_for("admin.index")


def admin_required_acr(settings) -> str:
    """The least acr an administrator's session needs for console actions ("" = any login)."""
    required = settings.admin_required_acr
    if settings.require_mfa_for_admins and acr_level(required) < acr_level(ACR_MFA):
        return ACR_MFA
    return required


def console_guard():
    """``before_request`` of the console blueprint."""
    session = current_session()
    if session is None:
        return redirect(url_for("web.login", next=_return_path()))
    person = db.session.get(Person, session.person_id)
    if not _is_admin(person):
        return render_template("error.html", title=_("Administrators only"),
                               description=_("Your account does not have the administrator role.")), 403
    g.admin = person
    g.admin_actor = person.public_id
    required = admin_required_acr(current_app.extensions["idp"].settings)
    if request.method == "POST" and required and acr_level(session.acr) < acr_level(required):
        return redirect(url_for("web.login", next=_return_path(), acr=required), 303)
    return None


# --- API -------------------------------------------------------------------------------------------

def _protector() -> ResourceProtector:
    core = current_app.extensions["idp"]
    protector = getattr(core, "admin_protector", None)
    if protector is None:
        protector = ResourceProtector()
        protector.register_token_validator(JwtAccessTokenValidator(realm=REALM))
        core.admin_protector = protector
    return protector


def bearer_error(status: int, error: str | None, description: str):
    challenge = [f'realm="{REALM}"']
    if error:
        challenge.append(f'error="{error}"')
        challenge.append(f'error_description="{description}"')
    if error == "insufficient_scope":
        challenge.append(f'scope="{ADMIN_SCOPE}"')
    response = jsonify(error=error or "invalid_token", error_description=description)
    response.status_code = status
    response.headers["WWW-Authenticate"] = "Bearer " + ", ".join(challenge)
    response.headers["Cache-Control"] = "no-store"
    return response


def api_guard():
    """``before_request`` of the API blueprint."""
    try:
        token = _protector().acquire_token([ADMIN_SCOPE])
    except (MissingAuthorizationError, UnsupportedTokenTypeError):
        # RFC 6750 3.1: a request without credentials gets a challenge without an error code
        return bearer_error(401, None, "a bearer access token with the admin scope is required")
    except InsufficientScopeError:
        return bearer_error(403, "insufficient_scope", "the access token lacks the admin scope")
    except OAuth2Error:
        return bearer_error(401, "invalid_token", "the access token is invalid, expired or revoked")
    if token.get_client() is None:
        return bearer_error(401, "invalid_token", "the client of the access token is disabled or deleted")
    if token.row.person_id is not None:
        person = db.session.get(Person, token.row.person_id)
        if not _is_admin(person):
            return bearer_error(403, "insufficient_scope", "the person of the access token is not an administrator")
        g.admin_actor = person.public_id
    else:
        g.admin_actor = "client:" + token.row.client_id
    return None
