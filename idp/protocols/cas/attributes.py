"""What a CAS service learns about the person: the core's claims, shaped as CAS attributes."""
from __future__ import annotations

from datetime import datetime, timezone

from ...identity.claims import acting_attributes as enterprise_attributes
from ...identity.claims import claims_for
from .tickets import ValidatedTicket


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_and_attributes(core, validated: ValidatedTicket) -> tuple[str, dict]:
    """The CAS ``user`` (the person's opaque public subject) and the attributes released to the service."""
    scope = "profile idcard" if validated.service.release_id_number else "profile"
    claims = claims_for(validated.person, scope, None, core.pairwise_salt)
    attributes = {"name": claims["name"]}
    if "id_number" in claims:
        attributes["id_number"] = claims["id_number"]
        attributes["id_type"] = claims["id_type"]
    session = validated.session
    attributes.update({
        "authenticationDate": _iso(session.auth_time),
        "isFromNewLogin": "true" if validated.new_login else "false",
        "longTermAuthenticationRequestTokenUsed": "false",
        "authenticationMethod": session.method,
        "acr": session.acr,
    })
    if validated.acting is not None:
        attributes.update(acting_attributes(validated.acting, claims))
    return claims["sub"], attributes


ACTING_ATTRIBUTES = ("entity_uscc", "entity_name", "entity_role", "entity_roles", "acting_person",
                     "acting_person_name", "authorisation_id")


def acting_attributes(acting, claims: dict) -> dict:
    """The enterprise the person acts for, as the OpenID provider's ``entity`` claim tells it, flattened
    into CAS attributes (a list value is one attribute element per item), with who acts."""
    return {**enterprise_attributes(acting), "acting_person": claims["sub"], "acting_person_name": claims["name"]}
