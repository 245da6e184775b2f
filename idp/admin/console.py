"""The admin console: server-rendered pages under /admin/ for clients and signing keys; CAS services, SAML
service providers, enterprise authorisations and the CA trust status are in ``cas_console``,
``saml_console``, ``authorisations_console`` and ``certificates_console`` (on this blueprint)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..clients.models import Client
from ..errors import NotFound, ValidationError
from ..extensions import db
from . import metadata, service
from .certificates import WARN_DAYS, expiring
from .authz import console_guard
from .forms import ClientForm, RotateKeysForm
from .metadata import MetadataError

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(console_guard)


def _client(client_id: str) -> Client:
    client = db.session.scalar(select(Client).where(Client.client_id == client_id)) if len(client_id) <= 64 else None
    if client is None:
        abort(404, _("There is no client with this client_id."))
    return client


def _show_secret(client: Client, secret: str, created: bool):
    response = make_response(render_template("admin/secret.html", client=client, secret=secret, created=created))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    clients = db.session.scalars(select(Client).order_by(Client.id)).all()
    return render_template("admin/clients.html", clients=clients, expiring=expiring(), warn_days=WARN_DAYS)


@bp.route("/clients/new", methods=["GET", "POST"])
def new_client():
    form = ClientForm()
    if form.validate_on_submit():
        try:
            meta = metadata.parse(form.to_metadata(), partial=False)
            registered = service.create_client(meta, g.admin_actor)
        except MetadataError as exc:
            return render_template("admin/client_form.html", form=form, error=exc.description, client=None), 400
        if registered.client_secret:
            return _show_secret(registered.client, registered.client_secret, created=True)
        flash(_("Client %(name)s registered.", name=registered.client.name))
        return redirect(url_for(".client", client_id=registered.client.client_id))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/client_form.html", form=form, client=None), status


@bp.get("/clients/<client_id>")
def client(client_id):
    return render_template("admin/client.html", client=_client(client_id))


@bp.route("/clients/<client_id>/edit", methods=["GET", "POST"])
def edit_client(client_id):
    client = _client(client_id)
    form = ClientForm()
    if form.validate_on_submit():
        try:
            changes = metadata.parse(form.to_metadata(), partial=False)
            secret = service.update_client(client, changes, g.admin_actor)
        except MetadataError as exc:
            db.session.rollback()
            return render_template("admin/client_form.html", form=form, error=exc.description, client=client), 400
        if secret:
            return _show_secret(client, secret, created=False)
        flash(_("Settings saved."))
        return redirect(url_for(".client", client_id=client.client_id))
    if form.is_submitted():
        return render_template("admin/client_form.html", form=form, client=client), 400
    form.fill_from(client)
    return render_template("admin/client_form.html", form=form, client=client)


@bp.post("/clients/<client_id>/disable")
def disable_client(client_id):
    client = _client(client_id)
    service.set_disabled(client, True, g.admin_actor)
    flash(_("Client disabled: it can no longer log anyone in."))
    return redirect(url_for(".client", client_id=client_id))


@bp.post("/clients/<client_id>/enable")
def enable_client(client_id):
    client = _client(client_id)
    service.set_disabled(client, False, g.admin_actor)
    flash(_("Client enabled."))
    return redirect(url_for(".client", client_id=client_id))


@bp.post("/clients/<client_id>/delete")
def delete_client(client_id):
    client = _client(client_id)
    name = client.name
    service.delete_client(client, g.admin_actor)
    flash(_("Client %(name)s deleted.", name=name))
    return redirect(url_for(".index"))


@bp.post("/clients/<client_id>/reset-secret")
def reset_secret(client_id):
    client = _client(client_id)
    try:
        secret = service.reset_secret(client, g.admin_actor)
    except MetadataError:
        flash(_("This client has no secret: it authenticates with a key or not at all."), "error")
        return redirect(url_for(".client", client_id=client_id))
    return _show_secret(client, secret, created=False)


@bp.get("/keys")
def keys():
    return render_template("admin/keys.html", keys=service.list_keys(), form=RotateKeysForm())


@bp.post("/keys/rotate")
def rotate_keys():
    form = RotateKeysForm()
    if not form.validate_on_submit():
        return render_template("admin/keys.html", keys=service.list_keys(), form=form), 400
    try:
        created = service.rotate_keys(form.alg.data or None, g.admin_actor)
    except ValidationError as exc:
        flash(_("The keys were not rotated: %(reason)s", reason=str(exc)), "error")
        return redirect(url_for(".keys"))
    flash(_("New signing keys: %(kids)s", kids=", ".join(k.kid for k in created)))
    return redirect(url_for(".keys"))


@bp.post("/keys/<kid>/retire")
def retire_key(kid):
    try:
        row = service.retire_key(kid, g.admin_actor) if len(kid) <= 64 else None
    except NotFound:
        row = None
    except ValidationError:
        flash(_("Key %(kid)s is the active signing key and cannot be retired: rotate first, then retire it.",
                kid=kid), "error")
        return redirect(url_for(".keys"))
    if row is None:
        abort(404, _("There is no signing key with this kid."))
    flash(_("Key %(kid)s retired: it is no longer published.", kid=row.kid))
    return redirect(url_for(".keys"))


from . import authorisations_console, cas_console, certificates_console, saml_console  # noqa: E402,F401,I001  (routes on this blueprint)
