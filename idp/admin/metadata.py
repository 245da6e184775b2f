"""Client metadata as the admin API and console speak it (RFC 7591 names), checked and typed.

Bad input raises MetadataError carrying the RFC 7591 error code: ``invalid_redirect_uri`` for a bad
redirection URI, ``invalid_client_metadata`` for anything else.
"""
from __future__ import annotations

from joserfc.jwk import KeySet

from ..clients.models import Client
from ..clients.service import validate_uri
from ..errors import ValidationError

MAX_URIS = 20
MAX_URI_LENGTH = 2000
MAX_TEXT = 1000

# field -> (accepted JSON types, may be null)
FIELDS = {
    "client_name": ((str,), False),
    "redirect_uris": ((list,), False),
    "post_logout_redirect_uris": ((list,), False),
    "backchannel_logout_uri": ((str,), True),
    "scope": ((str,), False),
    "grant_types": ((list,), True),
    "token_endpoint_auth_method": ((str,), False),
    "jwks": ((dict,), True),
    "id_token_signed_response_alg": ((str,), False),
    "sector_identifier": ((str,), True),
    "first_party": ((bool,), False),
    "disabled": ((bool,), False),
}
_TYPE_NAMES = {str: "a string", list: "an array", dict: "an object", bool: "true or false"}


class MetadataError(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description


def _invalid(description: str) -> MetadataError:
    return MetadataError("invalid_client_metadata", description)


def _check_text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        raise _invalid(f"{field} is longer than {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _invalid(f"{field} must not contain control characters")
    return value


def _string_list(value: list, field: str) -> list[str]:
    if len(value) > MAX_URIS:
        raise _invalid(f"{field} has more than {MAX_URIS} entries")
    if not all(isinstance(item, str) for item in value):
        raise _invalid(f"{field} must be an array of strings")
    return [_check_text(item, field, MAX_URI_LENGTH) for item in value]


def _uri(value: str, field: str, error: str) -> str:
    try:
        return validate_uri(_check_text(value, field, MAX_URI_LENGTH), field)
    except ValidationError as exc:
        raise MetadataError(error, str(exc)) from None


def _jwks(value: dict) -> dict:
    keys = value.get("keys")
    if set(value) != {"keys"} or not isinstance(keys, list) or not keys:
        raise _invalid("jwks must be an object with a non-empty 'keys' array")
    try:
        key_set = KeySet.import_key_set(value)
    except Exception as exc:  # joserfc raises assorted errors for assorted malformed keys
        raise _invalid(f"jwks holds an unusable key: {type(exc).__name__}") from None
    if any(key.is_private for key in key_set.keys):
        raise _invalid("jwks must hold public keys only")
    return {"keys": [key.as_dict(private=False) for key in key_set.keys]}


def parse(body, *, partial: bool) -> dict:
    """Check a JSON object of client metadata; ``partial`` allows leaving out the client name."""
    if not isinstance(body, dict):
        raise _invalid("the request body must be a JSON object of client metadata")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _invalid(f"unknown or read-only field(s): {', '.join(unknown)}")
    if not partial and "client_name" not in body:
        raise _invalid("client_name is required")
    meta = {}
    for field, value in body.items():
        types, nullable = FIELDS[field]
        if value is None and nullable:
            meta[field] = None
            continue
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise _invalid(f"{field} must be {_TYPE_NAMES[types[0]]}" + (" or null" if nullable else ""))
        if isinstance(value, str):
            value = _check_text(value, field, MAX_URI_LENGTH)
        if field in ("redirect_uris", "post_logout_redirect_uris", "grant_types"):
            value = _string_list(value, field)
        if field == "redirect_uris":
            value = [_uri(uri, "redirect_uri", "invalid_redirect_uri") for uri in value]
        elif field == "post_logout_redirect_uris":
            value = [_uri(uri, "post_logout_redirect_uri", "invalid_client_metadata") for uri in value]
        elif field == "backchannel_logout_uri":
            value = _uri(value, field, "invalid_client_metadata") if value else None
        elif field == "jwks":
            value = _jwks(value)
        meta[field] = value
    return meta


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
