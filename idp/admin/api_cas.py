"""Admin API routes for CAS services: /api/admin/cas-services[/<id>] (on the admin API blueprint)."""
from __future__ import annotations

from flask import Response, g, jsonify, url_for

from ..protocols.cas.services import list_services, service_by_id
from . import cas
from .api import bp
from .api_support import error_response, json_body
from .cas import CasServiceError


def _body(*, partial: bool) -> dict:
    body = json_body()
    if body is None:
        raise CasServiceError("the request body must be JSON (application/json)")
    return cas.parse(body, partial=partial)


def _service(raw_id: str):
    service_id = cas.parse_id(raw_id)
    return service_by_id(service_id) if service_id is not None else None


def _not_found():
    return error_response(404, "not_found", "no CAS service with this id")


@bp.get("/cas-services")
def list_cas_services():
    return jsonify(cas_services=[cas.view(s) for s in list_services()])


@bp.post("/cas-services")
def create_cas_service():
    service = cas.create(_body(partial=False), g.admin_actor)
    response = jsonify(cas.view(service))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_cas_service", service_id=str(service.id))
    return response


@bp.get("/cas-services/<service_id>")
def get_cas_service(service_id):
    service = _service(service_id)
    if service is None:
        return _not_found()
    return jsonify(cas.view(service))


@bp.patch("/cas-services/<service_id>")
def update_cas_service(service_id):
    service = _service(service_id)
    if service is None:
        return _not_found()
    cas.update(service, _body(partial=True), g.admin_actor)
    return jsonify(cas.view(service))


@bp.delete("/cas-services/<service_id>")
def delete_cas_service(service_id):
    service = _service(service_id)
    if service is None:
        return _not_found()
    cas.delete(service, g.admin_actor)
    return Response(status=204)
