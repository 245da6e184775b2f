"""Admin operations on clients and signing keys, shared by the console and the API; each is audited."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import delete

from ..clients.metadata import SECRET_METHODS
from ..clients.models import Client
from ..clients.service import RegisteredClient, build_client, register_client
from ..errors import ValidationError
from ..extensions import db
from ..storage.token_hash import token_hash
from ..protocols.oidc.models import Consent
from . import metadata
from .metadata import MetadataError

_COPIED = ("name", "redirect_uris", "post_logout_redirect_uris", "backchannel_logout_uri", "grant_types",
           "response_types", "scope", "token_endpoint_auth_method", "jwks", "id_token_signed_response_alg",
           "subject_type", "sector_identifier", "first_party")


def _core():
    return current_app.extensions["idp"]


def iso_time(value: datetime | None) -> str | None:
    """RFC 3339 time; stored times are UTC (SQLite hands them back without a zone)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def client_view(client: Client) -> dict:
    data = client.to_public_dict()
    data["sector_identifier"] = client.sector_identifier
    data["jwks"] = client.jwks
    data["created_at"] = iso_time(client.created_at)
    return data


def create_client(meta: dict, actor: str) -> RegisteredClient:
    try:
        registered = register_client(**metadata.register_arguments(meta))
    except ValidationError as exc:
        db.session.rollback()
        raise MetadataError.of(exc) from None
    if meta.get("disabled"):
        registered.client.disabled = True
        db.session.commit()
    _core().audit("admin.client.created", actor=actor, client_id=registered.client.client_id,
                  name=registered.client.name, scope=registered.client.scope)
    return registered


def update_client(client: Client, changes: dict, actor: str) -> str | None:
    """Apply checked metadata changes; returns a new secret when the change made one necessary."""
    merged = {**metadata.of_client(client), **changes}
    if "grant_types" not in changes and "redirect_uris" in changes:
        merged["grant_types"] = None  # derived again from the new redirect URIs
    try:
        built = build_client(**metadata.register_arguments(merged), client_id=client.client_id)
    except ValidationError as exc:
        raise MetadataError.of(exc) from None
    for name in _COPIED:
        setattr(client, name, getattr(built.client, name))
    new_secret = None
    if client.token_endpoint_auth_method in SECRET_METHODS:
        if not client.client_secret_hash:
            new_secret = built.client_secret
            client.client_secret_hash = token_hash(new_secret)
    else:
        client.client_secret_hash = None
    if "disabled" in changes:
        client.disabled = bool(changes["disabled"])
    db.session.commit()
    _core().audit("admin.client.updated", actor=actor, client_id=client.client_id, fields=sorted(changes),
                  secret_issued=new_secret is not None)
    return new_secret


def set_disabled(client: Client, disabled: bool, actor: str) -> None:
    client.disabled = disabled
    db.session.commit()
    _core().audit("admin.client.disabled" if disabled else "admin.client.enabled", actor=actor,
                  client_id=client.client_id)


def delete_client(client: Client, actor: str) -> None:
    """Delete the client, revoke every token issued to it and forget the consents given to it."""
    client_id = client.client_id
    # first, in its own transaction: should the deletion then fail, no token of the client still works
    _core().tokens.revoke_client(client_id)
    db.session.execute(delete(Consent).where(Consent.client_id == client_id))
    db.session.delete(client)
    db.session.commit()
    _core().audit("admin.client.deleted", actor=actor, client_id=client_id)


def reset_secret(client: Client, actor: str) -> str:
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise MetadataError("invalid_client_metadata",
                            f"the client authenticates with {client.token_endpoint_auth_method}; it has no secret")
    secret = secrets.token_urlsafe(32)
    client.client_secret_hash = token_hash(secret)
    db.session.commit()
    _core().audit("admin.client.secret_reset", actor=actor, client_id=client.client_id)
    return secret


def key_view(key) -> dict:
    return {"kid": key.kid, "alg": key.alg, "status": key.status, "created_at": iso_time(key.created_at),
            "activated_at": iso_time(key.activated_at), "deactivated_at": iso_time(key.deactivated_at),
            "retired_at": iso_time(key.retired_at), "public_jwk": dict(key.public_jwk or {})}


def list_keys() -> list:
    return _core().keys.list_keys()


def rotate_keys(alg: str | None, actor: str) -> list:
    created = _core().keys.rotate(alg)
    _core().audit("admin.keys.rotated", actor=actor, kids=[key.kid for key in created])
    return created


def retire_key(kid: str, actor: str):
    """Stop publishing a key that does not sign; NotFound or ValidationError (the active key) otherwise."""
    row = _core().keys.retire(kid)
    _core().audit("admin.keys.retired", actor=actor, kid=row.kid, alg=row.alg)
    return row
