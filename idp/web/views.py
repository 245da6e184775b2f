"""Login and account pages. A login started by a protocol (OpenID Connect, CAS) arrives with its login
transaction (``?tx=``) and returns to it; the pages know no protocol."""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..authn import AuthnError, LoginContext
from ..authn.password import PasswordAuthenticator, PasswordCredentials
from ..authn.result import ACR_PASSWORD, acr_level
from ..extensions import db
from ..http.client_ip import client_ip
from ..http.headers import allow_form_action
from ..identity.models import Entity, Person
from ..sessions.browser import current_session, establish_session, safe_next
from ..sessions.logout import end_session_everywhere
from ..sessions.login_transaction import LoginTransaction
from .assurance_words import level_words, method_words, step_up_words
from .login_methods import PASSWORD, PERSON, login_tabs
from .login_refusals import refusal_message, refusal_status

bp = Blueprint("web", __name__)


def _core():
    return current_app.extensions["idp"]


def expired_login_page():
    return render_template("error.html", title=_("This login request has expired"),
                           description=_("Go back to the portal and start again.")), 400


def after_login_target(tx: LoginTransaction | None, next_path: str | None = None) -> str:
    """Where the browser goes once logged in: back to the protocol that asked, else a local page."""
    if tx is not None:
        return tx.resume_url
    return next_path or url_for("web.account")


def allow_return_to_client(tx: LoginTransaction | None) -> None:
    """A login or consent form of this transaction ends, through redirects, at the site that asked (its
    redirect URI, or the CAS service): the page's form-action must allow that origin."""
    if tx is not None:
        allow_form_action(tx.return_to)


@bp.app_template_global()
def step_up_notice(tx_id: str | None, wanted_acr: str | None) -> str:
    """The login page's words for a service that asks for more than a password: which methods give its level."""
    tx = _core().logins.load(tx_id)
    return step_up_words(tx.acr_values if tx else [wanted_acr])


@bp.get("/")
def index():
    return redirect(url_for("web.account"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    tx_id = request.values.get("tx") or None
    tx = _core().logins.load(tx_id)
    if tx_id and tx is None:
        return expired_login_page()
    allow_return_to_client(tx)
    next_path = None if tx_id else safe_next(request.values.get("next"))
    wanted_acr = request.values.get("acr") if next_path else None  # step-up asked by a local page
    needs_certificate = bool(tx and tx.step_up) or acr_level(wanted_acr) > acr_level(ACR_PASSWORD)
    context = {"tx": tx_id, "client_name": tx.client_name if tx else None,
               "needs_certificate": needs_certificate, "username": "", "next": next_path,
               "wanted_acr": wanted_acr if needs_certificate and not tx else None}
    from .second_factor_views import second_factor_after_password, second_factor_step_up  # imports this module
    if request.method == "GET":
        second_step = second_factor_step_up(tx, next_path, wanted_acr)
        if second_step is not None:
            return second_step
        return render_template("login.html", **context, **login_tabs(
            request.args.get("tab"), request.args.get("method"), needs_certificate=needs_certificate))
    context.update(login_tabs(PERSON, PASSWORD))

    username = request.form.get("username", "")
    context["username"] = username[:254]
    ip = client_ip()
    client_id = tx.client_id if tx else None
    try:
        auth = PasswordAuthenticator(_core().throttle).authenticate(
            PasswordCredentials(username, request.form.get("password", "")), LoginContext(ip=ip))
    except AuthnError as exc:
        _core().audit("login.failure", method="password", reason=exc.code, ip=ip, client_id=client_id)
        return render_template("login.html", error=refusal_message(exc), **context), refusal_status(exc)
    second_step = second_factor_after_password(auth, tx, next_path)
    if second_step is not None:
        return second_step
    _core().audit("login.success", method=auth.method, acr=auth.acr, ip=ip, client_id=client_id, **auth.details)
    return establish_session(auth, after_login_target(tx, next_path))


@bp.post("/login/cancel")
def login_cancel():
    """The person gives up: the protocol that asked answers its site (e.g. OIDC access_denied)."""
    tx = _core().logins.consume(request.form.get("tx"))
    answer = _core().logins.cancel(tx) if tx is not None else None
    return answer if answer is not None else redirect(url_for("web.account"))


@bp.get("/account")
def account():
    session = current_session()
    if session is None:
        return redirect(url_for("web.login"))
    core = _core()
    person = db.session.get(Person, session.person_id)
    sessions = []
    for s in core.sessions.for_person(session.person_id):
        names = [core.site_name(key) for key in sorted(s.clients)]
        entity = db.session.get(Entity, s.entity_id) if s.entity_id else None
        sessions.append({"session": s, "current": s.key == session.key,
                         "clients": [name for name in names if name is not None],
                         "method": method_words(s.method, s.amr), "level": level_words(s.acr),
                         "entity": entity.name if entity else None})
    sections = [section for section in (add(person, session) for add in core.account_sections) if section]
    return render_template("account.html", person=person, sessions=sessions, session=session, sections=sections,
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
