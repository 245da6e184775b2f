"""The token store: authorization codes and issued tokens behind one small interface.

In the manner of node-oidc-provider's adapter (find, consume, upsert, revokeByGrantId): a code is saved
and found (with its person, which the token response needs); tokens are issued while claiming the code
*or* the refresh token they come from, in one transaction with the new row and its audit record; a
whole grant is revoked at once. The protocol layer decides what a request may have; the store makes
each decision's writes all-or-nothing. ``sql_tokens.SqlTokenStore`` is the implementation (SQLite and
PostgreSQL); tests/unit/storage/test_token_conformance.py holds every backend to the same behaviour.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Protocol, TypedDict, runtime_checkable

from ..identity.service import PersonClaims

TokenKind = Literal["access_token", "refresh_token"]


class AlreadyClaimed(Exception):
    """The code or refresh token was claimed by another request (its transaction committed first)."""


class NewCode(TypedDict):
    """A code to store (a plain dict at run time, like node-oidc-provider's upsert payloads)."""
    code: str  # the value handed to the client; the store keeps only its hash
    client_id: str
    person_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    acr: str | None
    amr: list
    sid: str | None
    entity_id: int | None
    expires_at: float


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 2 µs more per token request
class StoredCode:
    """A code as read from the store (a copy: changing it changes nothing stored), with its person;
    the methods are the ones Authlib's code grant reads."""
    id: int
    client_id: str
    person_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    acr: str | None
    amr: list
    sid: str | None
    entity_id: int | None
    expires_at: float
    used_at: float | None
    person: PersonClaims | None  # None when the person was deleted or disabled

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return self.acr

    def get_amr(self):
        return list(self.amr or [])

    def is_expired(self) -> bool:
        return self.expires_at < time.time()


class NewToken(TypedDict):
    """An issuance to store (a plain dict: the token endpoint makes one per request)."""
    access_token: str  # values as handed to the client; the store keeps only their hashes
    refresh_token: str | None
    client_id: str
    person_id: int | None
    scope: str
    family_id: str  # the grant: every token rotated from one code (or one client_credentials issuance)
    code_id: int | None
    sid: str | None
    auth_time: int | None
    acr: str | None
    amr: list
    entity_id: int | None
    issued_at: float
    access_expires_at: float
    refresh_expires_at: float | None


@dataclass(slots=True)
class StoredToken:
    """One issuance as read from the store (a copy); the methods are the ones Authlib's refresh grant
    reads."""
    id: int
    client_id: str
    person_id: int | None
    scope: str
    family_id: str
    code_id: int | None
    sid: str | None
    auth_time: int | None
    acr: str | None
    amr: list
    entity_id: int | None
    issued_at: float
    access_expires_at: float
    refresh_expires_at: float | None
    revoked: bool  # the whole grant
    access_revoked: bool  # only this access token
    refresh_used: bool  # rotated: a second use is a replay
    # the person it was issued to, read with it; None for a client's own token, or when the person
    # was deleted or disabled
    person: PersonClaims | None = None

    def check_client(self, client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.access_expires_at < time.time()

    def is_revoked(self) -> bool:
        return self.revoked or self.access_revoked

    def refresh_expired(self) -> bool:
        return self.refresh_expires_at is None or self.refresh_expires_at < time.time()


@runtime_checkable
class TokenStore(Protocol):
    def save_code(self, code: NewCode) -> None:
        """Store a newly issued code."""

    def find_code(self, code: str, client_id: str) -> StoredCode | None:
        """The code issued to this client with this value, used or not, with its person when enabled."""

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        """True when a code for this client already carries this nonce."""

    def consume_code(self, code_id: int) -> bool:
        """Mark a code used without issuing anything (a failed exchange: a code gets one attempt);
        False when it was already used."""

    def find_token(self, value: str, kind: TokenKind) -> StoredToken | None:
        """The issuance whose access or refresh token (``kind``) has this value, with its person when
        enabled."""

    def issue(self, token: NewToken, *, audit: dict, code_id: int | None = None,
              refresh_id: int | None = None) -> None:
        """Store ``token`` and the ``token.issued`` audit record (``audit`` is its data), claiming the
        unused code ``code_id`` or the unused, unrevoked refresh token of issuance ``refresh_id``, in
        one transaction: all of it is stored or none of it. Raises ``AlreadyClaimed`` (nothing stored)
        when another request claimed it first."""

    def revoke_grant(self, *, family_id: str | None = None, code_id: int | None = None,
                     sid: str | None = None) -> int:
        """Revoke every token of a grant family, of the grant made from a code, or issued through an
        SSO session (exactly one of them); returns how many issuances were newly revoked."""

    def revoke_acting(self, *, person_id: int, entity_id: int) -> int:
        """Revoke every token issued to the person acting for the enterprise (the context is no longer
        hers); returns how many issuances were newly revoked."""

    def revoke_access(self, token_id: int) -> None:
        """Revoke one access token, leaving its refresh token and family alone (RFC 7009 2.1)."""

    def revoke_client(self, client_id: str) -> int:
        """Revoke every token issued to a client and spend its unused codes (the client is being
        deleted); returns how many issuances were newly revoked."""
