"""The OIDC client record, with the Authlib ClientMixin methods the grants call."""
from __future__ import annotations

import hmac
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list
from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..identity.models import utcnow
from ..storage.token_hash import token_hash


class Client(db.Model, ClientMixin):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(128))
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text, nullable=True)
    grant_types: Mapped[list] = mapped_column(JSON, default=list)
    response_types: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default="openid profile")
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32), default="client_secret_basic")
    jwks: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="RS256")
    subject_type: Mapped[str] = mapped_column(String(16), default="public")
    sector_identifier: Mapped[str | None] = mapped_column(String(255), nullable=True)
    first_party: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # --- Authlib ClientMixin -------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # OIDC requires redirect_uri; only a client with a single URI may omit it in plain OAuth.
        return self.redirect_uris[0] if len(self.redirect_uris or []) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = scope_to_list(self.scope) or []
        if not scope:
            return list_to_scope(allowed)
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in (self.redirect_uris or [])  # exact match (RFC 9700 2.1)

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(self.client_secret_hash, token_hash(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method == self.token_endpoint_auth_method
        # revocation and introspection accept the client's registered method too
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in (self.response_types or [])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or [])

    # --- helpers ---------------------------------------------------------------
    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_metadata(self) -> dict:
        return {
            "client_name": self.name,
            "redirect_uris": list(self.redirect_uris or []),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris or []),
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "backchannel_logout_session_required": True,
            "grant_types": list(self.grant_types or []),
            "response_types": list(self.response_types or []),
            "scope": self.scope,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "id_token_signed_response_alg": self.id_token_signed_response_alg,
            "subject_type": self.subject_type,
        }

    def to_public_dict(self) -> dict:
        data = {"client_id": self.client_id, "first_party": self.first_party, "disabled": self.disabled}
        data.update(self.client_metadata)
        if self.sector_identifier:
            data["sector_identifier"] = self.sector_identifier
        return data
