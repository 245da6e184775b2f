"""Passkey pages: the account page's passkeys (add, list, remove) and logging in with a passkey.

    POST /login/passkey/options            {tx}  -> {ceremony, publicKey}  (navigator.credentials.get)
    POST /login/passkey                    form: ceremony, credential (JSON), tx, next
    POST /account/passkeys/options         {}    -> {ceremony, publicKey}  (navigator.credentials.create)
    POST /account/passkeys                 {ceremony, credential, name} -> {registered}
    POST /account/passkeys/<id>/remove     form

Every POST carries the CSRF token (a form field, or the X-CSRFToken header of ``static/passkey.js``).
The ceremonies themselves are ``idp.authn.passkey``; these views parse, audit and answer.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..authn import AuthnError, LoginContext
from ..authn import passkey as passkeys
from ..extensions import db
from ..http.client_ip import client_ip
from ..identity.models import Person
from ..sessions.browser import current_session, establish_session, safe_next
from .login_methods import PASSKEY, PERSON, login_tabs
from .login_refusals import refusal_message, refusal_status
from .views import after_login_target, allow_return_to_client, expired_login_page

bp = Blueprint("passkey", __name__)
LOGIN_EXPIRED = "login_expired"


def _core():
    return current_app.extensions["idp"]


def _rp() -> passkeys.RelyingParty:
    return passkeys.RelyingParty.of_issuer(_core().settings.issuer)


def _json_body() -> dict:
    data = request.get_json(silent=True) if request.is_json else None
    return data if isinstance(data, dict) else {}


def _json_refusal(refusal: AuthnError):
    return jsonify(error=refusal.code, error_description=refusal_message(refusal)), refusal_status(refusal)


def account_section(person: Person, session) -> dict:
    """The account page's passkeys section (``core.account_sections``)."""
    return {"template": "account/passkeys.html", "passkeys": passkeys.passkeys_of(person.id)}


# -- login -----------------------------------------------------------------------------------------

@bp.post("/login/passkey/options")
def login_options():
    tx_id = _json_body().get("tx") or None
    if tx_id is not None and (not isinstance(tx_id, str) or _core().logins.load(tx_id) is None):
        return _json_refusal(AuthnError(LOGIN_EXPIRED))
    ceremony, options = passkeys.login_options(_core().store, _rp(), tx_id)
    return jsonify(ceremony=ceremony, publicKey=options)


@bp.post("/login/passkey")
def login():
    core = _core()
    tx_id = request.form.get("tx") or None
    tx = core.logins.load(tx_id)
    if tx_id and tx is None:
        return expired_login_page()
    next_path = None if tx_id else safe_next(request.form.get("next"))
    session = current_session()
    step_up = bool(tx and tx.step_up)
    ip = client_ip()
    client_id = tx.client_id if tx else None
    try:
        auth = passkeys.PasskeyAuthenticator(core.store, _rp(), core.throttle).authenticate(
            passkeys.PasskeyAssertion(request.form.get("ceremony", ""), request.form.get("credential", ""),
                                      tx=tx_id, session_amr=tuple(session.amr) if session else ()),
            LoginContext(ip=ip, session_person_id=session.person_id if session else None, step_up=step_up))
    except AuthnError as exc:
        core.audit("login.failure", method=passkeys.METHOD, reason=exc.code, ip=ip, client_id=client_id,
                   **exc.details)
        if exc.code == passkeys.POSSIBLE_CLONE:
            core.audit("passkey.possible_clone", ip=ip, **exc.details)
        allow_return_to_client(tx)
        return render_template("login.html", error=refusal_message(exc), tx=tx_id,
                               client_name=tx.client_name if tx else None, needs_certificate=step_up,
                               username="", next=next_path, wanted_acr=None,
                               **login_tabs(PERSON, PASSKEY)), refusal_status(exc)
    core.audit("login.success", method=auth.method, acr=auth.acr, amr=list(auth.amr), ip=ip,
               client_id=client_id, step_up=step_up, **auth.details)
    return establish_session(auth, after_login_target(tx, next_path))


# -- the account page's passkeys ---------------------------------------------------------------------

def _person():
    session = current_session()
    return db.session.get(Person, session.person_id) if session is not None else None


@bp.post("/account/passkeys/options")
def registration_options():
    person = _person()
    if person is None:
        return jsonify(error="login_required", error_description=_("Log in first.")), 401
    ceremony, options = passkeys.registration_options(_core().store, _rp(), person)
    return jsonify(ceremony=ceremony, publicKey=options)


@bp.post("/account/passkeys")
def register():
    person = _person()
    if person is None:
        return jsonify(error="login_required", error_description=_("Log in first.")), 401
    data = _json_body()
    try:
        passkey = passkeys.register(_core().store, _rp(), person, data.get("ceremony") or "",
                                    data.get("credential"), data.get("name"))
    except AuthnError as exc:
        _core().audit("passkey.registration_refused", person=person.public_id, reason=exc.code, ip=client_ip())
        return _json_refusal(exc)
    _core().audit("passkey.registered", person=person.public_id, passkey=passkey.id, aaguid=passkey.aaguid,
                  backup_eligible=passkey.backup_eligible, ip=client_ip())
    return jsonify(registered=passkey.id, name=passkey.name, redirect_to=url_for("web.account"))


@bp.post("/account/passkeys/<int:passkey_id>/remove")
def remove(passkey_id: int):
    person = _person()
    if person is None:
        return redirect(url_for("web.login"))
    removed = passkeys.remove(person.id, passkey_id)
    if removed is None:
        return render_template("error.html", title=_("No such passkey"),
                               description=_("This passkey is not registered to your account.")), 404
    _core().audit("passkey.removed", person=person.public_id, passkey=passkey_id, ip=client_ip())
    return redirect(url_for("web.account"))
