"""Alembic, driven from the application: `idp db upgrade` and start-up schema creation."""
from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from .errors import ConfigError


def migrations_dir() -> Path:
    candidates = [os.environ.get("IDP_MIGRATIONS_DIR"), Path(__file__).resolve().parent.parent / "migrations",
                  Path.cwd() / "migrations"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "env.py").is_file():
            return Path(candidate)
    raise ConfigError("migrations directory not found; set IDP_MIGRATIONS_DIR")


def alembic_config(app) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["flask_app"] = app
    return config


def upgrade(app, revision: str = "head") -> None:
    from . import models  # noqa: F401  (register every table)
    with app.app_context():
        command.upgrade(alembic_config(app), revision)


def current(app) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from .extensions import db
    with app.app_context(), db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
