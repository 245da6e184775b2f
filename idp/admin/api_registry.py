"""Admin API routes of a registry of sites (``registry_admin``), added to the admin API blueprint:
/api/admin/<path> (list, register) and /api/admin/<path>/<id> (read, change, delete).

Endpoints: ``list_<kind>s``, ``create_<kind>``, ``get_<kind>``, ``update_<kind>``, ``delete_<kind>``; the
id's URL variable is the registry's ``id_key``.
"""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, url_for

from .api_support import error_response, json_body
from .registry_admin import RegistryAdmin


def add_registry_routes(bp: Blueprint, registry: RegistryAdmin, path: str) -> None:
    kind, id_key = registry.kind, registry.id_key

    def body(*, partial: bool) -> dict:
        value = json_body()
        if value is None:
            raise registry.error("the request body must be JSON (application/json)")
        return registry.parse(value, partial=partial)

    def not_found():
        return error_response(404, "not_found", f"no {registry.what} with this id")

    def list_records():
        return jsonify({f"{kind}s": [registry.view(r) for r in registry.list_all()]})

    def create_record():
        record = registry.create(body(partial=False), g.admin_actor)
        response = jsonify(registry.view(record))
        response.status_code = 201
        response.headers["Location"] = url_for(f".get_{kind}", **{id_key: str(record.id)})
        return response

    def get_record(**ids):
        record = registry.by_url_id(ids[id_key])
        return not_found() if record is None else jsonify(registry.view(record))

    def update_record(**ids):
        record = registry.by_url_id(ids[id_key])
        if record is None:
            return not_found()
        registry.update(record, body(partial=True), g.admin_actor)
        return jsonify(registry.view(record))

    def delete_record(**ids):
        record = registry.by_url_id(ids[id_key])
        if record is None:
            return not_found()
        registry.delete(record, g.admin_actor)
        return Response(status=204)

    bp.add_url_rule(f"/{path}", f"list_{kind}s", list_records, methods=["GET"])
    bp.add_url_rule(f"/{path}", f"create_{kind}", create_record, methods=["POST"])
    bp.add_url_rule(f"/{path}/<{id_key}>", f"get_{kind}", get_record, methods=["GET"])
    bp.add_url_rule(f"/{path}/<{id_key}>", f"update_{kind}", update_record, methods=["PATCH"])
    bp.add_url_rule(f"/{path}/<{id_key}>", f"delete_{kind}", delete_record, methods=["DELETE"])
