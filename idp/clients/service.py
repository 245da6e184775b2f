"""Registering and looking up clients."""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import event, select

from ..errors import NotFound, ValidationError
from ..extensions import db
from ..storage.token_hash import token_hash
from .metadata import SECRET_METHODS, client_columns
from .models import Client


@dataclass
class RegisteredClient:
    client: Client
    client_secret: str | None


def register_client(**metadata) -> RegisteredClient:
    """Validate the metadata, store the new client and return it with its secret (shown once)."""
    registered = build_client(**metadata)
    client = registered.client
    if db.session.scalar(select(Client.id).where(Client.client_id == client.client_id)):
        raise ValidationError(f"client_id {client.client_id!r} is already registered")
    db.session.add(client)
    db.session.commit()
    return registered


def build_client(*, client_id: str | None = None, client_secret: str | None = None, **metadata) -> RegisteredClient:
    """Check client metadata (``metadata.client_columns``) and build an unsaved Client; a secret is
    generated when the authentication method needs one."""
    columns = client_columns(**metadata)
    secret = None
    if columns["token_endpoint_auth_method"] in SECRET_METHODS:
        secret = client_secret or secrets.token_urlsafe(32)
    client = Client(client_id=client_id or secrets.token_urlsafe(16),
                    client_secret_hash=token_hash(secret) if secret else None, **columns)
    return RegisteredClient(client, secret)


def find_client(client_id: str) -> Client | None:
    """The enabled client with this id, from a short per-process cache (every token request needs it).

    A change made through the ORM in this process clears the cache at once; other processes see it
    within CLIENT_CACHE_SECONDS. Cached objects are detached and read-only.
    """
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    key = (db.engine, client_id)  # the engine itself: its URL as a string is rendered anew each time
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
_client_cache: dict[tuple[object, str], tuple[float, Client]] = {}


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
