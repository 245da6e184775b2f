"""Admin API routes for SAML service providers: /api/admin/saml-providers[/<id>] (on the admin API blueprint)."""
from __future__ import annotations

from flask import Response, g, jsonify, url_for

from ..protocols.saml.providers import list_providers, provider_by_id
from . import saml
from .api import bp
from .api_support import error_response, json_body
from .saml import SamlProviderError


def _body(*, partial: bool) -> dict:
    body = json_body()
    if body is None:
        raise SamlProviderError("the request body must be JSON (application/json)")
    return saml.parse(body, partial=partial)


def _provider(raw_id: str):
    provider_id = saml.parse_id(raw_id)
    return provider_by_id(provider_id) if provider_id is not None else None


def _not_found():
    return error_response(404, "not_found", "no SAML service provider with this id")


@bp.get("/saml-providers")
def list_saml_providers():
    return jsonify(saml_providers=[saml.view(p) for p in list_providers()])


@bp.post("/saml-providers")
def create_saml_provider():
    provider = saml.create(_body(partial=False), g.admin_actor)
    response = jsonify(saml.view(provider))
    response.status_code = 201
    response.headers["Location"] = url_for(".get_saml_provider", provider_id=str(provider.id))
    return response


@bp.get("/saml-providers/<provider_id>")
def get_saml_provider(provider_id):
    provider = _provider(provider_id)
    return _not_found() if provider is None else jsonify(saml.view(provider))


@bp.patch("/saml-providers/<provider_id>")
def update_saml_provider(provider_id):
    provider = _provider(provider_id)
    if provider is None:
        return _not_found()
    saml.update(provider, _body(partial=True), g.admin_actor)
    return jsonify(saml.view(provider))


@bp.delete("/saml-providers/<provider_id>")
def delete_saml_provider(provider_id):
    provider = _provider(provider_id)
    if provider is None:
        return _not_found()
    saml.delete(provider, g.admin_actor)
    return Response(status=204)
