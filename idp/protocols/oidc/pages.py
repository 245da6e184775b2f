"""The pages OpenID Connect adds to a login: consent to a third-party client, the answer to a cancelled
login, and RP-initiated logout (end_session_endpoint) with its confirmation."""
from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...clients.service import find_client
from ...extensions import csrf
from ...http.headers import allow_form_action
from ...identity.claims import describe_scopes
from ...sessions.browser import current_session, end_current_session
from ...sessions.login_transaction import LoginTransaction
from .consent import grant_consent
from .error_pages import logout_error_page
from .response_modes import error_response
from .scope_words import scope_words

bp = Blueprint("oidc_pages", __name__)
PROTOCOL = "oidc"


def _core():
    return current_app.extensions["idp"]


def _expired():
    return render_template("error.html", title=_("This login request has expired"),
                           description=_("Go back to the portal and start again.")), 400


def client_redirect_uri(tx: LoginTransaction) -> str | None:
    """The redirect URI this login transaction answers to, while its client still accepts it."""
    client = find_client(tx.client_id) if tx.client_id else None
    if client is None or not tx.return_to or not client.check_redirect_uri(tx.return_to):
        return None
    return tx.return_to


def deny(tx: LoginTransaction, description: str):
    """access_denied to the client, in the response mode its request asked for (the answer to a
    cancelled login or refused consent)."""
    redirect_uri = client_redirect_uri(tx)
    if redirect_uri is None:
        return redirect(url_for("web.account"))
    error = AccessDeniedError(description, redirect_uri=redirect_uri)
    return _core().server.handle_response(*error_response(error, tx.state["params"]))


def cancelled(tx: LoginTransaction):
    return deny(tx, "The person cancelled the login.")  # RFC 6749: ASCII only


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    core = _core()
    tx = core.logins.load(request.values.get("tx"))
    session = current_session()
    if tx is None or tx.protocol != PROTOCOL or session is None:
        return _expired()
    client = find_client(tx.client_id or "")
    if client is None:
        return render_template("error.html", title=_("Unknown application"), description=""), 400
    scope = client.get_allowed_scope(tx.state["params"].get("scope"))
    if request.method == "GET":
        allow_form_action(client_redirect_uri(tx))
        return render_template("consent.html", tx=tx.id, client=client,
                               scopes=[(name, scope_words(name)) for name, _claims in describe_scopes(scope)])
    if core.logins.consume(tx.id) is None:  # answered already, in another tab
        return _expired()
    if request.form.get("decision") != "allow":
        core.audit("consent.denied", client_id=client.client_id)
        return deny(tx, "The person denied the request.")
    grant_consent(session.person_id, client.client_id, scope)
    core.audit("consent.granted", client_id=client.client_id, scope=scope)
    tx.state["consented"] = True
    core.logins.save(tx)
    return redirect(tx.resume_url)


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def logout():
    """RP-initiated logout (end_session_endpoint)."""
    server = _core().server
    try:
        end_request = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return render_template("error.html", **logout_error_page(error, request.values)), 400
    if end_request.needs_confirmation:
        return render_template("logout_confirm.html", client=end_request.client)
    response = server.create_endpoint_response("end_session", end_request)
    return response or render_template("logged_out.html")


@bp.post("/logout/confirm")
def logout_confirm():
    end_current_session()
    return render_template("logged_out.html")
