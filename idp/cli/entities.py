"""``idp entities ...``: legal entities and their representatives."""
from __future__ import annotations

import click

from .context import emit, get_app, json_option


@click.group("entities", help="Legal entities and their representatives.")
def entities():
    pass


@entities.command("add", help="Add a legal entity keyed by unified social credit code.")
@click.option("--uscc", required=True)
@click.option("--name", required=True)
@json_option
def entities_add(uscc, name, as_json):
    from ..identity.service import create_entity
    with get_app().app_context():
        entity = create_entity(uscc=uscc, name=name)
        emit(as_json, {"uscc": entity.uscc, "name": entity.name}, f"added {entity.name} ({entity.uscc})")


@entities.command("link", help="Make a person legal representative or agent of an entity.")
@click.option("--uscc", required=True)
@click.option("--id-number", required=True)
@click.option("--role", required=True, type=click.Choice(["legal_representative", "agent"]))
@json_option
def entities_link(uscc, id_number, role, as_json):
    from ..identity.service import link_representative
    with get_app().app_context():
        link = link_representative(uscc=uscc, id_number=id_number, role=role)
        emit(as_json, {"uscc": link.entity.uscc, "person": link.person.public_id, "role": role},
             f"{link.person.name} is now {role} of {link.entity.name}")
