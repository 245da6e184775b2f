"""What a CAS service learns about the person: the core's claims, shaped as CAS attributes."""
from __future__ import annotations

from datetime import datetime, timezone

from ...identity.claims import claims_for
from .tickets import ValidatedTicket


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_and_attributes(core, validated: ValidatedTicket) -> tuple[str, dict[str, str]]:
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
    return claims["sub"], attributes
