"""Registering SAML service providers from their metadata (a file or a URL), and finding them."""
from __future__ import annotations

import requests
from sqlalchemy import select

from ...clients.metadata import validate_uri
from ...errors import NotFound, ValidationError
from ...extensions import db
from .models import RELEASABLE, SamlServiceProvider

MAX_METADATA_BYTES = 512 * 1024
FETCH_TIMEOUT = 10


def fetch_metadata(url: str) -> str:
    """The metadata document at ``url`` (https, or http on loopback), or ValidationError."""
    url = validate_uri(url, "metadata URL")
    try:
        response = requests.get(url, timeout=FETCH_TIMEOUT, stream=True, allow_redirects=False)
        body = response.raw.read(MAX_METADATA_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise ValidationError(f"cannot fetch metadata from {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise ValidationError(f"fetching metadata from {url} answered HTTP {response.status_code}")
    if len(body) > MAX_METADATA_BYTES:
        raise ValidationError(f"the metadata at {url} is larger than {MAX_METADATA_BYTES} bytes")
    return body.decode("utf-8", errors="replace")


def parse_metadata(xml: str) -> dict:
    """What the registry needs from an SP's metadata: entity id, a name, whether it signs its requests.
    The XML is parsed by pysaml2 (defusedxml underneath: no entities, no DTDs)."""
    from saml2 import md

    if not isinstance(xml, str) or not xml.strip():
        raise ValidationError("the metadata is empty")
    if len(xml.encode("utf-8")) > MAX_METADATA_BYTES:
        raise ValidationError(f"the metadata is larger than {MAX_METADATA_BYTES} bytes")
    try:
        descriptor = md.entity_descriptor_from_string(xml)
    except Exception as exc:  # noqa: BLE001 - any parse failure (syntax, entities, DTD) is bad input
        raise ValidationError(f"not SAML metadata: {type(exc).__name__}") from None
    if descriptor is None or not descriptor.entity_id:
        raise ValidationError("the metadata must be one md:EntityDescriptor with an entityID")
    if not descriptor.spsso_descriptor:
        raise ValidationError(f"{descriptor.entity_id} has no SPSSODescriptor: it is not a service provider")
    sp = descriptor.spsso_descriptor[0]
    acs = [a for a in sp.assertion_consumer_service or []
           if a.binding == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"]
    if not acs:
        raise ValidationError("the service provider has no AssertionConsumerService with the HTTP-POST binding")
    for endpoint in acs:
        validate_uri(endpoint.location, "assertion consumer service URL")
    name = None
    organization = descriptor.organization
    if organization is not None and organization.organization_display_name:
        name = organization.organization_display_name[0].text
    # a key without a use, or for encryption, can encrypt assertions to this SP
    can_encrypt = any(k.use in (None, "", "encryption") and k.key_info is not None for k in sp.key_descriptor or [])
    return {"entity_id": descriptor.entity_id, "name": name,
            "signs_requests": str(sp.authn_requests_signed).lower() == "true", "can_encrypt": can_encrypt}


def _checked_encryption(encrypt: bool, parsed: dict) -> bool:
    if encrypt and not parsed["can_encrypt"]:
        raise ValidationError(f"{parsed['entity_id']} publishes no encryption key in its metadata: its "
                              "assertions cannot be encrypted")
    return bool(encrypt)


def _checked_attributes(attributes) -> list[str]:
    attributes = list(dict.fromkeys(attributes or []))
    unknown = [a for a in attributes if a not in RELEASABLE]
    if unknown:
        raise ValidationError(f"unknown attribute(s) {', '.join(unknown)}; choose from {', '.join(RELEASABLE)}")
    return attributes


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 128 or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValidationError("the service provider's name must be 1 to 128 characters, without control characters")
    return name


def register_provider(*, metadata_xml: str | None = None, name: str | None = None, metadata_url: str | None = None,
                      attributes=("name",), require_signed_requests: bool = False,
                      single_logout: bool = True, disabled: bool = False, encrypt_assertions: bool = False,
                      idp_initiated: bool = False) -> SamlServiceProvider:
    """Register an SP from its metadata: the document given, or else the one fetched from ``metadata_url``."""
    if metadata_xml is None:
        if not metadata_url:
            raise ValidationError("give the service provider's metadata, or the URL it is published at")
        metadata_xml = fetch_metadata(metadata_url)
    parsed = parse_metadata(metadata_xml)
    if provider_by_entity_id(parsed["entity_id"], include_disabled=True) is not None:
        raise ValidationError(f"service provider {parsed['entity_id']} is already registered")
    provider = SamlServiceProvider(
        entity_id=parsed["entity_id"], name=_checked_name(name or parsed["name"] or parsed["entity_id"][:128]),
        metadata_xml=metadata_xml, metadata_url=metadata_url, attributes=_checked_attributes(attributes),
        require_signed_requests=bool(require_signed_requests or parsed["signs_requests"]),
        single_logout=bool(single_logout), disabled=bool(disabled),
        encrypt_assertions=_checked_encryption(encrypt_assertions, parsed), idp_initiated=bool(idp_initiated))
    db.session.add(provider)
    db.session.commit()
    return provider


def update_metadata(provider: SamlServiceProvider, metadata_xml: str) -> SamlServiceProvider:
    parsed = parse_metadata(metadata_xml)
    if parsed["entity_id"] != provider.entity_id:
        raise ValidationError(f"the metadata is for {parsed['entity_id']}, not {provider.entity_id}")
    _checked_encryption(provider.encrypt_assertions, parsed)
    provider.metadata_xml = metadata_xml
    provider.require_signed_requests = provider.require_signed_requests or parsed["signs_requests"]
    db.session.commit()
    return provider


def update_provider(provider: SamlServiceProvider, *, name: str | None = None, attributes=None,
                    require_signed_requests: bool | None = None, single_logout: bool | None = None,
                    disabled: bool | None = None, encrypt_assertions: bool | None = None,
                    idp_initiated: bool | None = None) -> SamlServiceProvider:
    """Change the settings given (None: unchanged); nothing changes when one is refused. Signed requests
    stay required when the metadata says the SP signs them."""
    changes = {"single_logout": single_logout, "disabled": disabled, "idp_initiated": idp_initiated}
    if encrypt_assertions is not None:
        changes["encrypt_assertions"] = _checked_encryption(encrypt_assertions, parse_metadata(provider.metadata_xml))
    if name is not None:
        changes["name"] = _checked_name(name)
    if attributes is not None:
        changes["attributes"] = _checked_attributes(attributes)
    if require_signed_requests is not None:
        changes["require_signed_requests"] = bool(require_signed_requests) or \
            parse_metadata(provider.metadata_xml)["signs_requests"]
    for field, value in changes.items():
        if value is not None:
            setattr(provider, field, value if field in ("name", "attributes") else bool(value))
    db.session.commit()
    return provider


def delete_provider(provider_id: int) -> None:
    db.session.delete(by_id(provider_id))
    db.session.commit()


def provider_by_id(provider_id: int) -> SamlServiceProvider | None:
    """The SP with this id, disabled or not."""
    return db.session.get(SamlServiceProvider, provider_id)


def set_attributes(provider_id: int, attributes) -> SamlServiceProvider:
    return update_provider(by_id(provider_id), attributes=attributes)


def set_disabled(provider_id: int, disabled: bool) -> SamlServiceProvider:
    return update_provider(by_id(provider_id), disabled=disabled)


def by_id(provider_id: int) -> SamlServiceProvider:
    """The SP with this id, disabled or not; NotFound when there is none."""
    provider = db.session.get(SamlServiceProvider, provider_id)
    if provider is None:
        raise NotFound(f"no SAML service provider {provider_id}")
    return provider


def list_providers() -> list[SamlServiceProvider]:
    return list(db.session.scalars(select(SamlServiceProvider).order_by(SamlServiceProvider.id)))


def enabled_providers() -> list[SamlServiceProvider]:
    return list(db.session.scalars(select(SamlServiceProvider).where(SamlServiceProvider.disabled.is_(False))
                                   .order_by(SamlServiceProvider.id)))


def provider_by_entity_id(entity_id: str | None, include_disabled: bool = False) -> SamlServiceProvider | None:
    if not isinstance(entity_id, str) or not entity_id or len(entity_id) > 1024:
        return None
    provider = db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.entity_id == entity_id))
    if provider is None or (provider.disabled and not include_disabled):
        return None
    return provider


def get_provider(provider_id: int) -> SamlServiceProvider | None:
    provider = db.session.get(SamlServiceProvider, provider_id)
    return None if provider is None or provider.disabled else provider


def provider_by_key(key: str) -> SamlServiceProvider | None:
    """The service provider recorded in an SSO session as ``saml:<id>``; None for other keys."""
    if not isinstance(key, str) or not key.startswith("saml:") or not key[5:].isdigit():
        return None
    return get_provider(int(key[5:]))
