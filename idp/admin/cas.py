"""Admin operations on CAS services, shared by the console and the API; each is audited.

Validation lives in ``protocols.cas.services``; this module checks the shape of API input (types,
known fields) and turns the service layer's ``ValidationError`` into ``CasServiceError``.
"""
from __future__ import annotations

from flask import current_app

from ..errors import ValidationError
from ..protocols.cas import services
from ..protocols.cas.models import CasService
from .api_support import InvalidInput, check_shape
from .service import iso_time

_TYPES = {"name": (str,), "service_url": (str,), "match": (str,), "single_logout": (bool,),
          "slo_url": (str, type(None)), "release_id_number": (bool,), "disabled": (bool,)}
MAX_ID = 2**31 - 1


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


def parse_id(raw: str) -> int | None:
    """A service id from a URL segment; None when it cannot name a service."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)


def view(service: CasService) -> dict:
    return {**service.to_public_dict(), "created_at": iso_time(service.created_at)}


def _audit(event: str, actor: str, service: CasService, **data) -> None:
    current_app.extensions["idp"].audit(event, actor=actor, service_id=service.id, name=service.name,
                                        service_url=service.service_url, **data)


def create(settings: dict, actor: str) -> CasService:
    try:
        service = services.register_service(**settings)
    except ValidationError as exc:
        raise CasServiceError(str(exc)) from None
    _audit("admin.cas_service.created", actor, service, match=service.match,
           release_id_number=service.release_id_number)
    return service


def update(service: CasService, changes: dict, actor: str) -> CasService:
    try:
        services.update_service(service, **changes)
    except ValidationError as exc:
        raise CasServiceError(str(exc)) from None
    _audit("admin.cas_service.updated", actor, service, fields=sorted(changes))
    return service


def set_disabled(service: CasService, disabled: bool, actor: str) -> CasService:
    services.set_service_disabled(service.id, disabled)
    _audit("admin.cas_service.disabled" if disabled else "admin.cas_service.enabled", actor, service)
    return service


def delete(service: CasService, actor: str) -> None:
    service_id, name, url = service.id, service.name, service.service_url
    services.delete_service(service_id)
    current_app.extensions["idp"].audit("admin.cas_service.deleted", actor=actor, service_id=service_id,
                                        name=name, service_url=url)
