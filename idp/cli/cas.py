"""``idp cas ...``: register and list the CAS services (department sites that speak CAS)."""
from __future__ import annotations

import click

from .context import emit, get_app, json_option


@click.group("cas", help="CAS services: department sites that speak CAS 2.0/3.0.")
def cas() -> None:
    pass


@cas.command("add-service", help="Register a CAS service URL (exact, or a prefix with --pattern).")
@click.option("--name", required=True, help="Shown on the login page and the account page.")
@click.option("--service-url", required=True, help="The site's service URL (https, or http on loopback).")
@click.option("--pattern", is_flag=True, help="Accept every service URL under this URL (a path prefix ending in /).")
@click.option("--slo-url", help="Where to POST single logout requests (default: the service URL of the ticket).")
@click.option("--no-slo", is_flag=True, help="Do not send single logout requests to this site.")
@click.option("--release-id-number", is_flag=True, help="Release the ID number attribute (p3/serviceValidate).")
@json_option
def add_service(name, service_url, pattern, slo_url, no_slo, release_id_number, as_json):
    from ..protocols.cas.models import MATCH_EXACT, MATCH_PREFIX
    from ..protocols.cas.services import register_service
    if no_slo and slo_url:
        raise click.UsageError("--slo-url and --no-slo exclude each other")
    with get_app().app_context():
        service = register_service(name=name, service_url=service_url,
                                   match=MATCH_PREFIX if pattern else MATCH_EXACT, single_logout=not no_slo,
                                   slo_url=slo_url, release_id_number=release_id_number)
        data = service.to_public_dict()
        emit(as_json, data, f"CAS service {data['id']}: {data['name']} ({data['match']} {data['service_url']})")


@cas.command("list", help="List CAS services.")
@json_option
def list_(as_json):
    from ..protocols.cas.services import list_services
    with get_app().app_context():
        rows = [s.to_public_dict() for s in list_services()]
        text = "\n".join("\t".join([str(r["id"]), r["name"], r["match"], r["service_url"]]
                                    + ([] if r["single_logout"] else ["(no single logout)"])
                                    + (["(disabled)"] if r["disabled"] else [])) for r in rows)
        emit(as_json, rows, text or "no CAS services")


@cas.command("disable", help="Stop accepting a CAS service.")
@click.argument("service_id", type=int)
@json_option
def disable(service_id, as_json):
    from ..protocols.cas.services import disable_service
    with get_app().app_context():
        service = disable_service(service_id)
        emit(as_json, service.to_public_dict(), f"disabled CAS service {service.id} ({service.name})")
