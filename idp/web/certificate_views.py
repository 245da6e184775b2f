"""Certificate login: mutual TLS through a trusted proxy, and signed challenges (USB keys, ``idp-sign``).

    GET  /login/certificate/challenge?tx=   a fresh challenge (JSON for agents, a page for browsers)
    POST /login/certificate/challenge       {challenge_id, tx, certificate, chain, signature, algorithm}
    GET|POST /login/certificate/tls?tx=     log in with the client certificate of the TLS connection

Each view reads the request, hands the credentials to its authenticator (``idp.authn.signed_challenge``,
``idp.authn.mutual_tls``: challenge, certificate, signature, account, step-up rule), then audits,
starts or steps up the SSO session and answers. A refusal is an ``AuthnError`` whose code
``login_refusals`` turns into words and a status.
"""
from __future__ import annotations

from urllib.parse import urljoin

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from ..authn import AuthnError, LoginContext
from ..authn.challenge import TTL, issue_challenge, login_tx_of
from ..authn.mutual_tls import ClientCertificate, MutualTlsAuthenticator
from ..authn.signed_challenge import SignedChallenge, SignedChallengeAuthenticator, tx_of
from ..extensions import csrf
from ..http.client_ip import client_ip
from ..http.endpoints import asks_for_json
from ..http.request_guard import RequestRejected, loads_bounded
from ..sessions.browser import current_session, establish_session, safe_next
from ..sessions.login_transaction import LoginTransaction
from .client_certificate import presented_certificate
from .login_methods import CERTIFICATE, USB_KEY, login_tabs
from .login_refusals import refusal_message, refusal_status
from .views import after_login_target, allow_return_to_client, expired_login_page

bp = Blueprint("certificate", __name__)
LOGIN_EXPIRED = "login_expired"


def _core():
    return current_app.extensions["idp"]


def _load_tx(tx_id: str | None) -> LoginTransaction | None:
    return _core().logins.load(tx_id)


def _wants_json() -> bool:
    return asks_for_json()


@bp.app_template_global()
def certificate_challenge(tx_id: str | None) -> dict:
    """Issue a challenge while rendering the login page; returns it with its lifetime."""
    core = _core()
    return dict(issue_challenge(core.store, core.settings.issuer, tx_id), ttl=TTL)


# -- signed challenge ------------------------------------------------------------------------------

@bp.get("/login/certificate/challenge")
def challenge():
    tx_id = request.args.get("tx") or None
    if tx_id and _load_tx(tx_id) is None:
        return _refuse(AuthnError(LOGIN_EXPIRED), tx_id, audit=False)
    if _wants_json():
        issued = certificate_challenge(tx_id)
        return jsonify(challenge_id=issued["challenge_id"], challenge=issued["challenge"],
                       tx=login_tx_of(issued), expires_in=TTL,
                       login_url=urljoin(request.url_root, url_for("certificate.challenge_login")))
    return render_template("login.html", **_login_context(tx_id, USB_KEY))


@bp.post("/login/certificate/challenge")
def challenge_login():
    data = request.get_json(silent=True) if request.is_json else None
    if data is None:
        csrf.protect()  # a browser form: login CSRF would sign the victim in as someone else
        data = _form_input()
    tx_id = tx_of(data)
    try:
        core = _core()
        return _login(SignedChallengeAuthenticator(core.trust, core.store), SignedChallenge.parse(data), tx_id)
    except AuthnError as exc:
        return _refuse(exc, tx_id)


def _form_input() -> dict:
    signed = request.form.get("signed", "").strip()
    data: dict = {}
    if signed:
        try:
            data = loads_bounded(signed)
        except (ValueError, RequestRejected):
            data = {"malformed": True}
        if not isinstance(data, dict):
            data = {"malformed": True}
    for key in ("certificate", "signature", "algorithm"):
        if request.form.get(key):
            data[key] = request.form[key]
    if request.form.getlist("chain"):
        data["chain"] = request.form.getlist("chain")
    data["challenge_id"] = request.form.get("challenge_id", "")
    data["tx"] = request.form.get("tx", "")
    return data


# -- mutual TLS ------------------------------------------------------------------------------------

@bp.route("/login/certificate/tls", methods=["GET", "POST"])
def tls_login():
    tx_id = request.values.get("tx") or None
    if tx_id and _load_tx(tx_id) is None:
        return _refuse(AuthnError(LOGIN_EXPIRED), tx_id, audit=False)
    try:
        return _login(MutualTlsAuthenticator(_core().trust), ClientCertificate(presented_certificate()), tx_id)
    except AuthnError as exc:
        return _refuse(exc, tx_id)


# -- shared steps ----------------------------------------------------------------------------------

def _login(authenticator, credentials, tx_id: str | None):
    """Authenticate within the login transaction, then start or step up the SSO session."""
    core = _core()
    tx = _load_tx(tx_id) if tx_id else None
    if tx_id and tx is None:
        raise AuthnError(LOGIN_EXPIRED, "the login transaction has ended")
    session = current_session()
    step_up = bool(tx and tx.step_up)
    auth = authenticator.authenticate(credentials, LoginContext(
        ip=client_ip(), session_person_id=session.person_id if session else None, step_up=step_up))
    core.audit("login.success", method=auth.method, acr=auth.acr, amr=list(auth.amr), ip=client_ip(),
               client_id=_client_id(tx), step_up=step_up, **auth.details)
    target = after_login_target(tx, None if tx_id else _requested_next())
    response = establish_session(auth, target)
    if not _wants_json():
        return response
    body = jsonify(redirect_to=urljoin(request.url_root, target), acr=auth.acr, amr=list(auth.amr))
    for cookie in response.headers.getlist("Set-Cookie"):
        body.headers.add("Set-Cookie", cookie)
    return body


def _requested_next() -> str | None:
    """The local page to return to after a login started outside OIDC (e.g. the admin console)."""
    data = request.get_json(silent=True) if request.is_json else None
    value = data.get("next") if isinstance(data, dict) else request.values.get("next")
    return safe_next(value) if isinstance(value, str) else None


def _refuse(refusal: AuthnError, tx_id: str | None, *, audit: bool = True):
    tx = _load_tx(tx_id)
    if audit:
        _core().audit("login.failure", method="certificate", reason=refusal.code,
                      profile=refusal.details.get("profile"), ip=client_ip(), client_id=_client_id(tx))
    status = refusal_status(refusal)
    message = refusal_message(refusal)
    if _wants_json():
        return jsonify(error=refusal.code, error_description=message), status
    if tx_id and tx is None:
        return expired_login_page()
    method = CERTIFICATE if request.endpoint == "certificate.tls_login" else USB_KEY
    return render_template("login.html", error=message, **_login_context(tx_id if tx else None, method)), status


def _login_context(tx_id: str | None, method: str) -> dict:
    """The login page again, with the tab and method the person was using open."""
    tx = _load_tx(tx_id)
    needs_certificate = bool(tx and tx.step_up)
    allow_return_to_client(tx)
    return {"tx": tx_id if tx else None, "client_name": tx.client_name if tx else None,
            "needs_certificate": needs_certificate, "username": "", "next": None if tx else _requested_next(),
            **login_tabs(request.values.get("tab"), method, needs_certificate=needs_certificate)}


def _client_id(tx: LoginTransaction | None) -> str | None:
    return tx.client_id if tx else None
