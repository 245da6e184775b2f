"""Admin operations on CAS services, shared by the console and the API; each is audited
(``registry_admin``).

Validation lives in ``protocols.cas.services``; this module checks the shape of API input (types,
known fields) and names the service layer's calls; its ``ValidationError`` becomes ``CasServiceError``.
"""
from __future__ import annotations

from ..protocols.cas import services
from ..protocols.cas.models import CasService
from .api_support import InvalidInput, check_shape
from .registry_admin import RegistryAdmin

_TYPES = {"name": (str,), "service_url": (str,), "match": (str,), "single_logout": (bool,),
          "slo_url": (str, type(None)), "release_id_number": (bool,), "disabled": (bool,)}


class CasServiceError(InvalidInput):
    """Bad input for a CAS service."""


class CasServices(RegistryAdmin):
    kind, noun, what, address, error = "cas_service", "service", "CAS service", "service_url", CasServiceError

    def parse(self, body, *, partial: bool) -> dict:
        """Known fields of the right types; name and service_url when creating."""
        body = check_shape(body, _TYPES, CasServiceError)
        if not partial:
            missing = [name for name in ("name", "service_url") if name not in body]
            if missing:
                raise CasServiceError(f"missing field(s): {', '.join(missing)}")
        return dict(body)

    def find(self, service_id: int) -> CasService | None:
        return services.service_by_id(service_id)

    def all(self) -> list[CasService]:
        return services.list_services()

    def _register(self, settings: dict) -> CasService:
        return services.register_service(**settings)

    def _change(self, service: CasService, changes: dict) -> None:
        services.update_service(service, **changes)

    def _set_disabled(self, service: CasService, disabled: bool) -> None:
        services.set_service_disabled(service.id, disabled)

    def _remove(self, service_id: int) -> None:
        services.delete_service(service_id)

    def _created_data(self, service: CasService) -> dict:
        return {"match": service.match, "release_id_number": service.release_id_number}


registry = CasServices()
