"""QR cross-device login pages (扫码登录); the requests themselves are ``idp.authn.cross_device``.

Desktop (the browser logging in):
    the login page's QR panel calls ``qr_login_code`` while rendering: a new request and its QR code
    GET  /login/qr/<id>/status      JSON {status, interval}: pending, confirmed, approved, denied, expired, used
    POST /login/qr/<id>/continue    form: tx, next -> the SSO session, then the login it continues
Phone (a browser where the person is logged in):
    GET  /login/qr/<id>             what asks (site, IP address, browser, time); "it is me", then approve/deny
    POST /login/qr/<id>/confirm
    POST /login/qr/<id>/decision    form: decision = approve | deny

The desktop browser's secret lives in the signed form session (Flask's session cookie): another browser
polling or continuing the same id learns nothing. Every form carries the CSRF token.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from urllib.parse import urljoin

import segno
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from ..authn import AuthnError, LoginContext
from ..authn import cross_device as qr
from ..extensions import db
from ..http.client_ip import client_ip
from ..identity.models import Person
from ..sessions.browser import current_session, establish_session, safe_next
from .login_methods import PERSON, QR, login_tabs
from .login_refusals import refusal_message, refusal_status
from .views import after_login_target, allow_return_to_client, expired_login_page

bp = Blueprint("qr", __name__)
BROWSER_KEY = "qr_browser"  # the desktop browser's secret, in the signed form session


def _core():
    return current_app.extensions["idp"]


def _logins() -> qr.QrLogins:
    return qr.QrLogins(_core().store)


def _browser_secret(create: bool = False) -> str | None:
    secret = session.get(BROWSER_KEY)
    if not isinstance(secret, str) and create:
        secret = session[BROWSER_KEY] = secrets.token_urlsafe(32)
    return secret if isinstance(secret, str) else None


def _refused(reason: str, **facts) -> None:
    _core().audit("qr.refused", reason=reason, ip=client_ip(), **facts)


# -- desktop ---------------------------------------------------------------------------------------

def _code_view(found: qr.QrRequest) -> dict:
    url = urljoin(request.url_root, url_for("qr.scan", request_id=found.id))
    return {"id": found.id, "url": url, "ttl": qr.TTL, "interval": qr.POLL_INTERVAL,
            "svg": segno.make(url, error="m").svg_inline(scale=4, title=_("QR code to log in with another device")),
            "status_url": url_for("qr.status", request_id=found.id),
            "continue_url": url_for("qr.continue_login", request_id=found.id)}


@bp.app_template_global()
def qr_login_code(tx_id: str | None, next_path: str | None) -> dict:
    """A new QR login request of this browser while the login page renders: its code, or the refusal."""
    core = _core()
    tx = core.logins.load(tx_id)
    ip = client_ip()
    try:
        found = _logins().create(_browser_secret(create=True), ip=ip, user_agent=request.headers.get("User-Agent", ""),
                                 tx=tx.id if tx else None, next_path=None if tx else safe_next(next_path),
                                 client_name=tx.client_name if tx else None, client_id=tx.client_id if tx else None)
    except AuthnError as exc:
        _refused(exc.code)
        return {"error": refusal_message(exc)}
    core.audit("qr.created", qr=found.id[:8], ip=ip, client_id=found.client_id)
    return _code_view(found)


@bp.get("/login/qr/<request_id>/status")
def status(request_id: str):
    logins = _logins()
    try:
        found = logins.of_browser(request_id, _browser_secret())
    except AuthnError as exc:
        return jsonify(status="unknown", error=exc.code, error_description=refusal_message(exc)), 404
    if logins.poll_too_fast(found):
        response = jsonify(status="slow_down", interval=qr.POLL_INTERVAL * 2,
                           error_description=_("Too many status requests. Wait a moment."))
        response.headers["Retry-After"] = str(qr.POLL_INTERVAL * 2)
        return response, 429
    state = logins.status(found)
    if state == "expired":
        _core().audit("qr.expired", qr=found.id[:8], ip=client_ip(), client_id=found.client_id)
    return jsonify(status=state, interval=qr.POLL_INTERVAL)


@bp.post("/login/qr/<request_id>/continue")
def continue_login(request_id: str):
    core = _core()
    tx_id = request.form.get("tx") or None
    tx = core.logins.load(tx_id)
    if tx_id and tx is None:  # ended (continued already, cancelled) or expired: its portal starts again
        _refused("login_expired", qr=request_id[:8] if qr.plausible_id(request_id) else None)
        return expired_login_page()
    next_path = None if tx_id else safe_next(request.form.get("next"))
    ip = client_ip()
    sso = current_session()
    step_up = bool(tx and tx.step_up)
    client_id = tx.client_id if tx else None
    try:
        auth = qr.CrossDeviceAuthenticator(core.store).authenticate(
            qr.QrContinuation(request_id, _browser_secret(), tx_id, next_path),
            LoginContext(ip=ip, session_person_id=sso.person_id if sso else None, step_up=step_up))
    except AuthnError as exc:
        core.audit("login.failure", method=qr.METHOD, reason=exc.code, ip=ip, client_id=client_id, **exc.details)
        _refused(exc.code, client_id=client_id, **exc.details)
        allow_return_to_client(tx)
        still = exc.code == qr.PENDING  # the same code stays on the page; any other refusal gets a new one
        return render_template("login.html", error=refusal_message(exc), tx=tx_id,
                               client_name=tx.client_name if tx else None, needs_certificate=step_up,
                               username="", next=next_path, wanted_acr=None,
                               qr_code=_code_view(_logins().find(request_id)) if still else None,
                               **login_tabs(PERSON, QR)), refusal_status(exc)
    core.audit("qr.used", qr=request_id[:8], ip=ip, client_id=client_id, person=auth.details["person"])
    core.audit("login.success", method=auth.method, acr=auth.acr, amr=list(auth.amr), ip=ip, client_id=client_id,
               step_up=step_up, **auth.details)
    return establish_session(auth, after_login_target(tx, next_path))


# -- phone -----------------------------------------------------------------------------------------

def _person(sso):
    person = db.session.get(Person, sso.person_id) if sso is not None else None
    return None if person is None or person.disabled else person


def _refusal_page(exc: AuthnError, request_id: str, person: Person | None):
    _refused(exc.code, qr=request_id[:8] if qr.plausible_id(request_id) else None,
             person=person.public_id if person else None)
    status_code = 404 if exc.code == qr.UNKNOWN else refusal_status(exc)
    return render_template("qr/refused.html", message=refusal_message(exc)), status_code


def _site_name(found: qr.QrRequest) -> str | None:
    return (_core().site_name(found.client_id) if found.client_id else None) or found.client_name


def _scanned(request_id: str):
    """(session, person, request) of a scan, or (None, None, an answer): log in first, or a refusal."""
    sso = current_session()
    person = _person(sso)
    if person is None:
        here = url_for("qr.scan", request_id=request_id) if qr.plausible_id(request_id) else None
        if here is None:
            return None, None, _refusal_page(AuthnError(qr.UNKNOWN), request_id, None)
        return None, None, redirect(url_for("web.login", next=here))
    try:
        return sso, person, _logins().openable(request_id)
    except AuthnError as exc:
        return None, None, _refusal_page(exc, request_id, person)


@bp.get("/login/qr/<request_id>")
def scan(request_id: str):
    sso, person, found = _scanned(request_id)
    if sso is None:
        return found
    confirmed = _logins().confirmation(found)
    if confirmed is not None and confirmed.get("person_id") != person.id:
        return _refusal_page(AuthnError(qr.DIFFERENT_PERSON), request_id, person)
    created = datetime.fromtimestamp(found.created_at, tz=timezone.utc)
    return render_template("qr/approve.html", request_id=found.id, confirmed=confirmed is not None,
                           site=_site_name(found), ip=found.ip, user_agent=found.user_agent,
                           created=format_datetime(created, "medium"), person=person)


@bp.post("/login/qr/<request_id>/confirm")
def confirm(request_id: str):
    sso, person, found = _scanned(request_id)
    if sso is None:
        return found
    try:
        _logins().confirm(found, person.id)
    except AuthnError as exc:
        return _refusal_page(exc, request_id, person)
    _core().audit("qr.confirmed", qr=found.id[:8], person=person.public_id, ip=client_ip(), client_id=found.client_id)
    return redirect(url_for("qr.scan", request_id=found.id))


@bp.post("/login/qr/<request_id>/decision")
def decision(request_id: str):
    sso, person, found = _scanned(request_id)
    if sso is None:
        return found
    approved = request.form.get("decision") == "approve"
    try:
        _logins().decide(found, sso, approved=approved)
    except AuthnError as exc:
        return _refusal_page(exc, request_id, person)
    _core().audit("qr.approved" if approved else "qr.denied", qr=found.id[:8], person=person.public_id,
                  acr=sso.acr if approved else None, ip=client_ip(), client_id=found.client_id,
                  desktop_ip=found.ip)
    return render_template("qr/done.html", approved=approved, site=_site_name(found))
