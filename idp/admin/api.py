"""REST admin API under /api/admin/: clients, signing keys, CAS services, SAML service providers,
enterprise authorisations and CA trust status, as JSON, for admin-scoped bearer tokens. The registries'
routes are made by ``api_registry``; those of authorisations are in ``api_authorisations``."""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, url_for
from sqlalchemy import select

from ..clients.models import Client
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..keys.service import SUPPORTED_ALGS
from . import cas, metadata, saml, service
from .api_registry import add_registry_routes
from .api_support import InvalidInput, error_response, json_body
from .certificates import trust_status
from .authz import api_guard
from .metadata import MetadataError
from .openapi import openapi_document

bp = Blueprint("admin_api", __name__, url_prefix="/api/admin")
bp.before_request(api_guard)


@bp.errorhandler(InvalidInput)
def _invalid_input_response(exc: InvalidInput):
    """Bad settings for a CAS service or a SAML service provider."""
    return error_response(400, exc.error, exc.description)


@bp.errorhandler(MetadataError)
def _metadataerror_response(exc: MetadataError):
    return error_response(400, exc.error, exc.description)


@bp.after_request
def _no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _metadata_body():
    body = json_body()
    if body is None:
        raise MetadataError("invalid_client_metadata", "the request body must be JSON (application/json)")
    return body


def _client_or_404(client_id: str):
    if len(client_id) > 64:
        return None
    return db.session.scalar(select(Client).where(Client.client_id == client_id))


def _not_found(client_id: str):
    return error_response(404, "not_found", "no client with this client_id")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.get("/clients")
def list_clients():
    clients = db.session.scalars(select(Client).order_by(Client.id))
    return jsonify(clients=[service.client_view(c) for c in clients])


@bp.post("/clients")
def create_client():
    meta = metadata.parse(_metadata_body(), partial=False)
    registered = service.create_client(meta, g.admin_actor)
    body = service.client_view(registered.client)
    if registered.client_secret:
        body["client_secret"] = registered.client_secret
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for(".get_client", client_id=registered.client.client_id)
    return response


@bp.get("/clients/<client_id>")
def get_client(client_id):
    client = _client_or_404(client_id)
    if client is None:
        return _not_found(client_id)
    return jsonify(service.client_view(client))


@bp.patch("/clients/<client_id>")
def update_client(client_id):
    client = _client_or_404(client_id)
    if client is None:
        return _not_found(client_id)
    changes = metadata.parse(_metadata_body(), partial=True)
    secret = service.update_client(client, changes, g.admin_actor)
    body = service.client_view(client)
    if secret:
        body["client_secret"] = secret
    return jsonify(body)


@bp.delete("/clients/<client_id>")
def delete_client(client_id):
    client = _client_or_404(client_id)
    if client is None:
        return _not_found(client_id)
    service.delete_client(client, g.admin_actor)
    return Response(status=204)


@bp.post("/clients/<client_id>/reset-secret")
def reset_secret(client_id):
    client = _client_or_404(client_id)
    if client is None:
        return _not_found(client_id)
    secret = service.reset_secret(client, g.admin_actor)
    return jsonify(client_id=client.client_id, client_secret=secret)


@bp.get("/keys")
def list_keys():
    return jsonify(keys=[service.key_view(k) for k in service.list_keys()])


@bp.post("/keys/rotate")
def rotate_keys():
    body = json_body(required=False)
    if not isinstance(body, dict) or set(body) - {"alg"}:
        return error_response(400, "invalid_request", "the body is optional; when given it is {\"alg\": \"RS256\" or \"ES256\"}")
    alg = body.get("alg")
    if alg is not None and alg not in SUPPORTED_ALGS:
        return error_response(400, "invalid_request", f"alg must be one of {', '.join(SUPPORTED_ALGS)}")
    try:
        created = service.rotate_keys(alg, g.admin_actor)
    except ValidationError as exc:
        return error_response(400, "invalid_request", str(exc))
    response = jsonify(keys=[service.key_view(k) for k in created])
    response.status_code = 201
    return response


@bp.post("/keys/<kid>/retire")
def retire_key(kid):
    if len(kid) > 64:
        return error_response(404, "not_found", "no signing key with this kid")
    try:
        row = service.retire_key(kid, g.admin_actor)
    except NotFound:
        return error_response(404, "not_found", "no signing key with this kid")
    except ValidationError as exc:
        return error_response(400, "invalid_request", str(exc))
    return jsonify(service.key_view(row))


@bp.get("/certificates")
def certificates():
    return jsonify(trust_status())


add_registry_routes(bp, cas.registry, "cas-services")
add_registry_routes(bp, saml.registry, "saml-providers")

from . import api_authorisations  # noqa: E402,F401  (enterprise authorisations, on this blueprint)
