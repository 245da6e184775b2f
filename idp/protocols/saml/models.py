"""SAML service providers (department systems that speak SAML 2.0) and the IdP's signing keys."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db
from ...identity.models import utcnow

# The attributes a service provider may be allowed to receive (besides its NameID). ``entity``: the
# enterprise the person acts for, if she does (entity_uscc, entity_name, entity_role, entity_roles,
# authorisation_id).
ENTITY = "entity"
RELEASABLE = ("name", "email", "phone", "id_number", ENTITY)
KEY_PENDING = "pending"    # published in the metadata ("next"), signing once the pre-publication period is over
KEY_ACTIVE = "active"      # signs responses and logout requests; published
KEY_PREVIOUS = "previous"  # signed until the last rotation; still published so SPs with old metadata verify
KEY_RETIRED = "retired"    # neither signs nor is published


class SamlServiceProvider(db.Model):
    __tablename__ = "saml_service_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(1024), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    metadata_xml: Mapped[str] = mapped_column(Text)
    metadata_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    attributes: Mapped[list] = mapped_column(JSON, default=list)
    require_signed_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    single_logout: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # assertions encrypted with the encryption certificate of the SP's metadata
    encrypt_assertions: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # may be sent an unsolicited Response (IdP-initiated login, /saml/idp-initiated)
    idp_initiated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @property
    def session_key(self) -> str:
        """How the service provider is recorded among the clients of an SSO session."""
        return f"saml:{self.id}"

    def to_public_dict(self) -> dict:
        return {"id": self.id, "entity_id": self.entity_id, "name": self.name, "metadata_url": self.metadata_url,
                "attributes": list(self.attributes or []), "require_signed_requests": self.require_signed_requests,
                "single_logout": self.single_logout, "encrypt_assertions": self.encrypt_assertions,
                "idp_initiated": self.idp_initiated, "disabled": self.disabled}


class SamlSigningKey(db.Model):
    __tablename__ = "saml_signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=KEY_ACTIVE)
    private_key: Mapped[str] = mapped_column(Text)  # PKCS#8 PEM sealed with the master key
    certificate: Mapped[str] = mapped_column(Text)  # self-signed X.509 certificate, PEM
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
