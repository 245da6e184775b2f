"""``idp db ...``: the database schema (Alembic migrations)."""
from __future__ import annotations

import click

from .context import emit, get_app, json_option


@click.group("db", help="Database schema.")
def db():
    pass


@db.command("upgrade", help="Apply all Alembic migrations.")
@json_option
def db_upgrade(as_json):
    from ..migrate import current, upgrade
    app = get_app(create_database=True)
    upgrade(app)
    revision = current(app)
    emit(as_json, {"revision": revision}, f"database at revision {revision}")


@db.command("revision", help="Create a migration from model changes (developers).")
@click.option("-m", "--message", required=True, help="Readable slug, e.g. 'add consents'.")
def db_revision(message):
    from alembic import command

    from ..migrate import alembic_config
    app = get_app()
    with app.app_context():
        command.revision(alembic_config(app), message=message, autogenerate=True)
