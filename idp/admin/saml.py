"""Admin operations on SAML service providers, shared by the console and the API; each is audited
(``registry_admin``).

The registry itself (metadata parsing, fetching, validation) is ``protocols.saml.providers``, which the
``idp saml`` command uses too; this module checks the shape of API input (types, known fields) and names
the registry's calls; its ``ValidationError`` becomes ``SamlProviderError``.
"""
from __future__ import annotations

from ..protocols.saml import providers
from .api_support import InvalidInput, check_shape
from .registry_admin import RegistryAdmin

_CHANGEABLE = {"name": (str,), "attributes": (list,), "require_signed_requests": (bool,),
               "single_logout": (bool,), "encrypt_assertions": (bool,), "idp_initiated": (bool,), "disabled": (bool,)}
_NEW = {**_CHANGEABLE, "name": (str, type(None)), "metadata_xml": (str,), "metadata_url": (str,)}


class SamlProviderError(InvalidInput):
    """Bad input for a SAML service provider."""


def parse(body, *, partial: bool) -> dict:
    """Settings from an API body: known fields of the right types; metadata_xml or metadata_url when creating."""
    body = check_shape(body, _CHANGEABLE if partial else _NEW, SamlProviderError)
    if not partial and ("metadata_xml" in body) == ("metadata_url" in body):
        raise SamlProviderError("give one of metadata_xml and metadata_url")
    return dict(body)


registry = RegistryAdmin(
    kind="saml_provider", noun="provider", what="SAML service provider", address="entity_id",
    error=SamlProviderError, parse=parse, find=providers.provider_by_id, list_all=providers.list_providers,
    register=providers.register_provider, change=providers.update_provider,
    set_disabled_by_id=providers.set_disabled, delete_by_id=providers.delete_provider,
    created_data=lambda provider: {"attributes": list(provider.attributes), "metadata_url": provider.metadata_url},
    updated_data=lambda provider: {"attributes": list(provider.attributes)})
