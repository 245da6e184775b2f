"""The `idp` operator command. Every command accepts --json; bad input gives a one-line error.

Every command reads its settings as the server does (`Settings.from_env`: the environment, then the
file named by IDP_ENV_FILE, then the defaults). Only `idp db upgrade` (and `idp demo`) may create a
SQLite database file; any other command stops with a message naming the missing database.
"""
from __future__ import annotations

import json
import os
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from .config import ENV_FILE_VARIABLE, Settings, explain, layered_environ, masked
from .errors import ConfigError, IdpError

_app = None
DEMO_ENV_FILE = os.path.join("var", "demo.env")


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        if os.environ.get(ENV_FILE_VARIABLE) or not os.path.isfile(DEMO_ENV_FILE):
            raise
        raise ConfigError(exc.problems + [f"the demo's settings are in {DEMO_ENV_FILE}: "
                                          f"export {ENV_FILE_VARIABLE}={DEMO_ENV_FILE}"]) from None


def sqlite_path(database_url: str) -> str | None:
    """The file of a sqlite:///path URL (None for other databases and in-memory SQLite)."""
    if not database_url.startswith("sqlite:///") or database_url in ("sqlite:///", "sqlite:///:memory:"):
        return None
    return os.path.abspath(database_url[len("sqlite:///"):].split("?", 1)[0])


def require_database(settings: Settings) -> None:
    """Stop before SQLite creates an empty database file for a command that only reads or adds rows."""
    path = sqlite_path(settings.database_url)
    if path is None or os.path.isfile(path):
        return
    _merged, sources = layered_environ(os.environ)
    source = sources.get("IDP_DATABASE_URL", "default")
    hint = ""
    if source == "default" and not os.environ.get(ENV_FILE_VARIABLE):
        hint = f"; for the demo's database set {ENV_FILE_VARIABLE}={DEMO_ENV_FILE}"
    raise IdpError(f"no database at {path} (IDP_DATABASE_URL={settings.database_url}, from {source}): "
                   f"create it with 'idp db upgrade'{hint}")


def get_app(create_database: bool = False):
    """The application for a command. `create_database`: the command may create the SQLite file."""
    global _app
    if _app is None:
        from . import create_app
        settings = load_settings()
        if not (create_database or settings.create_schema):
            require_database(settings)
        _app = create_app(settings)
    return _app


def emit(as_json: bool, data, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if as_json else text)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group(help="Unified identity authentication server: operator commands.")
def cli():
    pass


# --- db ---------------------------------------------------------------------------
@cli.group(help="Database schema.")
def db():
    pass


@db.command("upgrade", help="Apply all Alembic migrations.")
@json_option
def db_upgrade(as_json):
    from .migrate import current, upgrade
    app = get_app(create_database=True)
    upgrade(app)
    revision = current(app)
    emit(as_json, {"revision": revision}, f"database at revision {revision}")


@db.command("revision", help="Create a migration from model changes (developers).")
@click.option("-m", "--message", required=True, help="Readable slug, e.g. 'add consents'.")
def db_revision(message):
    from alembic import command
    from .migrate import alembic_config
    app = get_app()
    with app.app_context():
        command.revision(alembic_config(app), message=message, autogenerate=True)


# --- users ------------------------------------------------------------------------
@cli.group(help="Natural persons.")
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
    from .identity.service import create_person
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
    from .identity.service import set_admin
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


# --- entities ---------------------------------------------------------------------
@cli.group(help="Legal entities and their representatives.")
def entities():
    pass


@entities.command("add", help="Add a legal entity keyed by unified social credit code.")
@click.option("--uscc", required=True)
@click.option("--name", required=True)
@json_option
def entities_add(uscc, name, as_json):
    from .identity.service import create_entity
    with get_app().app_context():
        entity = create_entity(uscc=uscc, name=name)
        emit(as_json, {"uscc": entity.uscc, "name": entity.name}, f"added {entity.name} ({entity.uscc})")


@entities.command("link", help="Make a person legal representative or agent of an entity.")
@click.option("--uscc", required=True)
@click.option("--id-number", required=True)
@click.option("--role", required=True, type=click.Choice(["legal_representative", "agent"]))
@json_option
def entities_link(uscc, id_number, role, as_json):
    from .identity.service import link_representative
    with get_app().app_context():
        link = link_representative(uscc=uscc, id_number=id_number, role=role)
        emit(as_json, {"uscc": link.entity.uscc, "person": link.person.public_id, "role": role},
             f"{link.person.name} is now {role} of {link.entity.name}")


# --- clients ----------------------------------------------------------------------
@cli.group(help="Relying parties (department portals).")
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
    from .clients.service import register_client
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
    from .clients.service import list_clients
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
    from .protocols.oidc.registration_tokens import issue_initial_token
    with get_app().app_context():
        issued = issue_initial_token(expires_in=expires_in, uses=uses, note=note, issued_by="cli")
        emit(as_json, issued, f"initial access token: {issued['token']}\n"
                              f"valid until {issued['expires_at']} for {uses} registration(s) "
                              "(shown only now)")


# --- keys -------------------------------------------------------------------------
@cli.group(help="Signing keys.")
def keys():
    pass


def _keys():
    return get_app().extensions["idp"].keys


def _key_line(d: dict) -> str:
    return f"{d['kid']}\t{d['alg']}\t{d['status']}"  # the schedule (activates_at, retires_at) is in --json


@keys.command("list", help="List signing keys, their state and schedule (due transitions are applied).")
@json_option
def keys_list(as_json):
    with get_app().app_context():
        manager = _keys()
        manager.ensure_active_keys()
        rows = [manager.describe(k) for k in manager.list_keys()]
        emit(as_json, rows, "\n".join(_key_line(r) for r in rows))


