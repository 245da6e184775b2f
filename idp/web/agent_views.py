"""Enterprise authorisations on the account page: a legal representative (at certificate level)
authorises agents, an agent accepts, either side revokes; and the page where a person chooses whom she
acts for (herself or an enterprise) before a login returns to the portal that asked for the enterprise
context (through its login transaction)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..authn.result import ACR_CERTIFICATE, acr_level
from ..clients.service import list_clients
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..identity import authorisations
from ..identity.models import Entity, Person, Representation, RepresentationRole
from ..sessions.browser import current_session, safe_next
from ..sessions.login_transaction import CONTEXT_CHOSEN, STEP_UP
from sqlalchemy import select

bp = Blueprint("agents", __name__)
SELF = "self"
STEP_UP_PROTOCOL = "acting"  # the login transactions of this module's step-ups
MAX_FIELD = 256


def _core():
    return current_app.extensions["idp"]


def account_section(person: Person, session) -> dict:
    """The authorisations part of the account page."""
    grantable = authorisations.enterprises_authorisable_by(person.id, session.acr)
    represents = db.session.scalars(select(Representation).where(
        Representation.person_id == person.id,
        Representation.role == RepresentationRole.legal_representative)).all()
    return {"template": "account/agents.html",
            "pending": authorisations.pending_for(person.id),
            "contexts": _offered(person.id, session, None),
            "acting_for": db.session.get(Entity, session.entity_id) if session.entity_id else None,
            "grantable": grantable,
            "granted": authorisations.granted_for([e.id for e in grantable]),
            "mine": [a for a in _held_by(person.id)],
            "needs_step_up": bool(represents) and acr_level(session.acr) < acr_level(ACR_CERTIFICATE),
            "step_up_url": url_for("agents.step_up"),
            "portals": list_clients(), "today": date.today().isoformat()}


def _offered(person_id: int, session, client_id: str | None):
    return authorisations.offered_contexts(person_id, session.entity_id, client_id)


def _held_by(person_id: int):
    return [a for a in authorisations.list_for_agent(person_id) if a.state() == authorisations.ACCEPTED]


def _page(title: str, description: str, status: int = 400):
    return render_template("error.html", title=title, description=description), status


def _logged_in():
    session = current_session()
    if session is None:
        return None, None
    person = db.session.get(Person, session.person_id)
    if person is None or person.disabled:
        return None, None
    return session, person


def _end_of_day(value: str) -> datetime:
    try:
        day = date.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationError("the end date must be a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=timezone.utc)


@bp.post("/account/authorisations")
def grant():
    session, person = _logged_in()
    if session is None:
        return redirect(url_for("web.login", next=url_for("web.account")))
    form = request.form
    entity = db.session.scalar(select(Entity).where(Entity.public_id == form.get("entity", "")[:32]))
    if entity is None:
        return _page(_("Authorisation refused"), _("Choose one of the enterprises you may authorise for."))
    fields = [form.get(k, "") for k in ("id_number", "name", "roles", "valid_until")]
    if any(len(v) > MAX_FIELD for v in fields):
        return _page(_("Authorisation refused"), _("A field is too long."))
    portals = None if form.get("all_portals") else form.getlist("portals")
    try:
        authorisations.grant(granter_id=person.id, acr=session.acr, entity_id=entity.id,
                             agent_id_number=form.get("id_number", ""), agent_name=form.get("name", ""),
                             roles=form.get("roles", "").replace("，", ",").split(","), portals=portals,
                             valid_until=_end_of_day(form.get("valid_until", "")))
    except PermissionError:
        _core().audit("authorisation.refused", person=person.public_id, entity=entity.uscc)
        return _page(_("Authorisation refused"), _("Only the legal representative, logged in with a "
                                                   "certificate, or an agent holding the authorise role may "
                                                   "authorise agents for this enterprise."), 403)
    except NotFound:
        return _page(_("Authorisation refused"), _("No account matches this ID number and name."))
    except ValidationError as exc:
        return _page(_("Authorisation refused"), _validation_words(str(exc)))
    return redirect(url_for("web.account"))


def _validation_words(message: str) -> str:
    words = {
        "this is not a valid ID number": _("This is not a valid ID number."),
        "you cannot authorise yourself": _("You cannot authorise yourself."),
        "the end date must be in the future": _("The end date must be in the future."),
        "the end date must be a date (YYYY-MM-DD)": _("The end date must be a date (YYYY-MM-DD)."),
        "give at least one role": _("Give at least one role."),
        "no portal with this client id": _("Choose portals from the list."),
        "choose at least one portal, or all portals": _("Choose at least one portal, or all portals."),
    }
    return words.get(message, _("Roles are short words of lower-case letters, digits, - and _, separated "
                                "by commas."))


@bp.post("/account/authorisations/<public_id>/accept")
def accept(public_id):
    session, person = _logged_in()
    if session is None:
        return redirect(url_for("web.login", next=url_for("web.account")))
    try:
        authorisations.accept(person_id=person.id, public_id=public_id)
    except NotFound:
        return _page(_("Authorisation not found"), _("It was revoked, has expired, or is not yours."), 404)
    return redirect(url_for("web.account"))


@bp.post("/account/authorisations/<public_id>/revoke")
def revoke(public_id):
    session, person = _logged_in()
    if session is None:
        return redirect(url_for("web.login", next=url_for("web.account")))
    try:
        authorisations.revoke(_core(), public_id=public_id, actor=person.public_id, by_person_id=person.id,
                              acr=session.acr)
    except NotFound:
        return _page(_("Authorisation not found"), _("It was revoked, has expired, or is not yours."), 404)
    if current_session() is None:  # she revoked the authorisation this very session acted under
        return redirect(url_for("web.login"))
    return redirect(url_for("web.account"))


@bp.route("/account/acting-for", methods=["GET", "POST"])
def choose():
    """Choose whom to act for: from the account page, or during a login a portal started (``tx``)."""
    core = _core()
    tx = core.logins.load(request.values.get("tx")) if request.values.get("tx") else None
    if request.values.get("tx") and tx is None:
        return _page(_("This login request has expired"), _("Go back to the portal and start again."))
    session, person = _logged_in()
    if session is None:
        return redirect(url_for("web.login", tx=tx.id) if tx else url_for("web.login"))
    client_id = tx.client_id if tx else None
    contexts = _offered(person.id, session, client_id)
    if request.method == "GET":
        return render_template("acting_for.html", contexts=contexts, tx=tx, person=person,
                               current=session.entity_id)
    choice = request.form.get("acting_for", "")
    if choice == SELF:
        core.sessions.act_for(session, None, None)
        core.audit("acting.chosen", person=person.public_id, entity=None, client_id=client_id)
    else:
        chosen = next((c for c in contexts if c.entity.public_id == choice), None)
        if chosen is None:
            return _refused(core, person, choice, client_id)
        if authorisations.needs_step_up(chosen, session.acr):
            return _start_step_up(core, person, chosen.entity.public_id, outer=tx)
        _act_for(core, session, person, chosen, client_id)
    return _after_choice(core, tx)


def _refused(core, person: Person, choice: str, client_id: str | None):
    core.audit("acting.refused", person=person.public_id, choice=choice[:64], client_id=client_id)
    return _page(_("You cannot act for this enterprise"),
                 _("Choose yourself or one of the enterprises offered on the page."))


def _act_for(core, session, person: Person, chosen, client_id: str | None) -> None:
    core.sessions.act_for(session, chosen.entity.id, chosen.authorisation_id)
    authorisations.audit_choice(core, person.public_id, chosen, client_id)


def _after_choice(core, tx, then: str | None = None):
    if tx is None:
        return redirect(then or url_for("web.account"))
    tx.state[CONTEXT_CHOSEN] = True
    core.logins.save(tx)
    return redirect(tx.resume_url)


# -- certificate-level step-up before acting as the legal representative, or authorising agents --------

def _start_step_up(core, person: Person, entity: str | None, *, outer=None, then: str | None = None):
    """Send her to the login page for a certificate-level login of the same person (a step-up login
    transaction: a certificate of somebody else is refused), then back to ``stepped_up``. ``entity``:
    the enterprise she chose to act for as its legal representative (None: she wants to authorise
    agents); ``outer``: the portal's login transaction waiting for her choice; ``then``: a local page."""
    step = core.logins.start(protocol=STEP_UP_PROTOCOL, reason=STEP_UP, resume_endpoint="agents.stepped_up",
                             client_name=outer.client_name if outer else "",
                             client_id=outer.client_id if outer else None,
                             return_to=outer.return_to if outer else None, acr_values=[ACR_CERTIFICATE],
                             state={"person": person.id, "entity": entity, "outer": outer.id if outer else None,
                                    "then": then})
    core.audit("acting.step_up", person=person.public_id, entity=entity, client_id=step.client_id)
    return redirect(url_for("web.login", tx=step.id))


