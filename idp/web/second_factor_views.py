"""Second factors in the browser: the second step of a password login, stepping a session up, and the
account page's section to enrol (authenticator app with a QR code, SMS), confirm and remove them.

After a correct password, a person with a second factor is not logged in yet: the password's result is
kept for a few minutes in the ephemeral store under a random key that only this browser's form session
holds ("pending first factor"), and the second-factor page finishes the login. A person already
logged in with a password whose portal asks for ``urn:idp:loa:2`` answers the same page, and the same
session (same sid) is stepped up.
"""
from __future__ import annotations

import secrets
from dataclasses import asdict
from urllib.parse import urlsplit

import segno
from flask import Blueprint, current_app, redirect, render_template, request, session as form_session, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from ..authn import AuthnError, LoginContext
from ..authn.recovery import RecoveryCodeAuthenticator, new_recovery_codes, remove_recovery_codes, unused_count
from ..authn.result import ACR_MFA, AuthResult, acr_level
from ..authn.second_factor import (MALFORMED_CODE, WRONG_CODE, CodeCredentials, SecondFactorRefused,
                                   enrolled_factors, enrolled_kinds)
from ..authn.sms import SmsAuthenticator, SmsDeliveryError, masked_phone
from ..authn.totp import TotpAuthenticator, check_code, new_secret, provisioning_uri, seal_secret
from ..errors import ValidationError
from ..extensions import db
from ..http.client_ip import client_ip
from ..identity.models import Person
from ..identity.identifiers import normalize_phone
from ..identity.second_factors import SMS, TOTP, SecondFactor
from ..keys.sealing import seal, unseal
from ..sessions.browser import current_session, establish_session, safe_next
from .login_refusals import refusal_message, refusal_status
from .views import after_login_target, allow_return_to_client, expired_login_page

bp = Blueprint("second_factor", __name__)

PENDING = "mfa_pending"          # store kind: a password login waiting for its second factor
PENDING_TTL = 300
ENROL = "totp_enrol"             # store kind: a TOTP secret shown as a QR code, not confirmed yet
ENROL_TTL = 900
METHODS = (TOTP, SMS, "recovery")


def _core():
    return current_app.extensions["idp"]


# --- the hand-off from the password page -------------------------------------------------------------

def second_factor_after_password(auth: AuthResult, tx, next_path: str | None):
    """After a correct password: the second-factor page when the person has a second factor, else None."""
    factors = enrolled_kinds(auth.person_id)
    if not factors:
        return None
    key = secrets.token_urlsafe(24)
    record = asdict(auth)
    _core().store.put(PENDING, key, record, PENDING_TTL)
    form_session[PENDING] = key
    _core().audit("login.first_factor", method=auth.method, ip=client_ip(),
                  client_id=tx.client_id if tx else None, **auth.details)
    return redirect(url_for("second_factor.login", tx=tx.id if tx else None, next=next_path,
                            method=_default_method(factors)), 303)


def second_factor_step_up(tx, next_path: str | None, wanted_acr: str | None):
    """A login page asked to raise a password session of a person with a second factor: the second-factor
    page (the certificate methods stay one link away), else None."""
    session = current_session()
    step_up = bool(tx and tx.step_up) or (next_path and acr_level(wanted_acr) > acr_level(session.acr if session else None))
    if not step_up or session is None or request.args.get("method") or request.args.get("tab"):
        return None
    if tx and any(acr_level(a) > acr_level(ACR_MFA) for a in tx.acr_values) \
            and not any(0 < acr_level(a) <= acr_level(ACR_MFA) for a in tx.acr_values):
        return None  # only a certificate on a USB key will do
    if not next_path and acr_level(wanted_acr) > acr_level(ACR_MFA):
        return None
    factors = enrolled_kinds(session.person_id)
    if not factors:
        return None
    return redirect(url_for("second_factor.login", tx=tx.id if tx else None, next=next_path,
                            method=_default_method(factors)))


def _default_method(factors) -> str:
    return TOTP if TOTP in factors else SMS


