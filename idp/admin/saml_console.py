"""Console pages for SAML service providers under /admin/saml/ (on the console blueprint)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..protocols.saml.providers import list_providers, provider_by_id
from .console import bp
from .registry_admin import parse_id
from .forms import SAML_ATTRIBUTE_LABELS, SamlProviderForm
from . import saml
from .saml import SamlProviderError


def _provider(provider_id: str):
    number = parse_id(provider_id)
    provider = provider_by_id(number) if number is not None else None
    if provider is None:
        abort(404, _("There is no SAML service provider with this id."))
    return provider


def _form_page(form, provider, error=None, status=200):
    return render_template("admin/saml_provider_form.html", form=form, provider=provider, error=error), status


@bp.get("/saml/")
def saml_providers():
    return render_template("admin/saml_providers.html", providers=list_providers(), labels=dict(SAML_ATTRIBUTE_LABELS))


@bp.route("/saml/new", methods=["GET", "POST"])
def new_saml_provider():
    form = SamlProviderForm()
    if form.validate_on_submit():
        try:
            provider = saml.registry.create(form.to_settings(new=True), g.admin_actor)
        except SamlProviderError as exc:
            return _form_page(form, None, exc.description, 400)
        flash(_("SAML service provider %(name)s registered.", name=provider.name))
        return redirect(url_for(".saml_provider", provider_id=provider.id))
    return _form_page(form, None, status=400 if form.is_submitted() else 200)


@bp.get("/saml/<provider_id>")
def saml_provider(provider_id):
    return render_template("admin/saml_provider.html", provider=_provider(provider_id),
                           labels=dict(SAML_ATTRIBUTE_LABELS))


@bp.route("/saml/<provider_id>/edit", methods=["GET", "POST"])
def edit_saml_provider(provider_id):
    provider = _provider(provider_id)
    form = SamlProviderForm()
    if form.validate_on_submit():
        try:
            saml.registry.update(provider, form.to_settings(new=False), g.admin_actor)
        except SamlProviderError as exc:
            return _form_page(form, provider, exc.description, 400)
        flash(_("Settings saved."))
        return redirect(url_for(".saml_provider", provider_id=provider.id))
    if form.is_submitted():
        return _form_page(form, provider, status=400)
    form.fill_from(provider)
    return _form_page(form, provider)


@bp.post("/saml/<provider_id>/disable")
def disable_saml_provider(provider_id):
    provider = _provider(provider_id)
    saml.registry.set_disabled(provider, True, g.admin_actor)
    flash(_("SAML service provider disabled: its requests are refused."))
    return redirect(url_for(".saml_provider", provider_id=provider.id))


@bp.post("/saml/<provider_id>/enable")
def enable_saml_provider(provider_id):
    provider = _provider(provider_id)
    saml.registry.set_disabled(provider, False, g.admin_actor)
    flash(_("SAML service provider enabled."))
    return redirect(url_for(".saml_provider", provider_id=provider.id))


@bp.post("/saml/<provider_id>/delete")
def delete_saml_provider(provider_id):
    provider = _provider(provider_id)
    name = provider.name
    saml.registry.delete(provider, g.admin_actor)
    flash(_("SAML service provider %(name)s deleted.", name=name))
    return redirect(url_for(".saml_providers"))
