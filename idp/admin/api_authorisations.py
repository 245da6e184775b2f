"""Admin API: enterprise authorisations (listed, revoked). Revoking ends the sessions acting under one
(back-channel logout to their portals) and revokes the tokens of that enterprise context."""
from __future__ import annotations

from flask import current_app, g, jsonify, request

from ..errors import NotFound
from ..identity import authorisations
from .api import bp
from .api_support import error_response

STATES = ("pending", "accepted", "revoked", "expired")


@bp.get("/authorisations")
def list_authorisations():
    status = request.args.get("status")
    if status is not None and status not in STATES:
        return error_response(400, "invalid_request", "status must be one of " + ", ".join(STATES))
    return jsonify(authorisations=[authorisations.view(a) for a in authorisations.list_all(status)])


@bp.post("/authorisations/<authorisation_id>/revoke")
def revoke_authorisation(authorisation_id):
    try:
        revoked = authorisations.revoke(current_app.extensions["idp"], public_id=authorisation_id, actor=g.admin_actor)
    except NotFound:
        return error_response(404, "not_found", "no unrevoked authorisation with this id")
    return jsonify(authorisations.view(revoked))