def _first_factor():
    """(first factor result, pending key or None) of this browser: a pending password login, else the
    current session (a step-up); (None, None) when there is neither."""
    key = form_session.get(PENDING)
    if isinstance(key, str):
        record = _core().store.get(PENDING, key)
        if isinstance(record, dict):
            try:
                return AuthResult(**{**record, "amr": tuple(record.get("amr") or ())}), key
            except TypeError:  # written by a version with other fields: the person starts again
                _core().store.delete(PENDING, key)
    session = current_session()
    if session is not None:
        person = db.session.get(Person, session.person_id)
        return AuthResult(person_id=session.person_id, method=session.method, acr=session.acr,
                          amr=tuple(session.amr), details={"person": person.public_id if person else None}), None
    return None, None


# --- the second step ------------------------------------------------------------------------------

def _login_page(first, tx, next_path, method, *, error=None, notice=None, status=200):
    factors = enrolled_factors(first.person_id)
    if method not in METHODS or (method in (TOTP, SMS) and method not in factors):
        method = _default_method(factors)
    return render_template("second_factor/login.html", tx=tx.id if tx else None,
                           client_name=tx.client_name if tx else None, next=next_path, method=method,
                           factors=factors, phone=masked_phone(factors[SMS].phone) if SMS in factors else None,
                           error=error, notice=notice), status


def _request_context():
    tx_id = request.values.get("tx") or None
    tx = _core().logins.load(tx_id)
    next_path = None if tx_id else safe_next(request.values.get("next"))
    return tx_id, tx, next_path


class _StepExpired(Exception):
    def __init__(self, page):
        self.page = page


def _second_step():
    """(tx, next_path, first factor, pending key) of the login this second step continues; raises
    _StepExpired with the page to answer when the login transaction or the first factor has expired."""
    tx_id, tx, next_path = _request_context()
    if tx_id and tx is None:
        raise _StepExpired(expired_login_page())
    allow_return_to_client(tx)
    first, pending_key = _first_factor()
    if first is None or not enrolled_factors(first.person_id):
        raise _StepExpired((render_template("error.html", title=_("This login request has expired"),
                                            description=_("Log in again with your password.")), 400))
    return tx, next_path, first, pending_key


@bp.route("/login/second-factor", methods=["GET", "POST"])
def login():
    try:
        tx, next_path, first, pending_key = _second_step()
    except _StepExpired as expired:
        return expired.page
    method = request.values.get("method", TOTP)
    if request.method == "GET":
        return _login_page(first, tx, next_path, method)
    ip = client_ip()
    client_id = tx.client_id if tx else None
    core = _core()
    account = f"person:{first.person_id}"
    credentials = CodeCredentials(first.person_id, request.form.get("code", "")[:64])
    context = LoginContext(ip=ip, session_person_id=first.person_id, step_up=pending_key is None)
    try:
        core.throttle.check(account, ip)
        authenticator = {TOTP: lambda: TotpAuthenticator(core.master_keys), SMS: lambda: SmsAuthenticator(core.sms),
                         "recovery": RecoveryCodeAuthenticator}.get(method)
        if authenticator is None:
            raise SecondFactorRefused(MALFORMED_CODE, "unknown second factor")
        auth = authenticator().authenticate(credentials, context, first=first)
    except AuthnError as exc:
        if exc.code != "locked":
            core.throttle.failure(account, ip)
        core.audit("login.failure", method=method, reason=exc.code, ip=ip, client_id=client_id,
                   step_up=pending_key is None, **first.details, **exc.details)
        return _login_page(first, tx, next_path, method, error=refusal_message(exc), status=refusal_status(exc))
    core.throttle.success(account)
    if pending_key is not None:
        core.store.delete(PENDING, pending_key)
        form_session.pop(PENDING, None)
    core.audit("login.success", method=auth.method, acr=auth.acr, amr=list(auth.amr), ip=ip, client_id=client_id,
               step_up=pending_key is None, **auth.details)
    return establish_session(auth, after_login_target(tx, next_path))


