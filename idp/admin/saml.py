"""Admin operations on SAML service providers, shared by the console and the API; each is audited.

The registry itself (metadata parsing, fetching, validation) is ``protocols.saml.providers``, which the
``idp saml`` command uses too; this module checks the shape of API input (types, known fields) and turns
the registry's ``ValidationError`` into ``SamlProviderError``.
"""
from __future__ import annotations

from flask import current_app

from ..errors import ValidationError
from ..protocols.saml import providers
from ..protocols.saml.models import SamlServiceProvider
from .api_support import InvalidInput, check_shape
from .cas import parse_id  # the same rule for an integer id in a URL segment
from .service import iso_time

_CHANGEABLE = {"name": (str,), "attributes": (list,), "require_signed_requests": (bool,),
               "single_logout": (bool,), "encrypt_assertions": (bool,), "idp_initiated": (bool,), "disabled": (bool,)}
_NEW = {**_CHANGEABLE, "name": (str, type(None)), "metadata_xml": (str,), "metadata_url": (str,)}

__all__ = ["SamlProviderError", "parse", "parse_id", "view", "create", "update", "set_disabled", "delete"]


class SamlProviderError(InvalidInput):
    """Bad input for a SAML service provider."""


def parse(body, *, partial: bool) -> dict:
    """Settings from an API body: known fields of the right types; metadata_xml or metadata_url when creating."""
    body = check_shape(body, _CHANGEABLE if partial else _NEW, SamlProviderError)
    if not partial and ("metadata_xml" in body) == ("metadata_url" in body):
        raise SamlProviderError("give one of metadata_xml and metadata_url")
    return dict(body)


def view(provider: SamlServiceProvider) -> dict:
    return {**provider.to_public_dict(), "created_at": iso_time(provider.created_at)}


def _audit(event: str, actor: str, provider: SamlServiceProvider, **data) -> None:
    current_app.extensions["idp"].audit(event, actor=actor, provider_id=provider.id, name=provider.name,
                                        entity_id=provider.entity_id, **data)


def create(settings: dict, actor: str) -> SamlServiceProvider:
    try:
        provider = providers.register_provider(**settings)
    except ValidationError as exc:
        raise SamlProviderError(str(exc)) from None
    _audit("admin.saml_provider.created", actor, provider, attributes=list(provider.attributes),
           metadata_url=provider.metadata_url)
    return provider


def update(provider: SamlServiceProvider, changes: dict, actor: str) -> SamlServiceProvider:
    try:
        providers.update_provider(provider, **changes)
    except ValidationError as exc:
        raise SamlProviderError(str(exc)) from None
    _audit("admin.saml_provider.updated", actor, provider, fields=sorted(changes),
           attributes=list(provider.attributes))
    return provider


def set_disabled(provider: SamlServiceProvider, disabled: bool, actor: str) -> SamlServiceProvider:
    providers.update_provider(provider, disabled=disabled)
    _audit("admin.saml_provider.disabled" if disabled else "admin.saml_provider.enabled", actor, provider)
    return provider


def delete(provider: SamlServiceProvider, actor: str) -> None:
    provider_id, name, entity = provider.id, provider.name, provider.entity_id
    providers.delete_provider(provider_id)
    current_app.extensions["idp"].audit("admin.saml_provider.deleted", actor=actor, provider_id=provider_id,
                                        name=name, entity_id=entity)
