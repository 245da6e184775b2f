"""Console pages for CAS services under /admin/cas/ (on the console blueprint)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..protocols.cas.services import list_services, service_by_id
from . import cas
from .cas import CasServiceError
from .console import bp
from .registry_admin import parse_id
from .forms import CasServiceForm


def _service(service_id: str):
    number = parse_id(service_id)
    service = service_by_id(number) if number is not None else None
    if service is None:
        abort(404, _("There is no CAS service with this id."))
    return service


def _form_page(form, service, error=None, status=200):
    return render_template("admin/cas_service_form.html", form=form, service=service, error=error), status


@bp.get("/cas/")
def cas_services():
    return render_template("admin/cas_services.html", services=list_services())


@bp.route("/cas/new", methods=["GET", "POST"])
def new_cas_service():
    form = CasServiceForm()
    if form.validate_on_submit():
        try:
            service = cas.registry.create(form.to_settings(), g.admin_actor)
        except CasServiceError as exc:
            return _form_page(form, None, exc.description, 400)
        flash(_("CAS service %(name)s registered.", name=service.name))
        return redirect(url_for(".cas_service", service_id=service.id))
    return _form_page(form, None, status=400 if form.is_submitted() else 200)


@bp.get("/cas/<service_id>")
def cas_service(service_id):
    return render_template("admin/cas_service.html", service=_service(service_id))


@bp.route("/cas/<service_id>/edit", methods=["GET", "POST"])
def edit_cas_service(service_id):
    service = _service(service_id)
    form = CasServiceForm()
    if form.validate_on_submit():
        try:
            cas.registry.update(service, form.to_settings(), g.admin_actor)
        except CasServiceError as exc:
            return _form_page(form, service, exc.description, 400)
        flash(_("Settings saved."))
        return redirect(url_for(".cas_service", service_id=service.id))
    if form.is_submitted():
        return _form_page(form, service, status=400)
    form.fill_from(service)
    return _form_page(form, service)


@bp.post("/cas/<service_id>/disable")
def disable_cas_service(service_id):
    service = _service(service_id)
    cas.registry.set_disabled(service, True, g.admin_actor)
    flash(_("CAS service disabled: its tickets are no longer issued or validated."))
    return redirect(url_for(".cas_service", service_id=service.id))


@bp.post("/cas/<service_id>/enable")
def enable_cas_service(service_id):
    service = _service(service_id)
    cas.registry.set_disabled(service, False, g.admin_actor)
    flash(_("CAS service enabled."))
    return redirect(url_for(".cas_service", service_id=service.id))


@bp.post("/cas/<service_id>/delete")
def delete_cas_service(service_id):
    service = _service(service_id)
    name = service.name
    cas.registry.delete(service, g.admin_actor)
    flash(_("CAS service %(name)s deleted.", name=name))
    return redirect(url_for(".cas_services"))
