"""Admin console: enterprise authorisations of agents, listed and revoked (revoking ends the sessions
acting under one and revokes its tokens)."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..errors import NotFound
from ..identity import authorisations
from .console import bp


@bp.get("/authorisations")
def authorisations_page():
    return render_template("admin/authorisations.html", authorisations=authorisations.list_all())


@bp.post("/authorisations/<authorisation_id>/revoke")
def revoke_authorisation(authorisation_id):
    try:
        revoked = authorisations.revoke(current_app.extensions["idp"], public_id=authorisation_id, actor=g.admin_actor)
    except NotFound:
        flash(_("There is no unrevoked authorisation with this id."), "error")
        return redirect(url_for(".authorisations_page")), 303
    flash(_("The authorisation of %(agent)s for %(enterprise)s is revoked.", agent=revoked.agent.name,
            enterprise=revoked.entity.name))
    return redirect(url_for(".authorisations_page"))
