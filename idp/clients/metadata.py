"""Client metadata (RFC 7591 names): the one table of fields, their JSON types and limits, and the rules.

Three front doors register clients — the admin API, the admin console and Dynamic Client Registration —
and all of them check metadata here:

* ``FIELDS`` says what each field may hold; ``check_types`` enforces it and ``json_schema`` publishes it
  (the admin API's OpenAPI document), so the document and the checks cannot drift apart;
* ``client_columns`` holds the rules that relate fields to each other (grant types and redirect URIs,
  public clients, private_key_jwt keys, scopes) and returns the Client column values.

Errors are ``ValidationError``; a bad or missing redirection URI is ``RedirectUriError``, which RFC 7591
3.2.2 gives an error code of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from joserfc.jwk import KeySet

from ..errors import ValidationError

SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "idcard", "entity", "offline_access")
# The admin API scope: never advertised, granted only to clients registered with it explicitly.
ADMIN_SCOPE = "admin"
REGISTRABLE_SCOPES = SUPPORTED_SCOPES + (ADMIN_SCOPE,)
SUPPORTED_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628: kiosks, TVs; public clients too
SUPPORTED_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE)
SUPPORTED_ID_TOKEN_ALGS = ("RS256", "ES256")

_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}
MAX_URIS = 20
MAX_URI_LENGTH = 2000
MAX_NAME = 128


class RedirectUriError(ValidationError):
    """A redirection URI is malformed, not allowed, or missing where the grant types need one."""


@dataclass(frozen=True)
class Field:
    """One metadata field: its JSON Schema (the published contract) and whether null is accepted."""

    schema: dict
    nullable: bool = False

    @property
    def types(self) -> tuple[type, ...]:
        names = self.schema["type"] if isinstance(self.schema["type"], list) else [self.schema["type"]]
        return tuple(_PYTHON_TYPES[name] for name in names if name != "null")


_PYTHON_TYPES = {"string": str, "array": list, "object": dict, "boolean": bool}
_TYPE_NAMES = {str: "a string", list: "an array", dict: "an object", bool: "true or false"}


def _uri_list(description: str | None = None) -> dict:
    schema = {"type": "array", "maxItems": MAX_URIS,
              "items": {"type": "string", "format": "uri", "maxLength": MAX_URI_LENGTH}}
    return {**schema, "description": description} if description else schema


FIELDS: dict[str, Field] = {
    "client_name": Field({"type": "string", "minLength": 1, "maxLength": MAX_NAME}),
    "redirect_uris": Field(_uri_list("Absolute https URIs (http only for loopback hosts), no fragment; "
                                     "exact match at /authorize.")),
    "post_logout_redirect_uris": Field(_uri_list()),
    "backchannel_logout_uri": Field({"type": ["string", "null"], "format": "uri", "maxLength": MAX_URI_LENGTH},
                                    nullable=True),
    "scope": Field({"type": "string", "maxLength": 200,
                    "description": "Space-separated; known scopes: " + " ".join(REGISTRABLE_SCOPES)}),
    "grant_types": Field({"type": ["array", "null"], "maxItems": MAX_URIS,
                          "items": {"type": "string", "enum": list(SUPPORTED_GRANT_TYPES)},
                          "description": "null: derived (authorization_code and refresh_token with redirect "
                                         "URIs, else client_credentials)."}, nullable=True),
    "token_endpoint_auth_method": Field({"type": "string", "enum": list(SUPPORTED_AUTH_METHODS),
                                         "description": "'none' makes a public client (PKCE)."}),
    "jwks": Field({"type": ["object", "null"], "description": "Public keys, required for private_key_jwt.",
                   "properties": {"keys": {"type": "array", "items": {"type": "object"}}}}, nullable=True),
    "id_token_signed_response_alg": Field({"type": "string", "enum": list(SUPPORTED_ID_TOKEN_ALGS)}),
    "sector_identifier": Field({"type": ["string", "null"], "maxLength": 255,
                                "description": "A host name; gives the client pairwise subjects."},
                               nullable=True),
    "first_party": Field({"type": "boolean", "description": "false: the person is asked for consent."}),
    "disabled": Field({"type": "boolean"}),
}


def json_schema() -> dict:
    """The JSON Schema of a metadata object (every field optional), as the OpenAPI document publishes it."""
    return {"type": "object", "additionalProperties": False,
            "properties": {name: field.schema for name, field in FIELDS.items()}}


def validate_uri(uri: str, what: str, *, allow_http_loopback: bool = True) -> str:
    if not isinstance(uri, str) or not uri:
        raise ValidationError(f"{what} must be a non-empty URI")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        raise ValidationError(f"{what} {uri!r} is not a valid URI") from None
    if parts.fragment or "#" in uri:
        raise ValidationError(f"{what} {uri!r} must not contain a fragment")
    if parts.scheme == "https" and parts.netloc:
        return uri
    if parts.scheme == "http" and host in _LOOPBACK and allow_http_loopback:
        return uri
    if parts.scheme == "http" and parts.netloc:
        raise ValidationError(f"{what} {uri!r} must use https (http is allowed only for loopback hosts)")
    raise ValidationError(f"{what} {uri!r} must be an absolute https URI")



def validate_redirect_uri(uri: str) -> str:
    try:
        return validate_uri(uri, "redirect_uri")
    except ValidationError as exc:
        raise RedirectUriError(str(exc)) from None


def _text(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(f"{field} must not contain control characters")
    return value


def check_types(body, *, partial: bool) -> dict:
    """A JSON object of client metadata checked against ``FIELDS`` (types, lengths, counts, characters);
    ``partial`` allows leaving out the client name (a change rather than a new client)."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object of client metadata")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown or read-only field(s): {', '.join(unknown)}")
    if not partial and "client_name" not in body:
        raise ValidationError("client_name is required")
    checked = {}
    for name, value in body.items():
        field = FIELDS[name]
        if value is None and field.nullable:
            checked[name] = None
            continue
        types = field.types
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            raise ValidationError(f"{name} must be {_TYPE_NAMES[types[0]]}" + (" or null" if field.nullable else ""))
        if isinstance(value, str):
            value = _text(value, name, field.schema.get("maxLength", MAX_URI_LENGTH))
        elif isinstance(value, list):
            if len(value) > MAX_URIS:
                raise ValidationError(f"{name} has more than {MAX_URIS} entries")
            if not all(isinstance(item, str) for item in value):
                raise ValidationError(f"{name} must be an array of strings")
            value = [_text(item, name, MAX_URI_LENGTH) for item in value]
        checked[name] = value
    return checked