@keys.command("rotate", help="Create the next key: published now, signing after IDP_KEY_PREPUBLISH_SECONDS; "
                             "the current key then stays published until its tokens have expired.")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), help="Only this algorithm (default: all).")
@click.option("--now", "immediate", is_flag=True,
              help="Sign with the new key at once (compromised key); relying parties must refetch JWKS.")
@json_option
def keys_rotate(alg, immediate, as_json):
    with get_app().app_context():
        manager = _keys()
        rows = [manager.describe(k) for k in manager.rotate(alg, immediate=immediate)]
        emit(as_json, rows, "\n".join(
            f"new pending key {r['kid']} ({r['alg']}), published now, signing from {r['activates_at']}"
            if r["status"] == "pending" else f"new active key {r['kid']} ({r['alg']})" for r in rows))


@keys.command("retire", help="Stop publishing a key that does not sign (previous or pending). Previous keys "
                             "are also retired automatically once every token they signed has expired.")
@click.argument("kid")
@json_option
def keys_retire(kid, as_json):
    with get_app().app_context():
        manager = _keys()
        row = manager.retire(kid)
        emit(as_json, manager.describe(row), f"retired {row.kid}")


@keys.command("rewrap", help="Re-encrypt every private signing key under a new master key.")
@click.option("--new-master-key-file", type=click.Path(exists=True, dir_okay=False),
              help="File holding the new base64url 32-byte master key.")
@click.option("--new-master-key", envvar="IDP_NEW_MASTER_KEY", show_envvar=True,
              help="The new master key itself (prefer the file or the environment variable).")
@json_option
def keys_rewrap(new_master_key_file, new_master_key, as_json):
    from .config import _parse_master_key
    if bool(new_master_key_file) == bool(new_master_key):
        raise click.UsageError("give exactly one of --new-master-key-file or IDP_NEW_MASTER_KEY")
    raw = open(new_master_key_file, encoding="ascii").read().strip() if new_master_key_file else new_master_key
    try:
        key = _parse_master_key(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the new master key is invalid: {exc}") from None
    with get_app().app_context():
        count = _keys().rewrap(key)
        emit(as_json, {"rewrapped": count},
             f"re-encrypted {count} signing key(s). Now restart every worker with the new IDP_MASTER_KEY "
             "(and the old one as IDP_MASTER_KEY_PREVIOUS until all have restarted).")


# --- audit ------------------------------------------------------------------------
@cli.group(help="Audit log.")
def audit():
    pass


@audit.command("verify", help="Check the hash chain; names every altered or missing record.")
@json_option
def audit_verify(as_json):
    from .audit.log import verify
    with get_app().app_context():
        ok, problems = verify()
        emit(as_json, {"ok": ok, "problems": problems}, "audit chain intact" if ok else "\n".join(problems))
        if not ok:
            sys.exit(1)


@audit.command("export", help="Write audit records as JSON lines (oldest first).")
@click.option("--since", required=True, help="ISO 8601 time or YYYY-MM-DD (UTC unless an offset is given).")
@click.option("--until", help="Exclusive upper bound, same format.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default stdout).")
def audit_export(since, until, output):
    from .audit.export import export_lines, parse_time
    start = parse_time(since, "--since")
    end = parse_time(until, "--until") if until else None
    with get_app().app_context():
        if output:
            with open(output, "w", encoding="utf-8") as out:
                count = export_lines(out, start, end)
            click.echo(f"wrote {count} record(s) to {output}", err=True)
        else:
            export_lines(sys.stdout, start, end)


# --- run / demo -------------------------------------------------------------------
@cli.command("run", help="Development server.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
def run(host, port):
    app = get_app()
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@cli.command("config", help="Show every setting in effect, where it came from (env, the IDP_ENV_FILE file, "
                            "default) and its default; secrets masked. Exit 2 when the server would refuse "
                            "the settings.")
@click.option("--doc", is_flag=True, help="Also print what each setting means.")
@json_option
def config_doc(doc, as_json):
    rows, problems = explain()
    if as_json:
        emit(True, rows, "")
    else:
        def show(value):
            return "(unset)" if value is None else ("''" if value == "" else value)
        env_file = os.environ.get(ENV_FILE_VARIABLE)
        click.echo(f"{ENV_FILE_VARIABLE}={env_file}" if env_file else
                   f"{ENV_FILE_VARIABLE} is not set: environment and defaults only")
        for row in rows:
            line = f"{row['env']:30} {show(row['value']):40} {row['source']}"
            if row["source"] != "default" and row["default"] is not None:
                line += f" (default {show(row['default'])})"
            click.echo(line)
            if doc:
                click.echo(f"{'':30} {row['doc']}")
    if problems:
        raise ConfigError(problems)


def _register_optional_groups():
    from .demo import demo
    from .protocols.cas.commands import cas
    cli.add_command(demo)
    cli.add_command(cas)
    try:
        from .pki.commands import certs
    except ImportError:
        return
    cli.add_command(certs)


def main(argv=None) -> int:
    _register_optional_groups()
    try:
        cli.main(args=argv, prog_name="idp", standalone_mode=False)
    except click.UsageError as exc:
        ctx = exc.ctx
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code or 1
    except click.Abort:
        click.echo("aborted", err=True)
        return 1
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except IdpError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        where = ""
        if _app is not None:
            where = f" of {masked('IDP_DATABASE_URL', _app.extensions['idp'].settings.database_url)}"
        click.echo(f"error: database: {reason} (is the schema{where} current? run 'idp db upgrade')", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
