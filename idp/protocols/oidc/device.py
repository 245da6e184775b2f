"""The device flow's HTTP endpoints (RFC 8628): the device authorization endpoint a kiosk or TV calls,
and the verification page where a person enters the code the device shows and approves or denies it.

The verification page needs a logged-in person: one who is not is sent to the login page, which
brings them back here (``/login?next=``). Guessing user codes is throttled per person and per IP.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...authn.throttle import LoginThrottle
from ...clients.service import find_client
from ...errors import LockedOut
from ...extensions import db
from ...identity.authorisations import audit_choice, needs_step_up, offered_contexts
from ...identity.claims import describe_scopes
from ...identity.models import Person
from ...http.client_ip import client_ip
from .acting import asks_for_entity
from .scope_words import scope_words
from ...sessions.browser import current_session
from .consent import grant_consent
from .device_grant import DeviceRequests, display_user_code, normalize_user_code
from .server import TokenRequest

api = Blueprint("device_api", __name__)  # for devices: JSON answers, no CSRF (web.endpoints)
bp = Blueprint("device", __name__)  # for people: pages
USER_CODE_MAX_FAILURES = 10  # wrong codes per person and per IP before entry is locked for a while


def _core():
    return current_app.extensions["idp"]


@api.post("/device_authorization")
def device_authorization():
    return _core().server.create_endpoint_response("device_authorization", TokenRequest(request))


def _guess_throttle() -> LoginThrottle:
    core = _core()
    return LoginThrottle(core.store, max_failures=USER_CODE_MAX_FAILURES, ip_max_failures=USER_CODE_MAX_FAILURES,
                         lock_seconds=core.settings.login_lock_seconds, slowdown=core.settings.login_slowdown)


def _person(session):
    person = db.session.get(Person, session.person_id) if session else None
    return None if person is None or person.disabled else person


class Refused(Exception):
    """A user code the page cannot accept, with the person's words and the HTTP status."""

    def __init__(self, reason: str, message: str, status: int = 400):
        super().__init__(reason)
        self.reason, self.message, self.status = reason, message, status