@bp.post("/login/second-factor/sms")
def send_login_sms():
    try:
        tx, next_path, first, _pending_key = _second_step()
    except _StepExpired as expired:
        return expired.page
    ip = client_ip()
    try:
        phone = SmsAuthenticator(_core().sms).send(first.person_id, ip)
    except AuthnError as exc:
        _core().audit("sms.refused", reason=exc.code, ip=ip, **first.details, **exc.details)
        return _login_page(first, tx, next_path, SMS, error=refusal_message(exc), status=refusal_status(exc))
    except SmsDeliveryError as exc:
        _core().audit("sms.failed", reason=str(exc), ip=ip, **first.details)
        return _login_page(first, tx, next_path, SMS, error=_("The text message could not be sent. Try again "
                                                              "later or use another method."), status=503)
    _core().audit("sms.sent", purpose="login", phone=phone, ip=ip, **first.details)
    return _login_page(first, tx, next_path, SMS, notice=_("A code was sent to %(phone)s.", phone=phone))


# --- the account page ------------------------------------------------------------------------------

def account_section(person, session):
    factors = enrolled_factors(person.id)
    return {"template": "account/second_factor.html", "factors": factors,
            "sms_phone": masked_phone(factors[SMS].phone) if SMS in factors else None,
            "recovery_left": unused_count(person.id) if factors else 0}


def _account_person():
    """(person, None) of the browser's session, or (None, a redirect to log in or to step up first)."""
    session = current_session()
    if session is None:
        return None, redirect(url_for("web.login", next=url_for("web.account")))
    person = db.session.get(Person, session.person_id)
    if enrolled_factors(person.id) and acr_level(session.acr) < acr_level(ACR_MFA):
        # changing second factors needs the second level: a password alone must not remove them
        return None, redirect(url_for("second_factor.login", next=url_for("web.account"),
                                      method=_default_method(enrolled_factors(person.id))))
    return person, None


def _qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for the authenticator app"))


def _totp_page(person, secret, *, error=None, status=200):
    uri = provisioning_uri(secret, person.phone or person.email or person.public_id,
                           urlsplit(_core().settings.issuer).hostname or "idp")
    return render_template("second_factor/enrol_totp.html", qr_svg=_qr_svg(uri), secret=secret,
                           error=error), status


@bp.route("/account/second-factor/totp", methods=["GET", "POST"])
def enrol_totp():
    person, answer = _account_person()
    if answer is not None:
        return answer
    core = _core()
    if TOTP in enrolled_factors(person.id):
        return redirect(url_for("web.account"))
    context = f"totp-enrol:{person.id}"
    record = core.store.get(ENROL, str(person.id))
    secret = unseal(core.master_key, record["sealed"], context).decode("ascii") if record else None
    if request.method == "GET" or secret is None:
        if secret is None:
            secret = new_secret()
            core.store.put(ENROL, str(person.id),
                           {"sealed": seal(core.master_key, secret.encode("ascii"), context)}, ENROL_TTL)
        return _totp_page(person, secret)
    try:
        step = check_code(secret, request.form.get("code", "")[:64])
    except AuthnError as exc:
        core.audit("second_factor.enrol_failed", kind=TOTP, reason=exc.code, person=person.public_id, ip=client_ip())
        return _totp_page(person, secret, error=refusal_message(exc), status=refusal_status(exc))
    core.store.delete(ENROL, str(person.id))
    first = not enrolled_factors(person.id)
    if not _stored(SecondFactor(person_id=person.id, kind=TOTP, last_step=step,
                                secret_sealed=seal_secret(core.master_key, person.id, secret))):
        return redirect(url_for("web.account"))
    core.audit("second_factor.enrolled", kind=TOTP, person=person.public_id, ip=client_ip())
    return _after_enrolment(person, first)


