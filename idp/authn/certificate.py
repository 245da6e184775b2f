"""Certificate login: a certificate validated by ``idp.pki`` becomes an ``AuthResult``.

Chain, revocation and identity extraction happen in ``idp.pki``; this module decides *who* logs in:

* a person certificate logs in the person with that ID number (created on first login when the
  trust profile allows it), so certificates from different CAs reach the same account;
* an enterprise certificate (credit code) logs in the enterprise context: the acting person is
  the one the certificate names, else the person of the current SSO session, and must be
  registered as a representative of the enterprise;
* raising the level of a session (step-up) is only for the person of that session.

The two ways a certificate is presented (a signed challenge, mutual TLS) are the authenticators of
``signed_challenge`` and ``mutual_tls``; both end in ``validate_certificate`` and ``certificate_result``.
"""
from __future__ import annotations

from sqlalchemy import select

from ..errors import AuthnError, ValidationError
from ..extensions import db
from ..identity.models import Entity, Person, Representation
from ..identity.numbers import normalize_id_number, normalize_uscc
from ..identity.service import create_entity, create_person
from ..pki import CertificateError, CertificateIdentity
from .authenticator import LoginContext
from .result import ACR_CERTIFICATE, ACR_HARDWARE_CERTIFICATE, ACR_LEVELS, AuthResult

METHOD = "certificate"

# Stable refusal codes (AuthnError.code) beyond the CertificateError codes of idp.pki
# (malformed, too_large, untrusted, expired, revoked, bad_signature...).
UNKNOWN_PERSON = "unknown_person"
UNSUPPORTED_ID = "unsupported_id_type"
NO_ACTING_PERSON = "no_acting_person"
NOT_REPRESENTATIVE = "not_representative"
DISABLED = "account_disabled"
OTHER_PERSON = "different_person"


class CertificateRefused(AuthnError):
    """The certificate may not log in: ``idp.pki`` refused it (its code is kept), or it does not lead
    to an account that may log in. ``details["profile"]`` names the trust profile once it is known."""


def validate_certificate(trust, certificate, chain=()) -> CertificateIdentity:
    """Validate a certificate against the trust profiles as they are on disk now."""
    trust.reload_if_changed()
    try:
        return trust.authenticate(certificate, chain)
    except CertificateError as exc:
        raise CertificateRefused(exc.code, str(exc)) from None


def certificate_result(identity: CertificateIdentity, context: LoginContext) -> AuthResult:
    """The account a validated certificate logs in, under the step-up rule of the attempt."""
    auth = certificate_login(identity, session_person_id=context.session_person_id)
    if context.step_up and context.session_person_id is not None and context.session_person_id != auth.person_id:
        raise CertificateRefused(OTHER_PERSON, "the certificate belongs to someone else than the person "
                                               "whose session is being stepped up",
                                 details={"profile": identity.profile})
    return auth


def certificate_acr(identity: CertificateIdentity) -> str:
    """The assurance level a certificate login reaches, as one of the server's ``urn:idp:loa`` values."""
    if identity.acr in ACR_LEVELS and ACR_LEVELS[identity.acr] >= ACR_LEVELS[ACR_CERTIFICATE]:
        return identity.acr
    # a profile naming an unknown level still gives at least certificate assurance
    return ACR_HARDWARE_CERTIFICATE if "hwk" in identity.amr else ACR_CERTIFICATE


def certificate_summary(identity: CertificateIdentity) -> dict:
    """What the SSO session records about the certificate."""
    return {"issuer": identity.issuer, "serial": identity.serial, "profile": identity.profile,
            "fingerprint": identity.fingerprint}


def certificate_login(identity: CertificateIdentity, *, session_person_id: int | None = None) -> AuthResult:
    """Resolve the account a validated certificate logs in, or raise ``CertificateRefused``."""
    try:
        person, entity = _account_for(identity, session_person_id)
    except CertificateRefused as exc:
        exc.details.setdefault("profile", identity.profile)
        raise
    return AuthResult(person_id=person.id, method=METHOD, acr=certificate_acr(identity),
                      amr=tuple(identity.amr), certificate=certificate_summary(identity),
                      entity_id=entity.id if entity else None,
                      details={"person": person.public_id, "profile": identity.profile,
                               "issuer": identity.issuer, "serial": identity.serial,
                               "entity": entity.public_id if entity else None})


def _account_for(identity: CertificateIdentity, session_person_id: int | None) -> tuple[Person, Entity | None]:
    entity = None
    if identity.subject_kind == "entity":
        entity = _entity_for(identity)
        person = _acting_person(identity, session_person_id)
        if not _represents(person, entity):
            raise CertificateRefused(NOT_REPRESENTATIVE, "the person is not a registered representative "
                                                         "of the enterprise")
    else:
        person = _person_for(identity.id_type, identity.id_number, identity.name, identity.allow_create)
    if person.disabled:
        raise CertificateRefused(DISABLED, "the account is disabled")
    return person, entity


def _person_for(id_type: str, id_number: str, name: str | None, allow_create: bool) -> Person:
    if id_type == "id_card":
        try:
            number = normalize_id_number(id_number)
        except ValidationError:
            raise CertificateRefused(UNSUPPORTED_ID, "the ID number is not a valid citizen ID number") from None
        person = db.session.scalar(select(Person).where(Person.id_number == number))
    else:
        number = id_number.strip().upper()
        person = db.session.scalar(select(Person).where(Person.id_number == number,
                                                        Person.id_type == id_type))
    if person is not None:
        return person
    if not allow_create:
        raise CertificateRefused(UNKNOWN_PERSON, "no account is registered for this certificate holder")
    if id_type != "id_card" or not (name or "").strip():
        raise CertificateRefused(UNKNOWN_PERSON, "an account cannot be created from this certificate")
    try:
        return create_person(id_number=number, name=name.strip()[:128])
    except ValidationError as exc:
        raise CertificateRefused(UNKNOWN_PERSON, f"an account cannot be created: {exc}") from None


def _entity_for(identity: CertificateIdentity) -> Entity:
    if identity.id_type not in {"uscc", "entity_code"}:
        raise CertificateRefused(UNSUPPORTED_ID, "enterprises are identified by unified social credit code")
    try:
        code = normalize_uscc(identity.id_number)
    except ValidationError:
        raise CertificateRefused(UNSUPPORTED_ID, "the enterprise number is not a unified social credit "
                                                 "code") from None
    entity = db.session.scalar(select(Entity).where(Entity.uscc == code))
    if entity is not None:
        return entity
    if not identity.allow_create or not (identity.name or "").strip():
        raise CertificateRefused(UNKNOWN_PERSON, "no enterprise is registered for this certificate")
    try:
        return create_entity(uscc=code, name=identity.name.strip()[:256])
    except ValidationError as exc:
        raise CertificateRefused(UNKNOWN_PERSON, f"the enterprise cannot be registered: {exc}") from None


def _acting_person(identity: CertificateIdentity, session_person_id: int | None) -> Person:
    if identity.acting_id_number:
        return _person_for(identity.acting_id_type or "id_card", identity.acting_id_number,
                           identity.acting_name, identity.allow_create and bool(identity.acting_name))
    person = db.session.get(Person, session_person_id) if session_person_id is not None else None
    if person is None:
        raise CertificateRefused(NO_ACTING_PERSON, "log in as a person first, then use the enterprise "
                                                   "certificate")
    return person


def _represents(person: Person, entity: Entity) -> bool:
    return db.session.scalar(select(Representation.id).where(
        Representation.person_id == person.id, Representation.entity_id == entity.id)) is not None