def _find(typed: str, person: Person):
    """The pending device request of a typed user code; raises Refused (audited) otherwise."""
    core = _core()
    ip = client_ip()
    throttle = _guess_throttle()
    account, ip_key = "user_code:" + person.public_id, "user_code:" + ip
    try:
        throttle.check(account, ip_key)
    except LockedOut as exc:
        core.audit("device.user_code_throttled", person=person.public_id, ip=ip)
        minutes = max(1, (exc.retry_after + 59) // 60)
        raise Refused("throttled", _("Too many wrong codes. Try again in %(minutes)s minutes.", minutes=minutes),
                      429) from None
    code = normalize_user_code(typed)
    found = DeviceRequests(core.store).by_user_code(code) if code else None
    if found is None:
        throttle.failure(account, ip_key)
        core.audit("device.user_code_refused", reason="unknown", person=person.public_id, ip=ip)
        raise Refused("unknown", _("This code is not valid. Check the code shown on your device and enter it "
                                   "again."))
    if found.is_expired():
        core.audit("device.user_code_refused", reason="expired", client_id=found.client_id,
                   person=person.public_id, ip=ip)
        raise Refused("expired", _("This code has expired. Start again on your device to get a new code."))
    if DeviceRequests(core.store).decision(found) is not None:
        core.audit("device.user_code_refused", reason="answered", client_id=found.client_id,
                   person=person.public_id, ip=ip)
        raise Refused("answered", _("This code has already been used. Start again on your device to get a new "
                                    "code."))
    client = find_client(found.client_id)
    if client is None:
        core.audit("device.user_code_refused", reason="client_gone", client_id=found.client_id,
                   person=person.public_id, ip=ip)
        raise Refused("client_gone", _("The application that asked is no longer registered with this login "
                                       "service."))
    throttle.success(account)
    return found, client


def _entry_page(user_code: str = "", error: str | None = None, status: int = 200):
    return render_template("device/entry.html", user_code=user_code[:40], error=error), status


@bp.route("/device", methods=["GET", "POST"])
def verification():
    session = current_session()
    person = _person(session)
    if person is None:
        here = url_for("device.verification")
        if request.method == "GET" and request.args.get("user_code"):
            here += "?" + urlencode({"user_code": request.args["user_code"][:40]})
        return redirect(url_for("web.login", next=here))
    if request.method == "GET":  # verification_uri_complete fills the code in; the person confirms it
        return _entry_page(request.args.get("user_code", ""))
    typed = request.form.get("user_code", "")
    try:
        found, client = _find(typed, person)
    except Refused as refused:
        return _entry_page(typed, refused.message, refused.status)
    return render_template("device/confirm.html", client=client, user_code=display_user_code(found.user_code),
                           scopes=[(name, scope_words(name)) for name, _claims in describe_scopes(found.scope)],
                           contexts=_contexts(session, person, found, client), person=person,
                           current=session.entity_id)


def _contexts(session, person: Person, found, client) -> list:
    """The enterprises the person may act for at this device's client, when it asked for the enterprise
    context (the ``entity`` scope): the same choice as at an authorization request."""
    if not asks_for_entity({"scope": found.scope}):
        return []
    return offered_contexts(person.id, session.entity_id, client.client_id)


def _chosen_entity(session, person: Person, found, client):
    """(entity id for the grant, None) or (None, the answer): whom she acts for on the device, as she chose
    on the confirmation page. A choice that was not offered is refused; acting as the legal representative
    from a session below certificate level first steps her up and brings her back here."""
    contexts = _contexts(session, person, found, client)
    if not contexts:
        return session.entity_id, None
    choice = request.form.get("acting_for", "self")
    if choice == "self":
        return None, None
    chosen = next((c for c in contexts if c.entity.public_id == choice), None)
    core = _core()
    if chosen is None:
        core.audit("acting.refused", person=person.public_id, choice=choice[:64], client_id=client.client_id)
        return None, (render_template("error.html", title=_("You cannot act for this enterprise"),
                                      description=_("Choose yourself or one of the enterprises offered on the "
                                                    "page.")), 400)
    if needs_step_up(chosen, session.acr):
        here = url_for("device.verification") + "?" + urlencode({"user_code": display_user_code(found.user_code)})
        return None, redirect(url_for("agents.step_up", entity=chosen.entity.public_id, next=here))
    audit_choice(core, person.public_id, chosen, client.client_id)
    return chosen.entity.id, None


@bp.post("/device/decision")
def decision():
    core = _core()
    session = current_session()
    person = _person(session)
    if person is None:
        return redirect(url_for("web.login", next=url_for("device.verification")))
    typed = request.form.get("user_code", "")
    try:
        found, client = _find(typed, person)
    except Refused as refused:
        return _entry_page(typed, refused.message, refused.status)
    requests = DeviceRequests(core.store)
    ip = client_ip()
    if request.form.get("decision") != "allow":
        if requests.decide(found, approved=False):
            core.audit("device.denied", client_id=client.client_id, person=person.public_id, ip=ip)
        return render_template("device/done.html", approved=False, client=client)
    entity_id, answer = _chosen_entity(session, person, found, client)
    if answer is not None:
        return answer
    grant = {"person_id": person.id, "auth_time": session.auth_time, "acr": session.acr, "amr": list(session.amr),
             "sid": session.sid, "entity_id": entity_id}
    if not requests.decide(found, approved=True, grant=grant):
        return _entry_page(typed, _("This code has already been used. Start again on your device to get a new "
                                    "code."), 400)
    core.sessions.add_client(session, client.client_id)  # the device hears of this session's logout
    if not client.first_party:
        grant_consent(person.id, client.client_id, found.scope)
        core.audit("consent.granted", client_id=client.client_id, scope=found.scope)
    core.audit("device.approved", client_id=client.client_id, person=person.public_id, acr=session.acr,
               scope=found.scope, ip=ip)
    return render_template("device/done.html", approved=True, client=client)
