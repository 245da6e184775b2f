"""Enterprise authorisations (法人授权经办人): a legal representative authorises a person (the agent) to
act for the enterprise at some portals (or all), in some roles, until a date. The agent accepts; from
then on she may choose, at login, to act for the enterprise. Whether a person may act for an enterprise
at a portal *at this moment* (``acting_context``) is asked again at every token issue and refresh.

A person acts for an enterprise either as one of its registered representatives (``Representation``)
or under an accepted, unexpired, unrevoked authorisation covering the portal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from ..audit import log as audit_log
from ..authn.result import ACR_CERTIFICATE, acr_level
from ..errors import NotFound, ValidationError
from ..extensions import db
from .models import Entity, Person, Representation, RepresentationRole, new_public_id, utcnow
from .numbers import normalize_id_number

PENDING, ACCEPTED, REVOKED = "pending", "accepted", "revoked"
EXPIRED = "expired"  # stored once the expiry job has ended what acted under an accepted authorisation
EXPIRY_BATCH = 100  # authorisations the expiry job ends per run
LEGAL_REPRESENTATIVE = RepresentationRole.legal_representative.value
AUTHORISE_ROLE = "authorise"  # the role that lets an agent authorise others in turn
ROLE_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_ROLES = 16
MAX_PORTALS = 64


class EnterpriseAuthorisation(db.Model):
    __tablename__ = "enterprise_authorisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, index=True, default=new_public_id)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), nullable=True)
    portals: Mapped[list | None] = mapped_column(JSON, nullable=True)  # client ids; None: every portal
    roles: Mapped[list] = mapped_column(JSON, default=list)
    can_authorise: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    entity: Mapped[Entity] = relationship(foreign_keys=[entity_id])
    agent: Mapped[Person] = relationship(foreign_keys=[agent_id])
    granted_by: Mapped[Person | None] = relationship(foreign_keys=[granted_by_id])

    def expired(self, at: datetime | None = None) -> bool:
        return _aware(self.valid_until) <= (at or utcnow())

    def active(self, at: datetime | None = None) -> bool:
        return self.status == ACCEPTED and not self.expired(at)

    def covers(self, client_id: str | None) -> bool:
        return self.portals is None or client_id is None or client_id in self.portals

    def state(self, at: datetime | None = None) -> str:
        """pending, accepted, revoked or expired (an unrevoked authorisation past its date)."""
        if self.status != REVOKED and self.expired(at):
            return "expired"
        return self.status


@dataclass(frozen=True)
class ActingContext:
    """The enterprise a person acts for, and in what capacity."""
    entity: Entity
    role: str  # legal_representative, agent (registered), or authorised_agent (under an authorisation)
    roles: tuple = ()
    authorisation_id: str | None = None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _active_authorisations(person_id: int, entity_id: int | None = None, at: datetime | None = None):
    query = select(EnterpriseAuthorisation).where(EnterpriseAuthorisation.agent_id == person_id,
                                                  EnterpriseAuthorisation.status == ACCEPTED)
    if entity_id is not None:
        query = query.where(EnterpriseAuthorisation.entity_id == entity_id)
    return [a for a in db.session.scalars(query.order_by(EnterpriseAuthorisation.id)) if a.active(at)]


def acting_context(person_id: int, entity_id: int, client_id: str | None = None,
                   at: datetime | None = None) -> ActingContext | None:
    """How the person may act for the enterprise at this portal now, or None when she may not."""
    representation = db.session.scalar(select(Representation).where(
        Representation.person_id == person_id, Representation.entity_id == entity_id)
        .order_by(Representation.id))
    if representation is not None:
        return ActingContext(entity=representation.entity, role=representation.role.value)
    for authorisation in _active_authorisations(person_id, entity_id, at):
        if authorisation.covers(client_id):
            return ActingContext(entity=authorisation.entity, role="authorised_agent",
                                 roles=tuple(authorisation.roles or ()), authorisation_id=authorisation.public_id)
    return None


def contexts_for(person_id: int, client_id: str | None = None, at: datetime | None = None, *,
                 representations=(LEGAL_REPRESENTATIVE,)) -> list[ActingContext]:
    """Every enterprise the person may act for at this portal now (one entry per enterprise): those she
    is registered as a representative of in one of the ``representations`` roles (by default the legal
    representative; a registered agent acts for her enterprise by logging in with its certificate), and
    those she holds an authorisation for."""
    found: dict[int, ActingContext] = {}
    roles = [RepresentationRole(role) for role in representations]
    for representation in db.session.scalars(select(Representation).where(
            Representation.person_id == person_id, Representation.role.in_(roles))
            .order_by(Representation.id)) if roles else ():
        found.setdefault(representation.entity_id,
                         ActingContext(entity=representation.entity, role=representation.role.value))
    for authorisation in _active_authorisations(person_id, at=at):
        if authorisation.covers(client_id):
            found.setdefault(authorisation.entity_id, ActingContext(
                entity=authorisation.entity, role="authorised_agent", roles=tuple(authorisation.roles or ()),
                authorisation_id=authorisation.public_id))
    return list(found.values())


def offered_contexts(person_id: int, current_entity_id: int | None, client_id: str | None) -> list[ActingContext]:
    """What a chooser offers besides herself: the enterprises she is the legal representative of or holds
    an authorisation for at this portal, and the one the session acts for already (an enterprise
    certificate login) if it is still hers."""
    offered = contexts_for(person_id, client_id)
    if current_entity_id is not None and all(c.entity.id != current_entity_id for c in offered):
        current = acting_context(person_id, current_entity_id, client_id)
        if current is not None:
            offered.insert(0, current)
    return offered


def choice_needed(person_id: int, client_id: str | None, *, entity_id: int | None, chosen: bool,
                  ask_again: bool = False) -> bool:
    """Whether a login at this portal first asks the person whom she acts for: she has not chosen yet in
    this session (``chosen``; a session acting for an enterprise from its certificate counts as chosen),
    the portal asks her to choose again, or the enterprise she acts for (``entity_id``) is not hers here
    now. Nothing to choose from, nothing to ask."""
    unheld = entity_id is not None and acting_context(person_id, entity_id, client_id) is None
    undecided = not chosen and entity_id is None
    if not (unheld or undecided or ask_again):
        return False
    return bool(contexts_for(person_id, client_id))


def audit_choice(core, person_public_id: str, chosen: ActingContext, client_id: str | None) -> None:
    """Record that she chose to act for the enterprise, and the use of the authorisation it rests on."""
    core.audit("acting.chosen", person=person_public_id, entity=chosen.entity.uscc, client_id=client_id,
               authorisation=chosen.authorisation_id, role=chosen.role)
    if chosen.authorisation_id:
        core.audit("authorisation.used", authorisation=chosen.authorisation_id, entity=chosen.entity.uscc,
                   agent=person_public_id, client_id=client_id)


def needs_step_up(context: ActingContext, acr: str | None) -> bool:
    """Acting as the legal representative needs a certificate-level login (the enterprise's certificate,
    or her own certificate or second factor on top of her password)."""
    return context.role == LEGAL_REPRESENTATIVE and acr_level(acr) < acr_level(ACR_CERTIFICATE)


def enterprises_authorisable_by(person_id: int, acr: str | None, at: datetime | None = None) -> list[Entity]:
    """The enterprises this person may authorise agents for, logged in at ``acr``: those she is the legal
    representative of, and those she holds an authorisation with the authorise role for. Granting needs
    a certificate-level login."""
    if acr_level(acr) < acr_level(ACR_CERTIFICATE):
        return []
    found: dict[int, Entity] = {}
    for representation in db.session.scalars(select(Representation).where(
            Representation.person_id == person_id,
            Representation.role == RepresentationRole.legal_representative)):
        found.setdefault(representation.entity_id, representation.entity)
    for authorisation in _active_authorisations(person_id, at=at):
        if authorisation.can_authorise:
            found.setdefault(authorisation.entity_id, authorisation.entity)
    return list(found.values())


def _clean_roles(roles) -> list[str]:
    cleaned: list[str] = []
    for role in roles or ():
        role = (role or "").strip().lower()
        if not role:
            continue
        if not ROLE_PATTERN.fullmatch(role):
            raise ValidationError("a role is a short word of lower-case letters, digits, - and _")
        if role not in cleaned:
            cleaned.append(role)
    if not cleaned:
        raise ValidationError("give at least one role")
    if len(cleaned) > MAX_ROLES:
        raise ValidationError(f"at most {MAX_ROLES} roles")
    return cleaned


def _clean_portals(portals) -> list[str] | None:
    if portals is None:
        return None
    from ..clients.service import find_client
    cleaned: list[str] = []
    for client_id in portals:
        client_id = (client_id or "").strip()
        if not client_id or client_id in cleaned:
            continue
        if len(client_id) > 64 or find_client(client_id) is None:
            raise ValidationError("no portal with this client id")
        cleaned.append(client_id)
    if not cleaned:
        raise ValidationError("choose at least one portal, or all portals")
    if len(cleaned) > MAX_PORTALS:
        raise ValidationError(f"at most {MAX_PORTALS} portals")
    return cleaned


def grant(*, granter_id: int, acr: str | None, entity_id: int, agent_id_number: str, agent_name: str,
          roles, portals, valid_until: datetime) -> EnterpriseAuthorisation:
    """Authorise the person with this ID number and name to act for the enterprise. ``portals`` None
    means every portal. The "authorise" role lets the agent authorise others in turn. Raises
    ``PermissionError`` when the granter may not authorise for this enterprise."""
    if entity_id not in {e.id for e in enterprises_authorisable_by(granter_id, acr)}:
        raise PermissionError("not allowed to authorise agents for this enterprise")
    try:
        number = normalize_id_number(agent_id_number)
    except ValidationError:
        raise ValidationError("this is not a valid ID number") from None
    agent = db.session.scalar(select(Person).where(Person.id_number == number))
    if agent is None or agent.disabled or agent.name.strip() != (agent_name or "").strip():
        # one answer for both: the form does not reveal whether an ID number has an account
        raise NotFound("no account matches this ID number and name")
    if agent.id == granter_id:
        raise ValidationError("you cannot authorise yourself")
    valid_until = _aware(valid_until)
    if valid_until <= utcnow():
        raise ValidationError("the end date must be in the future")
    roles = _clean_roles(roles)
    authorisation = EnterpriseAuthorisation(entity_id=entity_id, agent_id=agent.id, granted_by_id=granter_id,
                                            portals=_clean_portals(portals), roles=roles,
                                            can_authorise=AUTHORISE_ROLE in roles, valid_until=valid_until,
                                            status=PENDING)
    db.session.add(authorisation)
    db.session.flush()
    _commit_with_audit("authorisation.granted", _audited(authorisation))
    return authorisation


def pending_for(person_id: int, at: datetime | None = None) -> list[EnterpriseAuthorisation]:
    rows = db.session.scalars(select(EnterpriseAuthorisation).where(
        EnterpriseAuthorisation.agent_id == person_id, EnterpriseAuthorisation.status == PENDING)
        .order_by(EnterpriseAuthorisation.id))
    return [a for a in rows if not a.expired(at)]


def granted_for(entity_ids, at: datetime | None = None) -> list[EnterpriseAuthorisation]:
    """The unrevoked, unexpired authorisations of these enterprises (what a granter may revoke)."""
    if not entity_ids:
        return []
    rows = db.session.scalars(select(EnterpriseAuthorisation).where(
        EnterpriseAuthorisation.entity_id.in_(list(entity_ids)), EnterpriseAuthorisation.status != REVOKED)
        .order_by(EnterpriseAuthorisation.id))
    return [a for a in rows if not a.expired(at)]


def find(public_id: str | None) -> EnterpriseAuthorisation | None:
    if not isinstance(public_id, str) or not public_id or len(public_id) > 32:
        return None
    return db.session.scalar(select(EnterpriseAuthorisation).where(EnterpriseAuthorisation.public_id == public_id))


def list_all(status: str | None = None) -> list[EnterpriseAuthorisation]:
    query = select(EnterpriseAuthorisation).order_by(EnterpriseAuthorisation.id)
    rows = list(db.session.scalars(query))
    if status:
        rows = [a for a in rows if a.state() == status]
    return rows


def accept(*, person_id: int, public_id: str) -> EnterpriseAuthorisation:
    authorisation = find(public_id)
    if authorisation is None or authorisation.agent_id != person_id or authorisation.status != PENDING \
            or authorisation.expired():
        raise NotFound("no pending authorisation with this id")
    if not _move(authorisation, EnterpriseAuthorisation.status == PENDING, status=ACCEPTED, accepted_at=utcnow()):
        raise NotFound("no pending authorisation with this id")  # revoked since it was read
    _commit_with_audit("authorisation.accepted", _audited(authorisation))
    return authorisation


def revoke(core, *, public_id: str, actor: str, by_person_id: int | None = None,
           acr: str | None = None) -> EnterpriseAuthorisation:
    """Revoke an authorisation (an administrator, or ``by_person_id``: somebody who may authorise for the
    enterprise, or the agent herself), end every SSO session acting under it (so each portal hears of it
    by back-channel logout) and revoke the tokens issued for the enterprise context it gave."""
    authorisation = find(public_id)
    if authorisation is None or authorisation.status == REVOKED:
        raise NotFound("no authorisation with this id")
    if by_person_id is not None and by_person_id != authorisation.agent_id and authorisation.entity_id not in {
            e.id for e in enterprises_authorisable_by(by_person_id, acr)}:
        raise NotFound("no authorisation with this id")
    if not _move(authorisation, EnterpriseAuthorisation.status != REVOKED, status=REVOKED, revoked_at=utcnow(),
                 revoked_by=actor[:64]):
        raise NotFound("no authorisation with this id")  # revoked by somebody else since it was read
    _commit_with_audit("authorisation.revoked", {"by": actor, **_audited(authorisation)})
    _end_acting(core, authorisation, reason="authorisation revoked")
    return authorisation


def end_expired(core, at: datetime | None = None, batch: int = EXPIRY_BATCH) -> int:
    """Mark accepted authorisations past their date as expired and end what acted under them as a
    revocation does (the sessions, with back-channel logout, and the tokens). Tokens and CAS tickets
    check the date at every use anyway; this is what ends the portals' sessions on time. Safe on two
    nodes at once: each authorisation is taken by one conditional UPDATE. Returns how many it ended."""
    now = at or utcnow()
    due = db.session.scalars(select(EnterpriseAuthorisation.id).where(
        EnterpriseAuthorisation.status == ACCEPTED, EnterpriseAuthorisation.valid_until <= now)
        .order_by(EnterpriseAuthorisation.id).limit(batch)).all()
    ended = 0
    for authorisation_id in due:
        taken = db.session.execute(update(EnterpriseAuthorisation).where(
            EnterpriseAuthorisation.id == authorisation_id, EnterpriseAuthorisation.status == ACCEPTED)
            .values(status=EXPIRED))
        if taken.rowcount != 1:
            db.session.rollback()
            continue
        authorisation = db.session.get(EnterpriseAuthorisation, authorisation_id)
        _commit_with_audit("authorisation.expired", _audited(authorisation))
        _end_acting(core, authorisation, reason="authorisation expired")
        ended += 1
    return ended


def _end_acting(core, authorisation: EnterpriseAuthorisation, reason: str) -> None:
    """End every SSO session acting under the authorisation (each portal hears of it by back-channel
    logout) and revoke the tokens of the enterprise context it gave, unless she holds it otherwise."""
    from ..sessions.logout import end_session_everywhere

    still = acting_context(authorisation.agent_id, authorisation.entity_id)
    for session in core.sessions.for_person(authorisation.agent_id):
        if session.entity_id == authorisation.entity_id and (
                session.authorisation_id == authorisation.public_id or still is None):
            end_session_everywhere(core, session, reason=reason)
    if still is None:
        core.tokens.revoke_acting(person_id=authorisation.agent_id, entity_id=authorisation.entity_id)


def _move(authorisation: EnterpriseAuthorisation, condition, **values) -> bool:
    """Change ``authorisation`` only if ``condition`` still holds in the database (compare and set), so
    two requests that read it at once cannot both act on what they read: a revocation is never undone
    by an acceptance that read the record before it, and it is recorded once. False (and nothing
    changed) when another request changed it first."""
    moved = db.session.execute(update(EnterpriseAuthorisation).where(
        EnterpriseAuthorisation.id == authorisation.id, condition).values(**values)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.rollback()
        return False
    for name, value in values.items():
        set_committed_value(authorisation, name, value)
    return True


def _commit_with_audit(event: str, data: dict) -> None:
    """Store the change and its audit record in one transaction: both or neither."""
    payload = audit_log.append(db.session.connection(), event, data)
    db.session.commit()
    audit_log.announce(event, payload)


def _audited(authorisation: EnterpriseAuthorisation) -> dict:
    return {"authorisation": authorisation.public_id, "entity": authorisation.entity.uscc,
            "agent": authorisation.agent.public_id,
            "granted_by": authorisation.granted_by.public_id if authorisation.granted_by else None,
            "portals": authorisation.portals, "roles": list(authorisation.roles or ()),
            "valid_until": _aware(authorisation.valid_until).isoformat()}


def view(authorisation: EnterpriseAuthorisation) -> dict:
    """The authorisation as the admin API shows it."""
    return {"id": authorisation.public_id, "status": authorisation.state(),
            "entity": {"uscc": authorisation.entity.uscc, "name": authorisation.entity.name},
            "agent": {"sub": authorisation.agent.public_id, "name": authorisation.agent.name},
            "granted_by": authorisation.granted_by.public_id if authorisation.granted_by else None,
            "portals": authorisation.portals, "roles": list(authorisation.roles or ()),
            "can_authorise": authorisation.can_authorise,
            "valid_until": _aware(authorisation.valid_until).isoformat(),
            "created_at": _aware(authorisation.created_at).isoformat(),
            "accepted_at": _aware(authorisation.accepted_at).isoformat() if authorisation.accepted_at else None,
            "revoked_at": _aware(authorisation.revoked_at).isoformat() if authorisation.revoked_at else None}


def list_for_agent(person_id: int) -> list[EnterpriseAuthorisation]:
    return list(db.session.scalars(select(EnterpriseAuthorisation).where(
        EnterpriseAuthorisation.agent_id == person_id).order_by(EnterpriseAuthorisation.id)))
