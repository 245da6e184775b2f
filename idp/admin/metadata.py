"""Client metadata as the admin API and console speak it (RFC 7591 names), checked and typed.

Bad input raises MetadataError carrying the RFC 7591 error code: ``invalid_redirect_uri`` for a bad
redirection URI, ``invalid_client_metadata`` for anything else. The checks themselves are
``clients.metadata``'s, shared with Dynamic Client Registration.
"""
from __future__ import annotations

from ..clients import metadata as rules
from ..clients.models import Client
from ..errors import ValidationError


class MetadataError(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description

    @classmethod
    def of(cls, exc: ValidationError) -> "MetadataError":
        """The RFC 7591 error for a failed check: its own code for redirection URIs."""
        code = "invalid_redirect_uri" if isinstance(exc, rules.RedirectUriError) else "invalid_client_metadata"
        return cls(code, str(exc))


def parse(body, *, partial: bool) -> dict:
    """Check a JSON object of client metadata; ``partial`` allows leaving out the client name. Field
    types and limits come from ``clients.metadata.FIELDS``; the rules between fields are checked when the
    client is built (``clients.metadata.client_columns``)."""
    try:
        return rules.check_types(body, partial=partial)
    except ValidationError as exc:
        raise MetadataError.of(exc) from None


def of_client(client: Client) -> dict:
    """The client's current metadata in the same vocabulary (the base a partial update applies to)."""
    return {
        "client_name": client.name,
        "redirect_uris": list(client.redirect_uris or []),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "scope": client.scope,
        "grant_types": list(client.grant_types or []),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "jwks": client.jwks,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "sector_identifier": client.sector_identifier,
        "first_party": client.first_party,
        "disabled": client.disabled,
    }


def register_arguments(meta: dict) -> dict:
    """Keyword arguments of ``clients.service.build_client`` for checked metadata."""
    method = meta.get("token_endpoint_auth_method")
    return {
        "name": meta.get("client_name", ""),
        "redirect_uris": meta.get("redirect_uris") or [],
        "post_logout_redirect_uris": meta.get("post_logout_redirect_uris") or [],
        "backchannel_logout_uri": meta.get("backchannel_logout_uri"),
        "public": method == "none",
        "scopes": (meta.get("scope") or "").split() or None,
        "grant_types": meta.get("grant_types"),
        "auth_method": method,
        "jwks": meta.get("jwks"),
        "id_token_alg": meta.get("id_token_signed_response_alg") or "RS256",
        "sector_identifier": meta.get("sector_identifier"),
        "first_party": meta.get("first_party", True),
    }