def _stored(factor: SecondFactor) -> bool:
    """Store a new factor; False when the person already has one of its kind, enrolled by another request
    at the same moment (a double click, a second tab): the unique (person, kind) constraint decides."""
    db.session.add(factor)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _after_enrolment(person, first: bool):
    if first:
        codes = new_recovery_codes(person.id)
        _core().audit("second_factor.recovery_codes", person=person.public_id, count=len(codes), ip=client_ip())
        return render_template("second_factor/recovery_codes.html", codes=codes)
    return redirect(url_for("web.account"))


@bp.route("/account/second-factor/sms", methods=["GET", "POST"])
def enrol_sms():
    person, answer = _account_person()
    if answer is not None:
        return answer
    core = _core()
    if SMS in enrolled_factors(person.id):
        return redirect(url_for("web.account"))
    phone_typed = (request.form.get("phone") or person.phone or "")[:32]
    if request.method == "GET":
        return render_template("second_factor/enrol_sms.html", phone=phone_typed, sent=False)
    ip = client_ip()
    try:
        phone = normalize_phone(phone_typed)
    except ValidationError:
        return render_template("second_factor/enrol_sms.html", phone=phone_typed, sent=False,
                               error=_("Enter a mainland China mobile number (11 digits).")), 400
    if request.form.get("action") == "send":
        try:
            core.sms.send(person.id, phone, ip, purpose="enrol")
        except AuthnError as exc:
            core.audit("sms.refused", reason=exc.code, ip=ip, person=person.public_id, **exc.details)
            return render_template("second_factor/enrol_sms.html", phone=phone, sent=False,
                                   error=refusal_message(exc)), refusal_status(exc)
        except SmsDeliveryError as exc:
            core.audit("sms.failed", reason=str(exc), ip=ip, person=person.public_id)
            return render_template("second_factor/enrol_sms.html", phone=phone, sent=False,
                                   error=_("The text message could not be sent. Try again later.")), 503
        core.audit("sms.sent", purpose="enrol", phone=masked_phone(phone), ip=ip, person=person.public_id)
        return render_template("second_factor/enrol_sms.html", phone=phone, sent=True)
    try:
        record = core.sms.check(person.id, request.form.get("code", ""), purpose="enrol")
        if record["phone"] != phone:
            raise SecondFactorRefused(WRONG_CODE, "the code was sent to another number")
    except AuthnError as exc:
        core.audit("second_factor.enrol_failed", kind=SMS, reason=exc.code, person=person.public_id, ip=ip)
        return render_template("second_factor/enrol_sms.html", phone=phone, sent=True,
                               error=refusal_message(exc)), refusal_status(exc)
    first = not enrolled_factors(person.id)
    if not _stored(SecondFactor(person_id=person.id, kind=SMS, phone=phone)):
        return redirect(url_for("web.account"))
    core.audit("second_factor.enrolled", kind=SMS, phone=masked_phone(phone), person=person.public_id, ip=ip)
    return _after_enrolment(person, first)


@bp.post("/account/second-factor/remove")
def remove():
    person, answer = _account_person()
    if answer is not None:
        return answer
    kind = request.form.get("kind")
    factor = enrolled_factors(person.id).get(kind or "")
    if factor is None:
        return render_template("error.html", title=_("No such second factor"),
                               description=_("It may have been removed already.")), 400
    db.session.delete(factor)
    db.session.commit()
    if not enrolled_factors(person.id):
        remove_recovery_codes(person.id)
    _core().audit("second_factor.removed", kind=kind, person=person.public_id, ip=client_ip())
    return redirect(url_for("web.account"), 303)


@bp.post("/account/second-factor/recovery-codes")
def renew_recovery_codes():
    person, answer = _account_person()
    if answer is not None:
        return answer
    if not enrolled_factors(person.id):
        return redirect(url_for("web.account"), 303)
    codes = new_recovery_codes(person.id)
    _core().audit("second_factor.recovery_codes", person=person.public_id, count=len(codes), ip=client_ip())
    return render_template("second_factor/recovery_codes.html", codes=codes)


def init_second_factors(app, core) -> None:
    app.register_blueprint(bp)
    core.account_sections.append(account_section)
