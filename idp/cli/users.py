"""``idp users ...``: natural persons and the administrator role."""
from __future__ import annotations

import click

from .context import emit, get_app, json_option


@click.group("users", help="Natural persons.")
def users():
    pass


@users.command("add", help="Add a person keyed by national ID number.")
@click.option("--id-number", required=True)
@click.option("--name", required=True)
@click.option("--password", required=True)
@click.option("--phone")
@click.option("--email")
@click.option("--admin", is_flag=True, help="Grant the administrator role.")
@json_option
def users_add(id_number, name, password, phone, email, admin, as_json):
    from ..identity.service import create_person
    with get_app().app_context():
        person = create_person(id_number=id_number, name=name, password=password, phone=phone, email=email,
                               is_admin=admin)
        emit(as_json, {"sub": person.public_id, "name": person.name},
             f"added {person.name} (sub {person.public_id})")


@users.command("set-admin", help="Grant an existing person the administrator role (or take it away with "
                                 "--revoke). ID: the person's ID number, phone or email.")
@click.argument("username", metavar="ID")
@click.option("--revoke", is_flag=True, help="Take the administrator role away.")
@json_option
def users_set_admin(username, revoke, as_json):
    from ..identity.service import set_admin
    app = get_app()
    with app.app_context():
        person, changed = set_admin(username, not revoke)
        if changed:
            app.extensions["idp"].audit("person.admin_revoked" if revoke else "person.admin_granted",
                                        person=person.public_id, by="cli")
        state = "is an administrator" if person.is_admin else "is not an administrator"
        emit(as_json, {"sub": person.public_id, "name": person.name, "is_admin": person.is_admin,
                       "changed": changed},
             f"{person.name} (sub {person.public_id}) {state}" + ("" if changed else " (unchanged)"))
