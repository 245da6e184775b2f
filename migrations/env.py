"""Alembic environment: runs against the Flask app's engine and the idp model metadata."""
from alembic import context
from flask import current_app

from idp import models  # noqa: F401  (register every table)
from idp.extensions import db

config = context.config
app = config.attributes.get("flask_app") or current_app


def run_migrations_online() -> None:
    with app.app_context():
        connectable = db.engine
        with connectable.connect() as connection:
            context.configure(connection=connection, target_metadata=db.metadata,
                              render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=db.metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