@bp.get("/account/step-up")
def step_up():
    """From the account page (authorising agents) or a device's verification page (acting as the legal
    representative, ``entity`` and ``next``)."""
    session, person = _logged_in()
    if session is None:
        return redirect(url_for("web.login", next=url_for("web.account")))
    entity = request.args.get("entity", "")[:32] or None
    return _start_step_up(_core(), person, entity, then=safe_next(request.args.get("next")))


@bp.get("/account/step-up/done")
def stepped_up():
    core = _core()
    step = core.logins.load(request.args.get("tx"))
    if step is None or step.protocol != STEP_UP_PROTOCOL:
        return _page(_("This login request has expired"), _("Go back to the portal and start again."))
    session, person = _logged_in()
    if session is None or acr_level(session.acr) < acr_level(ACR_CERTIFICATE):
        return redirect(url_for("web.login", tx=step.id))  # not done yet: the login page asks again
    core.logins.delete(step.id)
    outer = core.logins.load(step.state["outer"]) if step.state.get("outer") else None
    if step.state.get("outer") and outer is None:
        return _page(_("This login request has expired"), _("Go back to the portal and start again."))
    entity = step.state.get("entity")
    if person.id != step.state.get("person"):
        core.audit("acting.refused", person=person.public_id, choice=(entity or "")[:64], client_id=step.client_id,
                   reason="other_person")
        return _page(_("You cannot act for this enterprise"),
                     _("The certificate login was not by the person who chose the enterprise."))
    if entity is None:
        return redirect(step.state.get("then") or url_for("web.account"))
    chosen = next((c for c in _offered(person.id, session, step.client_id) if c.entity.public_id == entity), None)
    if chosen is None:
        return _refused(core, person, entity, step.client_id)
    _act_for(core, session, person, chosen, step.client_id)
    return _after_choice(core, outer, step.state.get("then"))


def step_up_cancelled(step):
    """She gave up the certificate login: back to the choice she came from."""
    outer = step.state.get("outer")
    if outer:
        return redirect(url_for("agents.choose", tx=outer))
    return redirect(step.state.get("then") or url_for("web.account"))
