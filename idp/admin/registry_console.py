"""Console pages of a registry of sites (``registry_admin``), added to the console blueprint under
/admin/<path>/: the list, registering, a record's page, editing its settings, disabling, enabling and
deleting it.

Endpoints: ``<kind>s``, ``new_<kind>``, ``<kind>``, ``edit_<kind>``, ``disable_<kind>``, ``enable_<kind>``,
``delete_<kind>``. Templates: ``admin/<kind>s.html`` (the records as ``<noun>s``), ``admin/<kind>.html`` and
``admin/<kind>_form.html`` (the record as ``<noun>``; the form page also gets ``form`` and ``error``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm

from .registry_admin import RegistryAdmin


@dataclass(frozen=True)
class PageMessages:
    """A registry's own words on its pages, marked with ``lazy_gettext`` (translated when shown);
    ``registered`` and ``deleted`` take ``%(name)s``."""
    not_found: LazyString
    registered: LazyString
    disabled: LazyString
    enabled: LazyString
    deleted: LazyString


def add_registry_pages(bp: Blueprint, registry: RegistryAdmin, path: str, form_class: type[FlaskForm],
                       messages: PageMessages, page_context: Callable[[], dict] = dict) -> None:
    """``form_class`` has ``to_settings(new=…)`` and ``fill_from(record)``; ``page_context``: more for the
    list and record pages' templates."""
    kind, noun, id_key = registry.kind, registry.noun, registry.id_key

    def record_or_404(raw: str):
        record = registry.by_url_id(raw)
        if record is None:
            abort(404, str(messages.not_found))
        return record

    def form_page(form, record, error=None, status=200):
        return render_template(f"admin/{kind}_form.html", form=form, error=error, **{noun: record}), status

    def to_record(record):
        return redirect(url_for(f".{kind}", **{id_key: record.id}))

    def list_page():
        return render_template(f"admin/{kind}s.html", **{f"{noun}s": registry.list_all()}, **page_context())

    def new_page():
        form = form_class()
        if form.validate_on_submit():
            try:
                record = registry.create(form.to_settings(new=True), g.admin_actor)
            except registry.error as exc:
                return form_page(form, None, exc.description, 400)
            flash(messages.registered % {"name": record.name})
            return to_record(record)
        return form_page(form, None, status=400 if form.is_submitted() else 200)

    def record_page(**ids):
        return render_template(f"admin/{kind}.html", **{noun: record_or_404(ids[id_key])}, **page_context())

    def edit_page(**ids):
        record = record_or_404(ids[id_key])
        form = form_class()
        if form.validate_on_submit():
            try:
                registry.update(record, form.to_settings(new=False), g.admin_actor)
            except registry.error as exc:
                return form_page(form, record, exc.description, 400)
            flash(_("Settings saved."))
            return to_record(record)
        if form.is_submitted():
            return form_page(form, record, status=400)
        form.fill_from(record)
        return form_page(form, record)

    def switch(disabled: bool):
        def set_disabled(**ids):
            record = record_or_404(ids[id_key])
            registry.set_disabled(record, disabled, g.admin_actor)
            flash(str(messages.disabled if disabled else messages.enabled))
            return to_record(record)
        return set_disabled

    def delete(**ids):
        record = record_or_404(ids[id_key])
        name = record.name
        registry.delete(record, g.admin_actor)
        flash(messages.deleted % {"name": name})
        return redirect(url_for(f".{kind}s"))

    one = f"/{path}/<{id_key}>"
    bp.add_url_rule(f"/{path}/", f"{kind}s", list_page, methods=["GET"])
    bp.add_url_rule(f"/{path}/new", f"new_{kind}", new_page, methods=["GET", "POST"])
    bp.add_url_rule(one, kind, record_page, methods=["GET"])
    bp.add_url_rule(f"{one}/edit", f"edit_{kind}", edit_page, methods=["GET", "POST"])
    bp.add_url_rule(f"{one}/disable", f"disable_{kind}", switch(True), methods=["POST"])
    bp.add_url_rule(f"{one}/enable", f"enable_{kind}", switch(False), methods=["POST"])
    bp.add_url_rule(f"{one}/delete", f"delete_{kind}", delete, methods=["POST"])
