"""Admin operations on SAML service providers, shared by the console and the API; each is audited
(``registry_admin``).

The registry itself (metadata parsing, fetching, validation) is ``protocols.saml.providers``, which the
``idp saml`` command uses too; this module checks the shape of API input (types, known fields) and names
the registry's calls; its ``ValidationError`` becomes ``SamlProviderError``.
"""
from __future__ import annotations

from ..protocols.saml import providers
from ..protocols.saml.models import SamlServiceProvider
from .api_support import InvalidInput, check_shape
from .registry_admin import RegistryAdmin

_CHANGEABLE = {"name": (str,), "attributes": (list,), "require_signed_requests": (bool,),
               "single_logout": (bool,), "encrypt_assertions": (bool,), "idp_initiated": (bool,), "disabled": (bool,)}
_NEW = {**_CHANGEABLE, "name": (str, type(None)), "metadata_xml": (str,), "metadata_url": (str,)}


class SamlProviderError(InvalidInput):
    """Bad input for a SAML service provider."""


class SamlProviders(RegistryAdmin):
    kind, noun, what, address, error = ("saml_provider", "provider", "SAML service provider", "entity_id",
                                        SamlProviderError)

    def parse(self, body, *, partial: bool) -> dict:
        """Known fields of the right types; metadata_xml or metadata_url when creating."""
        body = check_shape(body, _CHANGEABLE if partial else _NEW, SamlProviderError)
        if not partial and ("metadata_xml" in body) == ("metadata_url" in body):
            raise SamlProviderError("give one of metadata_xml and metadata_url")
        return dict(body)

    def find(self, provider_id: int) -> SamlServiceProvider | None:
        return providers.provider_by_id(provider_id)

    def all(self) -> list[SamlServiceProvider]:
        return providers.list_providers()

    def _register(self, settings: dict) -> SamlServiceProvider:
        return providers.register_provider(**settings)

    def _change(self, provider: SamlServiceProvider, changes: dict) -> None:
        providers.update_provider(provider, **changes)

    def _set_disabled(self, provider: SamlServiceProvider, disabled: bool) -> None:
        providers.update_provider(provider, disabled=disabled)

    def _remove(self, provider_id: int) -> None:
        providers.delete_provider(provider_id)

    def _created_data(self, provider: SamlServiceProvider) -> dict:
        return {"attributes": list(provider.attributes), "metadata_url": provider.metadata_url}

    def _updated_data(self, provider: SamlServiceProvider) -> dict:
        return {"attributes": list(provider.attributes)}


registry = SamlProviders()
