"""``idp clients ...``: relying parties (department portals) and registration tokens."""
from __future__ import annotations

import json

import click

from ..errors import IdpError
from .context import emit, get_app, json_option


@click.group("clients", help="Relying parties (department portals).")
def clients():
    pass


@clients.command("add", help="Register a client; prints its client_id and client_secret.")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--backchannel-logout-uri")
@click.option("--public", is_flag=True, help="Public client (no secret; PKCE required).")
@click.option("--scope", "scopes", multiple=True, help="Allowed scope (repeatable, or space-separated).")
@click.option("--grant-type", "grant_types", multiple=True)
@click.option("--auth-method", type=click.Choice(["client_secret_basic", "client_secret_post",
                                                  "private_key_jwt", "none"]))
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False), help="Public keys for private_key_jwt.")
@click.option("--id-token-alg", default="RS256", type=click.Choice(["RS256", "ES256"]))
@click.option("--sector-identifier", help="Host name; gives pairwise subjects.")
@click.option("--third-party", is_flag=True, help="Ask the person's consent before releasing claims.")
@click.option("--client-id", help="Choose the client_id instead of a random one.")
@json_option
def clients_add(name, redirect_uris, post_logout, backchannel_logout_uri, public, scopes, grant_types,
                auth_method, jwks_file, id_token_alg, sector_identifier, third_party, client_id, as_json):
    from ..clients.service import register_client
    jwks = None
    if jwks_file:
        try:
            jwks = json.load(open(jwks_file, encoding="utf-8"))
        except ValueError as exc:
            raise IdpError(f"--jwks-file is not valid JSON: {exc}") from None
    scope_list = [s for item in scopes for s in item.split()] or None
    with get_app().app_context():
        registered = register_client(
            name=name, redirect_uris=list(redirect_uris), post_logout_redirect_uris=list(post_logout),
            backchannel_logout_uri=backchannel_logout_uri, public=public, scopes=scope_list,
            grant_types=list(grant_types) or None, auth_method=auth_method, jwks=jwks, id_token_alg=id_token_alg,
            sector_identifier=sector_identifier, first_party=not third_party, client_id=client_id)
        data = {"client_id": registered.client.client_id, "client_secret": registered.client_secret}
        text = f"client_id:     {data['client_id']}"
        if registered.client_secret:
            text += f"\nclient_secret: {registered.client_secret}\n(the secret is shown only now)"
        emit(as_json, data, text)


@clients.command("list", help="List registered clients.")
@json_option
def clients_list(as_json):
    from ..clients.service import list_clients
    with get_app().app_context():
        rows = [c.to_public_dict() for c in list_clients()]
        text = "\n".join(f"{r['client_id']}\t{r['client_name']}\t{' '.join(r['redirect_uris'])}" for r in rows)
        emit(as_json, rows, text or "no clients")


@clients.command("initial-token", help="Issue an initial access token for Dynamic Client Registration "
                                         "(POST /register); shown once.")
@click.option("--expires-in", type=click.IntRange(60, 366 * 86400), help="Lifetime in seconds "
              "(default IDP_INITIAL_TOKEN_TTL).")
@click.option("--uses", type=click.IntRange(1, 10000), default=1, show_default=True,
              help="How many clients it may register.")
@click.option("--note", default="", help="What it is for (recorded in the audit log).")
@json_option
def clients_initial_token(expires_in, uses, note, as_json):
    from ..protocols.oidc.registration_tokens import issue_initial_token
    with get_app().app_context():
        issued = issue_initial_token(expires_in=expires_in, uses=uses, note=note, issued_by="cli")
        emit(as_json, issued, f"initial access token: {issued['token']}\n"
                              f"valid until {issued['expires_at']} for {uses} registration(s) "
                              "(shown only now)")
