"""CAS 2.0/3.0 endpoints under /cas. Each is a short list of steps; identity comes from the core."""
from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...extensions import db
from ...identity.authorisations import choice_needed
from ...identity.models import Person
from ...sessions.browser import current_session, end_current_session
from ...sessions.login_transaction import CHOOSE_CONTEXT, CONTEXT_CHOSEN, LOGIN
from . import tickets
from .attributes import ACTING_ATTRIBUTES, user_and_attributes
from .errors import INVALID_REQUEST, UNAUTHORIZED_SERVICE_PROXY, CasError
from .responses import (XML_TYPE, authentication_failure, authentication_success, cas1_answer,
                        proxy_failure)
from .services import find_service

bp = Blueprint("cas", __name__, url_prefix="/cas")
PROTOCOL = "cas"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _core():
    return current_app.extensions["idp"]


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("true", "1", "yes")


def _signed_in():
    session = current_session()
    if session is None:
        return None
    person = db.session.get(Person, session.person_id)
    return session if person is not None and not person.disabled else None


def _unknown_service(service_url: str):
    return render_template("error.html", title=_("This site is not registered for single sign-on"),
                           description=_("The address %(url)s is not a registered CAS service. Ask the site's "
                                         "administrator to register it.", url=service_url[:300])), 400


def _expired():
    return render_template("error.html", title=_("This login request has expired"),
                           description=_("Go back to the portal and start again.")), 400


def _send_ticket(session, service, service_url: str, *, new_login: bool):
    ticket = tickets.issue(_core(), session, service, service_url, new_login=new_login)
    _core().audit("cas.ticket", service=service.id, new_login=new_login)
    response = redirect(add_params_to_uri(service_url, [("ticket", ticket)]))
    response.headers.update(NO_STORE)
    return response


# --- login -----------------------------------------------------------------------------------------
@bp.get("/login")
def login():
    service_url = request.args.get("service")
    if not service_url:
        return redirect(url_for("web.account"))
    service = find_service(service_url)
    if service is None:
        return _unknown_service(service_url)
    renew = _flag("renew")
    gateway = _flag("gateway")
    session = _signed_in()
    if session is not None and not renew and (gateway or not _choice_needed(session, service)):
        return _send_ticket(session, service, service_url, new_login=False)
    if gateway and not renew:
        return redirect(service_url)  # no session and the site asked not to show a login page
    before = [session.key, session.auth_time] if session is not None else None
    tx = _core().logins.start(protocol=PROTOCOL, reason=LOGIN if session is None or renew else CHOOSE_CONTEXT,
                              resume_endpoint="cas.login_resume", client_name=service.name,
                              client_id=service.session_key, return_to=service_url,
                              state={"service": service_url, "renew": renew, "session_before": before})
    if tx.reason == CHOOSE_CONTEXT:
        return redirect(url_for("agents.choose", tx=tx.id))
    return redirect(url_for("web.login", tx=tx.id))


def _choice_needed(session, service) -> bool:
    """The person first chooses whom she acts for (herself or an enterprise she may act for at this
    service), as at an OpenID client asking for the enterprise context: a CAS service has no way to ask,
    so it is offered whenever there is something to choose."""
    return choice_needed(session.person_id, service.session_key, entity_id=session.entity_id,
                         chosen=session.context_chosen)


@bp.get("/login/resume")
def login_resume():
    tx = _core().logins.load(request.args.get("tx"))
    if tx is None or tx.protocol != PROTOCOL:
        return _expired()
    session = _signed_in()
    # A new login happened after this request began (not merely the session that was already there).
    new_login = (session is not None and tx.login_since_start(session.auth_time)
                 and [session.key, session.auth_time] != tx.state["session_before"])
    if session is None or (tx.state["renew"] and not new_login):
        return redirect(url_for("web.login", tx=tx.id))
    service_url = tx.state["service"]
    service = find_service(service_url)
    if service is None:
        _core().logins.delete(tx.id)
        return _unknown_service(service_url)
    if not tx.state.get(CONTEXT_CHOSEN) and _choice_needed(session, service):
        return redirect(url_for("agents.choose", tx=tx.id))
    _core().logins.delete(tx.id)
    return _send_ticket(session, service, service_url, new_login=new_login)


# --- validation ------------------------------------------------------------------------------------
def _xml(body: str) -> Response:
    return Response(body, content_type=XML_TYPE, headers=NO_STORE)


def _validate(with_attributes: bool) -> Response:
    core = _core()
    fmt = request.args.get("format", "XML").upper()
    if fmt != "XML":
        return _xml(authentication_failure(INVALID_REQUEST, "only format=XML is supported"))
    try:
        validated = tickets.validate(core, request.args.get("ticket"), request.args.get("service"),
                                     renew=_flag("renew"))
    except CasError as error:
        core.audit("cas.validation_failed", code=error.code)
        return _xml(authentication_failure(error.code, error.description))
    user, attributes = user_and_attributes(core, validated)
    acting = validated.acting
    core.audit("cas.validated", service=validated.service.id, person=validated.person.public_id,
               **({"entity": acting.entity.uscc, "authorisation": acting.authorisation_id} if acting else {}))
    if not with_attributes:  # CAS 2.0 releases no attributes, but whom the person acts for goes with her
        attributes = {key: value for key, value in attributes.items() if key in ACTING_ATTRIBUTES}
    return _xml(authentication_success(user, attributes or None))


@bp.get("/serviceValidate")
def service_validate():
    return _validate(with_attributes=False)


@bp.get("/p3/serviceValidate")
def p3_service_validate():
    return _validate(with_attributes=True)


@bp.get("/validate")
def validate_cas1():
    """CAS 1.0: a plain-text yes/no."""
    core = _core()
    try:
        validated = tickets.validate(core, request.args.get("ticket"), request.args.get("service"),
                                     renew=_flag("renew"))
    except CasError as error:
        core.audit("cas.validation_failed", code=error.code)
        return Response(cas1_answer(None), content_type="text/plain; charset=UTF-8", headers=NO_STORE)
    user, _attributes = user_and_attributes(core, validated)
    core.audit("cas.validated", service=validated.service.id, person=validated.person.public_id)
    return Response(cas1_answer(user), content_type="text/plain; charset=UTF-8", headers=NO_STORE)


_NO_PROXY = ("proxy authentication is not offered by this server; validate service tickets at "
             "/cas/serviceValidate or /cas/p3/serviceValidate")


@bp.get("/proxyValidate")
@bp.get("/p3/proxyValidate")
def proxy_validate():
    return _xml(authentication_failure(UNAUTHORIZED_SERVICE_PROXY, _NO_PROXY))


@bp.get("/proxy")
def proxy():
    return _xml(proxy_failure(UNAUTHORIZED_SERVICE_PROXY, _NO_PROXY))


# --- logout ----------------------------------------------------------------------------------------
@bp.get("/logout")
def logout():
    """Ends the SSO session at every site (OIDC back-channel, CAS single logout), then optionally
    returns to a registered service."""
    end_current_session()
    service_url = request.args.get("service") or request.args.get("url")
    if service_url and find_service(service_url) is not None:
        return redirect(service_url)
    return render_template("logged_out.html")
