"""Login, consent, account (sessions) and logout pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..authn import AuthnError, LoginContext
from ..authn.password import PasswordAuthenticator, PasswordCredentials
from ..authn.result import ACR_PASSWORD, acr_level
from ..clients.service import find_client
from ..extensions import csrf, db
from ..identity.claims import describe_scopes
from ..identity.models import Entity, Person
from ..protocols.cas.services import get_service_by_key
from ..protocols.oidc.consent import grant_consent
from ..protocols.oidc.error_pages import logout_error_page
from ..protocols.oidc.response_modes import error_response
from ..sessions.logout import end_session_everywhere
from .assurance_words import level_words, method_words
from .client_ip import client_ip
from .headers import add_security_headers, allow_form_action, csp_nonce
from .login_methods import METHODS, PASSWORD, PERSON, open_panels
from .login_refusals import refusal_message, refusal_status
from .scope_words import scope_words
from .session_cookie import clear_session_cookie, current_session, end_current_session, set_session_cookie

bp = Blueprint("web", __name__)
bp.add_app_template_global(csp_nonce)
LOGIN_TX = "login_tx"


def _core():
    return current_app.extensions["idp"]


@bp.after_app_request
def _clear_cookie(response):
    if g.get("clear_sso_cookie"):
        clear_session_cookie(response)
    add_security_headers(response)
    return response


def _load_tx(tx_id: str | None) -> dict | None:
    if not tx_id or len(tx_id) > 100:
        return None
    return _core().store.get(LOGIN_TX, tx_id)


def establish_session(auth, response_target: str):
    """Start (or step up) the browser's SSO session after a successful authentication."""
    core = _core()
    session = current_session()
    if session is not None and session.person_id == auth.person_id:
        core.sessions.reauthenticate(session, auth)
        response = redirect(response_target)
    else:
        if session is not None:
            end_session_everywhere(core, session, reason="new login")
        token, session = core.sessions.create(auth, ip=client_ip(), user_agent=request.headers.get("User-Agent", ""))
        response = redirect(response_target)
        set_session_cookie(response, token)
    g.sso_session = session
    return response


def safe_next(value: str | None) -> str | None:
    """A local path to return to after logging in (``next``); anything that could leave the site is dropped."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def _after_login_target(tx_id: str | None, next_path: str | None = None) -> str:
    tx = _load_tx(tx_id) if tx_id else None
    if tx and tx.get("resume_url"):  # a login started by another protocol (CAS) resumes there
        return tx["resume_url"]
    if tx_id:
        return url_for("oidc.authorize_resume", tx=tx_id)
    return next_path or url_for("web.account")


@bp.get("/")
def index():
    return redirect(url_for("web.account"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    tx_id = request.values.get("tx") or None
    tx = _load_tx(tx_id)
    if tx_id and tx is None:
        return render_template("error.html", title=_("This login request has expired"),
                               description=_("Go back to the portal and start again.")), 400
    allow_return_to_client(tx)
    next_path = None if tx_id else safe_next(request.values.get("next"))
    wanted_acr = request.values.get("acr") if next_path else None  # step-up asked by a local page
    needs_certificate = bool(tx and tx.get("reason") == "step_up") or acr_level(wanted_acr) > acr_level(ACR_PASSWORD)
    context = {"tx": tx_id, "client_name": tx.get("client_name") if tx else None,
               "needs_certificate": needs_certificate, "username": "", "next": next_path,
               "wanted_acr": wanted_acr if needs_certificate and not tx else None}
    if request.method == "GET":
        return render_template("login.html", **context, **login_tabs(
            request.args.get("tab"), request.args.get("method"), needs_certificate=needs_certificate))
    context.update(login_tabs(PERSON, PASSWORD))

    username = request.form.get("username", "")
    context["username"] = username[:254]
    ip = client_ip()
    client_id = tx["params"].get("client_id") if tx else None
    try:
        auth = PasswordAuthenticator(_core().throttle).authenticate(
            PasswordCredentials(username, request.form.get("password", "")), LoginContext(ip=ip))
    except AuthnError as exc:
        _core().audit("login.failure", method="password", reason=exc.code, ip=ip, client_id=client_id)
        return render_template("login.html", error=refusal_message(exc), **context), refusal_status(exc)
    _core().audit("login.success", method=auth.method, acr=auth.acr, ip=ip, client_id=client_id, **auth.details)
    return establish_session(auth, _after_login_target(tx_id, next_path))


def login_tabs(tab: str | None, method: str | None, *, needs_certificate: bool = False) -> dict:
    """The login page's tabs and which of them is open (see ``login_methods``)."""
    open_tab, open_method = open_panels(tab, method, needs_certificate=needs_certificate)
    return {"login_methods": METHODS, "open_tab": open_tab, "open_method": open_method}


