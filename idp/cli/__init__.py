"""The `idp` operator command. Every command accepts --json; bad input gives a one-line error.

Each command group lives in its own module here and calls the services of the core and of the
protocols; this module only assembles the groups and turns errors into one-line messages. What the
commands share (settings, the application, output) is in `context`.
"""
from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from ..config import masked
from ..errors import ConfigError, IdpError
from ..pki.commands import certs
from . import context
from .audit import audit
from .cas import cas
from .clients import clients
from .config import config_doc
from .context import emit, get_app, json_option
from .db import db
from .demo import demo
from .entities import entities
from .keys import keys
from .saml import saml
from .server import run
from .users import users

__all__ = ["cli", "main", "emit", "get_app", "json_option"]


@click.group(help="Unified identity authentication server: operator commands.")
def cli():
    pass


for _command in (db, users, entities, clients, keys, audit, run, config_doc, demo, cas, saml, certs):
    cli.add_command(_command)


def main(argv=None) -> int:
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
        app = context.current_app_or_none()
        if app is not None:
            where = f" of {masked('IDP_DATABASE_URL', app.extensions['idp'].settings.database_url)}"
        click.echo(f"error: database: {reason} (is the schema{where} current? run 'idp db upgrade')", err=True)
        return 1
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
