"""``idp saml ...``: register SAML service providers from their metadata, choose what each may
receive, and rotate the SAML signing key."""
from __future__ import annotations

import click

from .context import emit, get_app, json_option


@click.group("saml", help="SAML 2.0 service providers (department systems that speak SAML) and the signing key.")
def saml() -> None:
    pass


def _attributes(value: str | None) -> list[str]:
    return [a.strip() for a in (value or "").split(",") if a.strip()]


@saml.command("add-sp", help="Register a service provider from its metadata (a file or an https URL).")
@click.option("--metadata", "source", required=True, help="The SP's metadata: a file path or a URL.")
@click.option("--name", help="Shown on the login and account pages (default: the metadata's display name).")
@click.option("--attributes", default="name", show_default=True,
              help="Comma-separated attributes it may receive: name, email, phone, id_number, entity "
                   "(the enterprise the person acts for).")
@click.option("--require-signed-requests", is_flag=True,
              help="Refuse unsigned AuthnRequests (implied when the metadata sets AuthnRequestsSigned).")
@click.option("--no-slo", is_flag=True, help="Do not send single logout requests to this SP.")
@click.option("--encrypt-assertions", is_flag=True,
              help="Encrypt its assertions with the encryption key of its metadata.")
@click.option("--idp-initiated", is_flag=True, help="Allow logins started at idp (/saml/idp-initiated?sp=...).")
@json_option
def add_sp(source, name, attributes, require_signed_requests, no_slo, encrypt_assertions, idp_initiated, as_json):
    from ..errors import ValidationError
    from ..protocols.saml.providers import register_provider
    url = xml = None
    if source.startswith(("http://", "https://")):
        url = source
    else:
        try:
            with open(source, encoding="utf-8") as handle:
                xml = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"cannot read metadata file {source}: {exc}") from None
    with get_app().app_context():
        provider = register_provider(metadata_xml=xml, name=name, metadata_url=url,
                                     attributes=_attributes(attributes),
                                     require_signed_requests=require_signed_requests, single_logout=not no_slo,
                                     encrypt_assertions=encrypt_assertions, idp_initiated=idp_initiated)
        data = provider.to_public_dict()
        emit(as_json, data, f"SAML service provider {data['id']}: {data['name']} ({data['entity_id']})")


@saml.command("list", help="List SAML service providers.")
@json_option
def list_(as_json):
    from ..protocols.saml.providers import list_providers
    with get_app().app_context():
        rows = [p.to_public_dict() for p in list_providers()]
        text = "\n".join("\t".join([str(r["id"]), r["name"], r["entity_id"], ",".join(r["attributes"])]
                                    + (["(disabled)"] if r["disabled"] else [])) for r in rows)
        emit(as_json, rows, text or "no SAML service providers")


@saml.command("set-attributes", help="Choose the attributes a service provider may receive.")
@click.argument("provider_id", type=int)
@click.argument("attributes")
@json_option
def set_attributes(provider_id, attributes, as_json):
    from ..protocols.saml.providers import set_attributes as update
    with get_app().app_context():
        provider = update(provider_id, _attributes(attributes))
        emit(as_json, provider.to_public_dict(),
             f"{provider.name} may receive: {', '.join(provider.attributes) or 'only its NameID'}")


@saml.command("set", help="Turn a service provider's switches on or off.")
@click.argument("provider_id", type=int)
@click.option("--encrypt-assertions/--plain-assertions", default=None,
              help="Encrypt its assertions (its metadata must publish an encryption key), or not.")
@click.option("--idp-initiated/--no-idp-initiated", default=None, help="Allow logins started at idp, or not.")
@click.option("--slo/--no-slo", "single_logout", default=None, help="Send it single logout requests, or not.")
@json_option
def set_switches(provider_id, encrypt_assertions, idp_initiated, single_logout, as_json):
    from ..protocols.saml.providers import by_id, update_provider
    with get_app().app_context():
        provider = update_provider(by_id(provider_id), encrypt_assertions=encrypt_assertions,
                                   idp_initiated=idp_initiated, single_logout=single_logout)
        data = provider.to_public_dict()
        emit(as_json, data, ", ".join(f"{k}={data[k]}" for k in ("encrypt_assertions", "idp_initiated",
                                                                   "single_logout")))


@saml.command("disable", help="Stop accepting a service provider.")
@click.argument("provider_id", type=int)
@json_option
def disable(provider_id, as_json):
    from ..protocols.saml.providers import set_disabled
    with get_app().app_context():
        provider = set_disabled(provider_id, True)
        emit(as_json, provider.to_public_dict(), f"disabled SAML service provider {provider.id} ({provider.name})")


@saml.command("rotate-key", help="Create the next SAML signing key: published in the metadata now, signing after "
                                "IDP_KEY_PREPUBLISH_SECONDS; the current key then stays published until the next rotation.")
@click.option("--now", "immediate", is_flag=True,
              help="Sign with the new key at once (compromised key); service providers must refetch the metadata.")
@json_option
def rotate_key(immediate, as_json):
    from ..protocols.saml.signing_keys import activates_at, rotate
    with get_app().app_context():
        settings = get_app().extensions["idp"].settings
        row = rotate(settings, immediate=immediate)
        when = activates_at(settings, row)
        data = {"kid": row.kid, "status": row.status, "activates_at": when.isoformat() if when else None}
        emit(as_json, data,
             f"new SAML signing key {row.kid}, published in /saml/metadata now, signing from {data['activates_at']}"
             if when else f"new SAML signing key {row.kid}, signing now; service providers should fetch "
                          "/saml/metadata again")