@bp.post("/login/cancel")
def login_cancel():
    tx_id = request.form.get("tx")
    tx = _core().store.consume(LOGIN_TX, tx_id) if tx_id and len(tx_id) < 100 else None
    if tx is None:
        return redirect(url_for("web.account"))
    return _deny(tx, "The person cancelled the login.")  # RFC 6749: ASCII only


def _deny(tx: dict, description: str):
    """access_denied to the client, in the response mode its request asked for."""
    redirect_uri = _client_redirect_uri(tx)
    if redirect_uri is None:
        return redirect(url_for("web.account"))
    error = AccessDeniedError(description, redirect_uri=redirect_uri)
    return _core().server.handle_response(*error_response(error, tx["params"]))


def _client_redirect_uri(tx: dict) -> str | None:
    """The registered redirect URI an OpenID Connect login transaction answers to."""
    params = tx["params"]
    client = find_client(params.get("client_id", "")) if params.get("client_id") else None
    redirect_uri = params.get("redirect_uri") or (client.get_default_redirect_uri() if client else None)
    if client is None or not redirect_uri or not client.check_redirect_uri(redirect_uri):
        return None
    return redirect_uri


def allow_return_to_client(tx: dict | None) -> None:
    """A login or consent form of this transaction ends, through redirects, at the relying party (its
    redirect URI, or the CAS service): the page's form-action must allow that origin."""
    if tx is not None:
        allow_form_action(tx["cas"]["service"] if "cas" in tx else _client_redirect_uri(tx))


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    tx_id = request.values.get("tx")
    tx = _load_tx(tx_id)
    session = current_session()
    if tx is None or session is None:
        return render_template("error.html", title=_("This login request has expired"),
                               description=_("Go back to the portal and start again.")), 400
    client = find_client(tx["params"].get("client_id", ""))
    if client is None:
        return render_template("error.html", title=_("Unknown application"), description=""), 400
    scope = client.get_allowed_scope(tx["params"].get("scope"))
    if request.method == "GET":
        allow_return_to_client(tx)
        return render_template("consent.html", tx=tx_id, client=client,
                               scopes=[(name, scope_words(name)) for name, _claims in describe_scopes(scope)])
    _core().store.delete(LOGIN_TX, tx_id)
    if request.form.get("decision") != "allow":
        _core().audit("consent.denied", client_id=client.client_id)
        return _deny(tx, "The person denied the request.")
    grant_consent(session.person_id, client.client_id, scope)
    _core().audit("consent.granted", client_id=client.client_id, scope=scope)
    tx["consented"] = True
    _core().store.put(LOGIN_TX, tx_id, tx, 600)
    return redirect(url_for("oidc.authorize_resume", tx=tx_id))


@bp.get("/account")
def account():
    session = current_session()
    if session is None:
        return redirect(url_for("web.login"))
    core = _core()
    person = db.session.get(Person, session.person_id)
    sessions = []
    for s in core.sessions.for_person(session.person_id):
        clients = [find_client(cid) or get_service_by_key(cid) for cid in sorted(s.clients)]
        entity = db.session.get(Entity, s.entity_id) if s.entity_id else None
        sessions.append({"session": s, "current": s.key == session.key,
                         "clients": [c.name for c in clients if c is not None],
                         "method": method_words(s.method, s.amr), "level": level_words(s.acr),
                         "entity": entity.name if entity else None})
    return render_template("account.html", person=person, sessions=sessions, session=session,
                           password_level=acr_level(session.acr) <= acr_level(ACR_PASSWORD))


@bp.post("/account/logout-all")
def logout_all():
    session = current_session()
    if session is None:
        return redirect(url_for("web.login"))
    core = _core()
    for other in core.sessions.for_person(session.person_id):
        end_session_everywhere(core, other, reason="logout all")
    g.clear_sso_cookie = True
    return render_template("logged_out.html")


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