def public_jwks(value: dict) -> dict:
    """A client's key set: public keys only, each usable."""
    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(value, dict) or set(value) != {"keys"} or not isinstance(keys, list) or not keys:
        raise ValidationError("jwks must be an object with a non-empty 'keys' array")
    try:
        key_set = KeySet.import_key_set(value)
    except Exception as exc:  # joserfc raises assorted errors for assorted malformed keys
        raise ValidationError(f"jwks holds an unusable key: {type(exc).__name__}") from None
    if any(key.is_private for key in key_set.keys):
        raise ValidationError("jwks must hold public keys only")
    return {"keys": [key.as_dict(private=False) for key in key_set.keys]}


def client_columns(*, name: str | None, redirect_uris: list[str], post_logout_redirect_uris: list[str] = (),
                   backchannel_logout_uri: str | None = None, public: bool = False,
                   scopes: list[str] | None = None, grant_types: list[str] | None = None,
                   auth_method: str | None = None, jwks: dict | None = None, id_token_alg: str = "RS256",
                   sector_identifier: str | None = None, first_party: bool = True,
                   allowed_scopes: tuple[str, ...] = REGISTRABLE_SCOPES, name_required: bool = True) -> dict:
    """The rules every registration obeys; returns the Client column values (no id, no secret).
    Without ``name_required`` a missing name is None (the caller names the client)."""
    name = (name or "").strip()
    if (name_required or name) and not 0 < len(name) <= MAX_NAME:
        raise ValidationError(f"client name must be 1 to {MAX_NAME} characters")
    redirect_uris = [validate_redirect_uri(u) for u in redirect_uris]
    post_logout = [validate_uri(u, "post_logout_redirect_uri") for u in post_logout_redirect_uris]
    if backchannel_logout_uri:
        backchannel_logout_uri = validate_uri(backchannel_logout_uri, "backchannel_logout_uri")
    scopes = list(scopes or ["openid", "profile"])
    unknown = [s for s in scopes if s not in allowed_scopes]
    if unknown:
        raise ValidationError(f"unknown scope(s): {', '.join(unknown)}; supported: {', '.join(allowed_scopes)}")
    auth_method = auth_method or ("none" if public else "client_secret_basic")
    if auth_method not in SUPPORTED_AUTH_METHODS:
        raise ValidationError(f"unknown token_endpoint_auth_method {auth_method!r}; supported: "
                              f"{', '.join(SUPPORTED_AUTH_METHODS)}")
    if public and auth_method != "none":
        raise ValidationError("a public client authenticates with 'none' (PKCE)")
    public = auth_method == "none"
    if ADMIN_SCOPE in scopes and public:
        raise ValidationError("the admin scope is only for confidential clients")
    if auth_method == "private_key_jwt" and not jwks:
        raise ValidationError("private_key_jwt needs the client's public keys (jwks)")
    if jwks is not None:
        jwks = public_jwks(jwks)
    if grant_types is None:
        grant_types = ["authorization_code", "refresh_token"] if redirect_uris else ["client_credentials"]
    bad = [g for g in grant_types if g not in SUPPORTED_GRANT_TYPES]
    if bad:
        raise ValidationError(f"unsupported grant type(s): {', '.join(bad)}")
    if "client_credentials" in grant_types and public:
        raise ValidationError("public clients (token_endpoint_auth_method none) cannot use client_credentials")
    if "authorization_code" in grant_types and not redirect_uris:
        raise RedirectUriError("at least one redirect_uri is required for the authorization code flow")
    if id_token_alg not in SUPPORTED_ID_TOKEN_ALGS:
        raise ValidationError(f"id_token_signed_response_alg must be one of {', '.join(SUPPORTED_ID_TOKEN_ALGS)}")
    if sector_identifier is not None:
        sector_identifier = sector_identifier.strip().lower()
        if not sector_identifier or "/" in sector_identifier:
            raise ValidationError("sector_identifier must be a host name")
    return {
        "name": name or None,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout,
        "backchannel_logout_uri": backchannel_logout_uri or None,
        "grant_types": list(dict.fromkeys(grant_types)),
        "response_types": ["code"] if "authorization_code" in grant_types else [],
        "scope": " ".join(dict.fromkeys(scopes)),
        "token_endpoint_auth_method": auth_method,
        "jwks": jwks,
        "id_token_signed_response_alg": id_token_alg,
        "subject_type": "pairwise" if sector_identifier else "public",
        "sector_identifier": sector_identifier,
        "first_party": first_party,
    }
