"""HTTP endpoints of the OpenID provider. Each is a short list of steps."""
from __future__ import annotations

import time

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...authn.result import acr_satisfies
from ...extensions import db
from ...identity.authorisations import acting_context
from ...identity.models import Person
from ...sessions.browser import current_session
from ...sessions.login_transaction import CHOOSE_CONTEXT, CONSENT, LoginTransaction
from .consent import has_consent
from .acting import chooser_needed
from . import published
from .published import discovery_document
from .error_pages import authorize_error_page
from .principal import Principal
from .response_modes import error_response
from .server import StoredRequest, TokenRequest

bp = Blueprint("oidc", __name__)
PROTOCOL = "oidc"


def _core():
    return current_app.extensions["idp"]


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery():
    return _document(*discovery_document(_core()), published.DISCOVERY_TYPE, published.DISCOVERY_CACHE)


@bp.get("/jwks.json")
def jwks():
    return _document(*_core().keys.jwks_document(), published.JWKS_TYPE, published.JWKS_CACHE)


def _document(body: bytes, etag: str, mimetype: str, cache_control: str) -> Response:
    """A published document as ``published.published_documents`` serves it, for the requests it leaves
    to Flask."""
    response = Response(body, mimetype=mimetype, headers={"Cache-Control": cache_control, "ETag": etag})
    if published.matches(request.headers.get("If-None-Match"), etag):
        response.status_code = 304
        response.set_data(b"")
    return response


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    return _authorize(None, None)


@bp.get("/authorize/resume")
def authorize_resume():
    tx = _core().logins.load(request.args.get("tx"))
    if tx is None or tx.protocol != PROTOCOL:
        return render_template("error.html", title=_("This login request has expired"),
                               description=_("Go back to the portal and start again.")), 400
    return _authorize(StoredRequest(tx.state["uri"], tx.state["params"]), tx)


@bp.post("/token")
def token():
    return _core().server.create_token_response(TokenRequest(request))


@bp.post("/revoke")
def revoke():
    return _core().server.create_endpoint_response("revocation")


@bp.post("/introspect")
def introspect():
    return _core().server.create_endpoint_response("introspection")


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return _core().server.create_endpoint_response("userinfo")


def _start_login(oauth_request, params: dict, redirect_uri: str, reason: str, acr_values: list[str]):
    """Send the browser to the login (or consent) page with a login transaction resuming this request."""
    client = oauth_request.client
    tx = _core().logins.start(protocol=PROTOCOL, reason=reason, resume_endpoint="oidc.authorize_resume",
                              client_name=client.name, client_id=client.client_id, return_to=redirect_uri,
                              acr_values=acr_values, state={"params": params, "uri": oauth_request.uri})
    return redirect(url_for("oidc_pages.consent" if reason == CONSENT else "web.login", tx=tx.id))


def _error_redirect(server, oauth_request, error: OAuth2Error):
    """Protocol errors go back to the client's redirect_uri when it is known to be safe."""
    if error.redirect_uri:  # in the request's response_mode, with state and iss
        data = oauth_request.payload.data if oauth_request is not None else request.values
        return server.handle_response(*error_response(error, data))
    params = oauth_request.payload.data if isinstance(oauth_request, StoredRequest) else request.values
    return render_template("error.html", **authorize_error_page(error.error, params)), 400


def _authorize(stored: StoredRequest | None, tx: LoginTransaction | None):
    core = _core()
    server = core.server
    session = current_session()
    person = db.session.get(Person, session.person_id) if session else None
    if person is not None and person.disabled:
        person = None
    try:
        grant = server.get_consent_grant(request=stored, end_user=person)
    except OAuth2Error as error:
        return _error_redirect(server, stored, error)
    except ValueError:
        # Authlib quotes some parameters (response_type, redirect_uri) in its error descriptions and
        # refuses to build one holding characters RFC 6749 forbids there: the request is malformed.
        return render_template("error.html", **authorize_error_page("invalid_request", request.values,
                                                                    situation="invalid_characters")), 400

    oauth_request = grant.request
    client = oauth_request.client
    params = dict(oauth_request.payload.data.items())
    prompts = (params.get("prompt") or "").split()
    acr_values = (params.get("acr_values") or "").split()
    fresh = bool(tx and session and tx.login_since_start(session.auth_time))

    reason = None
    if person is None:
        reason = "login"
    elif not fresh:
        if "login" in prompts:
            reason = "login"
        elif params.get("max_age") not in (None, ""):
            try:
                max_age = int(params["max_age"])
            except ValueError:
                return _error_redirect(server, oauth_request,
                                       _invalid_request("max_age must be an integer", grant.redirect_uri))
            if time.time() - session.auth_time > max_age:
                reason = "login"
    if reason is None and not acr_satisfies(session.acr, acr_values):
        reason = "step_up"

    if reason is not None:
        if "none" in prompts:
            from authlib.oidc.core.errors import LoginRequiredError
            return _error_redirect(server, oauth_request, LoginRequiredError(redirect_uri=grant.redirect_uri))
        return _start_login(oauth_request, params, grant.redirect_uri, reason, acr_values)

    if not client.first_party and (("consent" in prompts and not (tx and tx.state.get("consented")))
                                   or not has_consent(person.id, client.client_id, oauth_request.scope)):
        if "none" in prompts:
            from authlib.oidc.core.errors import ConsentRequiredError
            return _error_redirect(server, oauth_request, ConsentRequiredError(redirect_uri=grant.redirect_uri))
        return _start_login(oauth_request, params, grant.redirect_uri, CONSENT, acr_values)

    if "none" not in prompts and chooser_needed(session, person.id, client.client_id, params, prompts, tx):
        if tx is None:
            tx = core.logins.start(protocol=PROTOCOL, reason=CHOOSE_CONTEXT, resume_endpoint="oidc.authorize_resume",
                                   client_name=client.name, client_id=client.client_id,
                                   return_to=grant.redirect_uri, acr_values=acr_values,
                                   state={"params": params, "uri": oauth_request.uri})
        return redirect(url_for("agents.choose", tx=tx.id))

    if tx is not None:
        core.logins.delete(tx.id)
    core.sessions.add_client(session, client.client_id)
    # only an enterprise context the person holds at this portal now reaches it
    acting = acting_context(person.id, session.entity_id, client.client_id) if session.entity_id else None
    principal = Principal(person=person, client=client, auth_time=session.auth_time, acr=session.acr,
                          amr=tuple(session.amr), sid=session.sid, entity=acting.entity if acting else None,
                          acting=acting)
    try:
        response = server.create_authorization_response(request=stored, grant_user=principal, grant=grant)
    except OAuth2Error as error:
        return _error_redirect(server, oauth_request, error)
    acting_for = {"entity": acting.entity.uscc, "authorisation": acting.authorisation_id} if acting else {}
    core.audit("authorize", client_id=client.client_id, person=person.public_id, acr=session.acr, **acting_for)
    return response


def _invalid_request(description: str, redirect_uri: str):
    from authlib.oauth2.rfc6749 import InvalidRequestError
    return InvalidRequestError(description, redirect_uri=redirect_uri)
