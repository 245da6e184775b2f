"""Creating and finding people and legal entities."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import AlreadyExists, NotFound, ValidationError
from ..extensions import db
from ..storage.prepared import Prepared
from .identifiers import (EMAIL, ID_NUMBER, PHONE, LoginIdentifier, MalformedIdNumber, normalize_email,
                          normalize_phone, parse_login_identifier)
from .models import Entity, Person, Representation, RepresentationRole
from .numbers import normalize_id_number, normalize_uscc
from .passwords import MIN_PASSWORD_LENGTH, hash_password

def create_person(*, id_number: str, name: str, password: str | None = None, phone: str | None = None,
                  email: str | None = None, is_admin: bool = False, commit: bool = True) -> Person:
    id_number = normalize_id_number(id_number)
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise ValidationError("name must be 1 to 128 characters")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    person = Person(
        id_number=id_number,
        name=name,
        phone=normalize_phone(phone) if phone else None,
        email=normalize_email(email) if email else None,
        password_hash=hash_password(password) if password else None,
        is_admin=is_admin,
    )
    for attr, label in (("id_number", "ID number"), ("phone", "phone"), ("email", "email")):
        value = getattr(person, attr)
        if value and db.session.scalar(select(Person.id).where(getattr(Person, attr) == value)):
            raise AlreadyExists(f"a person with this {label} already exists")
    db.session.add(person)
    _flush_or_conflict("person already exists")
    if commit:
        db.session.commit()
    return person


def set_admin(username: str, admin: bool) -> tuple[Person, bool]:
    """Give (or take away) the administrator role of an existing person; (person, whether it changed)."""
    person = find_person_by_username(username)
    if person is None:
        raise NotFound(f"no person with ID number, phone or email {username!r}")
    changed = person.is_admin != admin
    if changed:
        person.is_admin = admin
        db.session.commit()
    return person, changed


def find_person_by_username(username: str) -> Person | None:
    """Resolve an ID number, phone number or email address, in any spelling, to a person (or None)."""
    try:
        identifier = parse_login_identifier(username)
    except MalformedIdNumber:
        return None
    return find_person(identifier) if identifier is not None else None


_COLUMN_OF = {ID_NUMBER: Person.id_number, PHONE: Person.phone, EMAIL: Person.email}


def find_person(identifier: LoginIdentifier) -> Person | None:
    """The person a canonical login identifier belongs to, or None."""
    column = _COLUMN_OF.get(identifier.kind)
    if column is None:
        return None
    return db.session.scalar(select(Person).where(column == identifier.value))


@dataclass(frozen=True)
class LoginCandidate:
    """What a password login needs of the person an identifier names, read without the ORM."""
    id: int
    public_id: str
    disabled: bool
    password_hash: str | None = field(repr=False)


_CANDIDATE_FIELDS = [f.name for f in fields(LoginCandidate)]
_CANDIDATE_BY = {kind: Prepared(select(*(Person.__table__.c[name] for name in _CANDIDATE_FIELDS))
                                .where(column == bindparam("b_value")))
                 for kind, column in _COLUMN_OF.items()}


def find_login_candidate(identifier: LoginIdentifier) -> LoginCandidate | None:
    """``find_person`` for a login: the person's id, public id, state and password hash, or None."""
    statement = _CANDIDATE_BY.get(identifier.kind)
    if statement is None:
        return None
    with db.engine.connect() as conn:
        row = statement.first(conn, {"b_value": identifier.value})
    return LoginCandidate(*row) if row is not None else None


def replace_password_hash(person_id: int, new_hash: str) -> None:
    """Store a password's hash made again with the current parameters (after a successful login)."""
    db.session.execute(update(Person).where(Person.id == person_id).values(password_hash=new_hash))
    db.session.commit()


def find_person_by_id_number(id_number: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.id_number == normalize_id_number(id_number)))


def get_person(person_id: int) -> Person | None:
    return db.session.get(Person, person_id)


@dataclass(frozen=True)
class PersonClaims:
    """The fields of an enabled person that tokens and claims are made of, read without the ORM
    (the token endpoint reads one per request)."""
    id: int
    public_id: str
    id_number: str
    id_type: str
    name: str
    phone: str | None
    email: str | None


_P = Person.__table__
_CLAIMS_OF = select(*(_P.c[f.name] for f in fields(PersonClaims))).where(_P.c.id == bindparam("b_id"),
                                                                       _P.c.disabled.is_(False))


def person_claims(person_id: int) -> PersonClaims | None:
    """None when the person does not exist or is disabled."""
    row = db.session.connection().execute(_CLAIMS_OF, {"b_id": person_id}).first()
    return PersonClaims(*row) if row is not None else None


def create_entity(*, uscc: str, name: str, commit: bool = True) -> Entity:
    code = normalize_uscc(uscc)
    name = (name or "").strip()
    if not name or len(name) > 256:
        raise ValidationError("entity name must be 1 to 256 characters")
    if db.session.scalar(select(Entity.id).where(Entity.uscc == code)):
        raise AlreadyExists(f"an entity with credit code {code} already exists")
    entity = Entity(uscc=code, name=name)
    db.session.add(entity)
    _flush_or_conflict("entity already exists")
    if commit:
        db.session.commit()
    return entity


def find_entity(uscc: str) -> Entity | None:
    return db.session.scalar(select(Entity).where(Entity.uscc == normalize_uscc(uscc)))


def link_representative(*, uscc: str, id_number: str, role: str, commit: bool = True) -> Representation:
    try:
        role_value = RepresentationRole(role)
    except ValueError:
        raise ValidationError("role must be legal_representative or agent") from None
    entity = find_entity(uscc)
    if entity is None:
        raise NotFound(f"no entity with credit code {normalize_uscc(uscc)}")
    person = find_person_by_id_number(id_number)
    if person is None:
        raise NotFound("no person with this ID number")
    existing = db.session.scalar(select(Representation).where(
        Representation.person_id == person.id, Representation.entity_id == entity.id,
        Representation.role == role_value))
    if existing:
        raise AlreadyExists("this person already holds this role for the entity")
    link = Representation(person=person, entity=entity, role=role_value)
    db.session.add(link)
    _flush_or_conflict("representation already exists")
    if commit:
        db.session.commit()
    return link


def representations_of(person: Person) -> list[Representation]:
    return list(db.session.scalars(select(Representation).where(Representation.person_id == person.id)))


def count_people() -> int:
    return db.session.scalar(select(func.count(Person.id))) or 0


def _flush_or_conflict(message: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyExists(message) from None
