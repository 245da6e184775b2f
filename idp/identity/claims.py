"""Subject identifiers and the claims each scope releases (OIDC Core 5.4, 8)."""
from __future__ import annotations

import base64
import hashlib

from authlib.oauth2.rfc6749 import scope_to_list

from .authorisations import ActingContext
from .models import Entity, Person
from .service import PersonClaims, representations_of

# Which claims each scope releases. The ID number is carried only by the "idcard" scope,
# which a client must be allowed explicitly.
SCOPE_CLAIMS = {
    "profile": ("name",),
    "email": ("email",),
    "phone": ("phone_number",),
    "idcard": ("id_number", "id_type"),
    "entity": ("entity", "representations"),
}


def subject_for(person_public_id: str, client, salt: str) -> str:
    """Public sub, or a pairwise sub for clients with a sector identifier (OIDC Core 8.1)."""
    sector = getattr(client, "sector_identifier", None) if client is not None else None
    if not sector:
        return person_public_id
    digest = hashlib.sha256(f"{sector}\x00{person_public_id}\x00{salt}".encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def claims_for(person: "Person | PersonClaims", scope: str, client, salt: str, entity: Entity | None = None,
               acting: "ActingContext | None" = None) -> dict:
    """The claims ``scope`` releases. ``acting`` (how the person acts for ``entity``) adds who acts, in
    which role and under which authorisation to the ``entity`` claim."""
    scopes = set(scope_to_list(scope) or [])
    claims: dict = {"sub": subject_for(person.public_id, client, salt)}
    if "profile" in scopes:
        claims["name"] = person.name
    if "email" in scopes and person.email:
        claims["email"] = person.email
    if "phone" in scopes and person.phone:
        claims["phone_number"] = person.phone
    if "idcard" in scopes:
        claims["id_number"] = person.id_number
        claims["id_type"] = person.id_type
    if "entity" in scopes:
        claims["representations"] = [
            {"uscc": r.entity.uscc, "name": r.entity.name, "role": r.role.value}
            for r in representations_of(person)
        ]
        if entity is not None:
            claims["entity"] = {"uscc": entity.uscc, "name": entity.name,
                                "sub": subject_for(entity.public_id, client, salt)}
            if acting is not None:
                claims["entity"].update({
                    "acting_person": {"sub": claims["sub"], "name": person.name},
                    "role": acting.role, "roles": list(acting.roles),
                    "authorisation_id": acting.authorisation_id})
    return claims


def acting_attributes(acting: ActingContext) -> dict:
    """The enterprise context as flat attributes, for protocols that carry no JSON objects (CAS, SAML):
    what the ``entity`` claim tells, less whoever acts (each protocol names its subject its own way).
    ``entity_roles`` (a list) and ``authorisation_id`` only when acting under an authorisation."""
    attributes: dict = {"entity_uscc": acting.entity.uscc, "entity_name": acting.entity.name,
                        "entity_role": acting.role}
    if acting.roles:
        attributes["entity_roles"] = list(acting.roles)
    if acting.authorisation_id:
        attributes["authorisation_id"] = acting.authorisation_id
    return attributes


def describe_scopes(scope: str) -> list[tuple[str, tuple[str, ...]]]:
    """(scope, claims) pairs shown on the consent page."""
    return [(s, SCOPE_CLAIMS.get(s, ())) for s in scope_to_list(scope) or [] if s != "openid"]
