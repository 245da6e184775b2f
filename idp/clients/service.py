"""Registering and looking up clients."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import event, select

from ..errors import NotFound, ValidationError
from ..extensions import db
from .models import Client, hash_secret

SUPPORTED_SCOPES = ("openid", "profile", "email", "phone", "idcard", "entity", "offline_access")
# The admin API scope: never advertised, granted only to clients registered with it explicitly.
ADMIN_SCOPE = "admin"
REGISTRABLE_SCOPES = SUPPORTED_SCOPES + (ADMIN_SCOPE,)
SUPPORTED_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SUPPORTED_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
SUPPORTED_ID_TOKEN_ALGS = ("RS256", "ES256")
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass
class RegisteredClient:
    client: Client
    client_secret: str | None


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


def register_client(**metadata) -> RegisteredClient:
    """Validate the metadata, store the new client and return it with its secret (shown once)."""
    registered = build_client(**metadata)
    client = registered.client
    if db.session.scalar(select(Client.id).where(Client.client_id == client.client_id)):
        raise ValidationError(f"client_id {client.client_id!r} is already registered")
    db.session.add(client)
    db.session.commit()
    return registered


def build_client(*, name: str, redirect_uris: list[str], post_logout_redirect_uris: list[str] = (),
                 backchannel_logout_uri: str | None = None, public: bool = False,
                 scopes: list[str] | None = None, grant_types: list[str] | None = None,
                 auth_method: str | None = None, jwks: dict | None = None,
                 id_token_alg: str = "RS256", sector_identifier: str | None = None,
                 first_party: bool = True, client_id: str | None = None,
                 client_secret: str | None = None) -> RegisteredClient:
    """Validate client metadata and build an unsaved Client (a secret is generated when one is needed)."""
    name = (name or "").strip()
    if not name or len(name) > 128:
        raise ValidationError("client name must be 1 to 128 characters")
    redirect_uris = [validate_uri(u, "redirect_uri") for u in redirect_uris]
    post_logout = [validate_uri(u, "post_logout_redirect_uri") for u in post_logout_redirect_uris]
    if backchannel_logout_uri:
        backchannel_logout_uri = validate_uri(backchannel_logout_uri, "backchannel_logout_uri")
    scopes = list(scopes or ["openid", "profile"])
    unknown = [s for s in scopes if s not in REGISTRABLE_SCOPES]
    if unknown:
        raise ValidationError(f"unknown scope(s): {', '.join(unknown)}; supported: {', '.join(REGISTRABLE_SCOPES)}")
    auth_method = auth_method or ("none" if public else "client_secret_basic")
    if auth_method not in SUPPORTED_AUTH_METHODS:
        raise ValidationError(f"unknown token_endpoint_auth_method {auth_method!r}")
    if public and auth_method != "none":
        raise ValidationError("a public client authenticates with 'none' (PKCE)")
    if ADMIN_SCOPE in scopes and auth_method == "none":
        raise ValidationError("the admin scope is only for confidential clients")
    if auth_method == "private_key_jwt" and not jwks:
        raise ValidationError("private_key_jwt needs the client's public keys (jwks)")
    if grant_types is None:
        grant_types = ["authorization_code", "refresh_token"] if redirect_uris else ["client_credentials"]
    bad = [g for g in grant_types if g not in SUPPORTED_GRANT_TYPES]
    if bad:
        raise ValidationError(f"unsupported grant type(s): {', '.join(bad)}")
    if "client_credentials" in grant_types and public:
        raise ValidationError("public clients cannot use client_credentials")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ValidationError("at least one redirect_uri is required for the authorization code flow")
    if id_token_alg not in SUPPORTED_ID_TOKEN_ALGS:
        raise ValidationError(f"id_token_signed_response_alg must be one of {', '.join(SUPPORTED_ID_TOKEN_ALGS)}")
    if sector_identifier is not None:
        sector_identifier = sector_identifier.strip().lower()
        if not sector_identifier or "/" in sector_identifier:
            raise ValidationError("sector_identifier must be a host name")

    secret = None
    if auth_method in ("client_secret_basic", "client_secret_post"):
        secret = client_secret or secrets.token_urlsafe(32)
    client = Client(
        client_id=client_id or secrets.token_urlsafe(16),
        client_secret_hash=hash_secret(secret) if secret else None,
        name=name,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout,
        backchannel_logout_uri=backchannel_logout_uri,
        grant_types=list(grant_types),
        response_types=["code"] if "authorization_code" in grant_types else [],
        scope=" ".join(dict.fromkeys(scopes)),
        token_endpoint_auth_method=auth_method,
        jwks=jwks,
        id_token_signed_response_alg=id_token_alg,
        subject_type="pairwise" if sector_identifier else "public",
        sector_identifier=sector_identifier,
        first_party=first_party,
    )
    return RegisteredClient(client, secret)


def find_client(client_id: str) -> Client | None:
    """The enabled client with this id, from a short per-process cache (every token request needs it).

    A change made through the ORM in this process clears the cache at once; other processes see it
    within CLIENT_CACHE_SECONDS. Cached objects are detached and read-only.
    """
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    key = (str(db.engine.url), client_id)
    hit = _client_cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None or client.disabled:
        return None
    db.session.expunge(client)
    if len(_client_cache) >= _CLIENT_CACHE_MAX:
        _client_cache.clear()
    _client_cache[key] = (time.monotonic() + CLIENT_CACHE_SECONDS, client)
    return client


CLIENT_CACHE_SECONDS = 5.0
_CLIENT_CACHE_MAX = 4096
_client_cache: dict[tuple[str, str], tuple[float, Client]] = {}


@event.listens_for(Client, "after_insert")
@event.listens_for(Client, "after_update")
@event.listens_for(Client, "after_delete")
def _client_changed(_mapper, _connection, _target) -> None:
    _client_cache.clear()


def get_client(client_id: str) -> Client:
    client = db.session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    return client


def list_clients() -> list[Client]:
    return list(db.session.scalars(select(Client).order_by(Client.id)))
