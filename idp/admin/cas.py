"""Admin operations on CAS services, shared by the console and the API; each is audited
(``registry_admin``).

Validation lives in ``protocols.cas.services``; this module checks the shape of API input (types,
known fields) and names the service layer's calls; its ``ValidationError`` becomes ``CasServiceError``.
"""
from __future__ import annotations

from ..protocols.cas import services
from .api_support import InvalidInput, check_shape
from .registry_admin import RegistryAdmin

_TYPES = {"name": (str,), "service_url": (str,), "match": (str,), "single_logout": (bool,),
          "slo_url": (str, type(None)), "release_id_number": (bool,), "disabled": (bool,)}


class CasServiceError(InvalidInput):
    """Bad input for a CAS service."""


def parse(body, *, partial: bool) -> dict:
    """Settings from an API body: known fields of the right types; name and service_url when creating."""
    body = check_shape(body, _TYPES, CasServiceError)
    if not partial:
        missing = [name for name in ("name", "service_url") if name not in body]
        if missing:
            raise CasServiceError(f"missing field(s): {', '.join(missing)}")
    return dict(body)


registry = RegistryAdmin(
    kind="cas_service", noun="service", what="CAS service", address="service_url", error=CasServiceError,
    parse=parse, find=services.service_by_id, list_all=services.list_services,
    register=services.register_service, change=services.update_service,
    set_disabled_by_id=services.set_service_disabled, delete_by_id=services.delete_service,
    created_data=lambda service: {"match": service.match, "release_id_number": service.release_id_number})
