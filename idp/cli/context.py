"""What every `idp` command shares: the settings and application it works on, and its output.

Every command reads its settings as the server does (`Settings.from_env`: the environment, then the
file named by IDP_ENV_FILE, then the defaults). Only `idp db upgrade` (and `idp demo`) may create a
SQLite database file; any other command stops with a message naming the missing database.
"""
from __future__ import annotations

import json
import os

import click

from ..config import ENV_FILE_VARIABLE, Settings, layered_environ
from ..errors import ConfigError, IdpError

_app = None  # the application of this command line (one per process)
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
        from .. import create_app
        settings = load_settings()
        if not (create_database or settings.create_schema):
            require_database(settings)
        _app = create_app(settings)
    return _app


def current_app_or_none():
    """The application a command has built, if any (for naming its database in an error)."""
    return _app


def emit(as_json: bool, data, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if as_json else text)


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
